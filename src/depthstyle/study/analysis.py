"""Statistics of a pairwise preference study: pure functions over plain judgements.

A judgement is one answer: which of two methods a participant chose for one question on one
(content, style) item. :func:`pairwise` gives win rates with Wilson intervals and an exact
two-sided binomial test; :func:`bradley_terry` fits one score per method (Hunter's MM
algorithm) and :func:`bootstrap_bradley_terry` gives intervals by resampling participants;
:func:`krippendorff_alpha` measures agreement between participants.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Judgement", "PairResult", "wilson", "binomial_test", "pairwise", "bradley_terry",
           "bootstrap_bradley_terry", "krippendorff_alpha", "power_table"]


@dataclass(frozen=True)
class Judgement:
    """One answer.

    Attributes:
        participant: the participant's token.
        item: what was judged (``content__style``).
        question: the question's text or key.
        a, b: the two methods shown (any order).
        winner: the method chosen (``a`` or ``b``).
        style: the style of the item (for breakdowns).
    """

    participant: str
    item: str
    question: str
    a: str
    b: str
    winner: str
    style: str = ""


@dataclass(frozen=True)
class PairResult:
    """Method ``a`` against method ``b``: ``wins`` of ``n`` for ``a``."""

    a: str
    b: str
    wins: int
    n: int
    low: float
    high: float
    p_value: float

    @property
    def rate(self) -> float:
        """``a``'s win rate (NaN without judgements)."""
        return self.wins / self.n if self.n else math.nan


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (95 % by default); (0, 1) for n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _pmf(n: int, p: float) -> list[float]:
    """P(K = k) for k = 0..n, K ~ Binomial(n, p)."""
    if p <= 0 or p >= 1:
        return [float(k == (n if p >= 1 else 0)) for k in range(n + 1)]
    return [math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                     + k * math.log(p) + (n - k) * math.log1p(-p)) for k in range(n + 1)]


def _two_sided(pmf: list[float], k: int) -> float:
    observed = pmf[k] * (1 + 1e-7)  # R's relative tolerance for ties
    return min(1.0, sum(q for q in pmf if q <= observed))


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test of ``k`` successes in ``n`` against rate ``p``.

    The probability, under ``p``, of an outcome no more likely than the one seen (the method
    of R's ``binom.test``).
    """
    if n == 0:
        return 1.0
    return _two_sided(_pmf(n, p), k)


def pairwise(judgements: Iterable[Judgement]) -> list[PairResult]:
    """Win rate of each method pair (sorted names: ``a`` < ``b``), interval and p-value."""
    wins: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for j in judgements:
        a, b = sorted((j.a, j.b))
        wins[a, b][0] += j.winner == a
        wins[a, b][1] += 1
    out = []
    for (a, b), (k, n) in sorted(wins.items()):
        low, high = wilson(k, n)
        out.append(PairResult(a, b, k, n, low, high, binomial_test(k, n)))
    return out


def bradley_terry(judgements: Sequence[Judgement], methods: Sequence[str] | None = None,
                  iterations: int = 500, tol: float = 1e-10) -> dict[str, float]:
    """Bradley–Terry log-strengths, centred on 0 (P(i beats j) = 1 / (1 + exp(s_j - s_i))).

    Fitted with Hunter's MM updates and a tiny prior (one half win against every other
    method), so a method that never loses still gets a finite score.
    """
    names = sorted(set(methods or []) | {m for j in judgements for m in (j.a, j.b)})
    idx = {m: i for i, m in enumerate(names)}
    n = len(names)
    if n < 2:
        return {m: 0.0 for m in names}
    wins = [0.5 * (n - 1)] * n
    games = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for k in range(n):
            if i != k:
                games[i][k] = 1.0  # the prior: one game between every pair, drawn
    for j in judgements:
        a, b = idx[j.a], idx[j.b]
        wins[idx[j.winner]] += 1
        games[a][b] += 1
        games[b][a] += 1
    p = [1.0] * n
    for _ in range(iterations):
        new = []
        for i in range(n):
            denom = sum(games[i][k] / (p[i] + p[k]) for k in range(n) if k != i)
            new.append(wins[i] / denom)
        g = math.exp(sum(math.log(x) for x in new) / n)
        new = [x / g for x in new]
        done = max(abs(x - y) for x, y in zip(new, p, strict=True)) < tol
        p = new
        if done:
            break
    return {m: math.log(p[idx[m]]) for m in names}


def bootstrap_bradley_terry(judgements: Sequence[Judgement], reps: int = 1000,
                            seed: int = 0, level: float = 0.95
                            ) -> dict[str, tuple[float, float, float]]:
    """Bradley–Terry scores with percentile intervals: ``{method: (score, lo, hi)}``.

    The bootstrap resamples *participants* with replacement, since one participant's answers
    are not independent of each other.
    """
    by_participant: dict[str, list[Judgement]] = defaultdict(list)
    for j in judgements:
        by_participant[j.participant].append(j)
    people = sorted(by_participant)
    methods = sorted({m for j in judgements for m in (j.a, j.b)})
    point = bradley_terry(judgements, methods)
    rng = random.Random(seed)
    draws: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(reps if people else 0):
        sample = [j for _ in people for j in by_participant[rng.choice(people)]]
        for m, s in bradley_terry(sample, methods).items():
            draws[m].append(s)
    out = {}
    for m in methods:
        d = sorted(draws[m])
        if not d:
            out[m] = (point[m], math.nan, math.nan)
            continue
        lo = d[int((1 - level) / 2 * (len(d) - 1))]
        hi = d[int((1 + level) / 2 * (len(d) - 1))]
        out[m] = (point[m], lo, hi)
    return out


def krippendorff_alpha(units: Iterable[Sequence[str]]) -> float:
    """Krippendorff's alpha for nominal answers: 1 = full agreement, 0 = chance.

    ``units``: for each judged unit (item, question, method pair), the answers of the
    participants who judged it; units with fewer than two answers carry no information.
    NaN when there is nothing to compare or no variation at all.
    """
    coincidence: dict[tuple[str, str], float] = defaultdict(float)
    for answers in units:
        m = len(answers)
        if m < 2:
            continue
        counts: dict[str, int] = defaultdict(int)
        for a in answers:
            counts[a] += 1
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nk - (c == k))
                if pairs:
                    coincidence[c, k] += pairs / (m - 1)
    n_c: dict[str, float] = defaultdict(float)
    for (c, _), v in coincidence.items():
        n_c[c] += v
    total = sum(n_c.values())
    if total <= 1:
        return math.nan
    observed = sum(v for (c, k), v in coincidence.items() if c != k) / total
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (total * (total - 1))
    return math.nan if expected == 0 else 1 - observed / expected


def power_table(rates: Sequence[float] = (0.55, 0.6, 0.65, 0.7, 0.75),
                power: float = 0.8, alpha: float = 0.05) -> list[tuple[float, int]]:
    """Judgements needed per method pair to detect a true win rate against 0.5.

    Exact: the smallest n whose two-sided binomial test at ``alpha`` rejects with probability
    >= ``power`` when the true rate is the one given. Judgements of one participant are
    treated as independent, so divide by the trials each participant sees of that pair.
    """
    out = []
    for rate in rates:
        n = 4
        while True:
            null = _pmf(n, 0.5)
            ranked = sorted(null)
            prefix = list(itertools.accumulate(ranked))
            # p-value of k: the null mass of outcomes no more likely than k (binomial_test's)
            reject = [k for k in range(n + 1)
                      if prefix[bisect.bisect_right(ranked, null[k] * (1 + 1e-7)) - 1] <= alpha]
            alt = _pmf(n, rate)
            if sum(alt[k] for k in reject) >= power or n > 5000:
                break
            n += 1
        out.append((rate, n))
    return out
