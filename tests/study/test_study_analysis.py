"""The study's statistics against known values, known preferences and coin flips."""

import math
import random

import pytest

from depthstyle.study.analysis import (
    Judgement,
    binomial_test,
    bootstrap_bradley_terry,
    bradley_terry,
    krippendorff_alpha,
    pairwise,
    power_table,
    wilson,
)


def test_wilson_and_binomial_match_published_values():
    lo, hi = wilson(8, 10)  # R: prop.test(8, 10, correct = FALSE)$conf.int
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
    assert binomial_test(8, 10) == pytest.approx(0.109375)  # R: binom.test(8, 10)$p.value
    assert binomial_test(0, 10) == pytest.approx(2 / 1024)
    assert binomial_test(5, 10) == pytest.approx(1.0)
    assert binomial_test(3, 12, p=0.25) == pytest.approx(1.0)  # the mode of B(12, 0.25)
    assert binomial_test(60, 100) == pytest.approx(0.05689, abs=1e-4)


def _simulate(strengths: dict[str, float], participants: int, items: int, seed: int):
    rng = random.Random(seed)
    names = sorted(strengths)
    out = []
    for p in range(participants):
        for i in range(items):
            for x in range(len(names)):
                for y in range(x + 1, len(names)):
                    a, b = names[x], names[y]
                    pa = 1 / (1 + math.exp(strengths[b] - strengths[a]))
                    out.append(Judgement(f"p{p}", f"item{i}", "q", a, b,
                                         a if rng.random() < pa else b, f"style{i % 2}"))
    return out


def test_a_known_preference_is_recovered():
    truth = {"adain": 0.0, "depth": 0.8, "learned": 1.6}
    js = _simulate(truth, participants=30, items=6, seed=1)
    scores = bradley_terry(js)
    centred = {m: t - sum(truth.values()) / 3 for m, t in truth.items()}
    for m in truth:
        assert scores[m] == pytest.approx(centred[m], abs=0.25)
    results = {(r.a, r.b): r for r in pairwise(js)}
    assert results["adain", "learned"].rate < 0.25 and results["adain", "learned"].p_value < 1e-6
    assert results["adain", "depth"].high < 0.5  # the whole interval prefers depth
    boot = bootstrap_bradley_terry(js, reps=200, seed=0)
    assert boot["learned"][1] > boot["depth"][2] or boot["depth"][1] > boot["adain"][2]
    for s, lo, hi in boot.values():
        assert lo <= s <= hi


def test_a_coin_flip_shows_no_significant_difference():
    js = _simulate({"a": 0.0, "b": 0.0}, participants=20, items=5, seed=3)
    (r,) = pairwise(js)
    assert r.p_value > 0.05 and r.low < 0.5 < r.high
    # and the test keeps its level: about 5 % of coin-flip studies come out significant
    hits = sum(pairwise(_simulate({"a": 0.0, "b": 0.0}, 10, 10, seed))[0].p_value < 0.05
               for seed in range(300))
    assert hits / 300 < 0.08
    boot = bootstrap_bradley_terry(js, reps=200)
    assert boot["a"][1] <= 0 <= boot["a"][2]  # the interval holds "no difference"


def test_agreement_is_one_for_unanimous_and_near_zero_for_random_answers():
    assert krippendorff_alpha([["a", "a", "a"], ["b", "b"], ["a", "a"]]) == pytest.approx(1.0)
    rng = random.Random(0)
    units = [[rng.choice("ab") for _ in range(5)] for _ in range(400)]
    assert abs(krippendorff_alpha(units)) < 0.05
    assert math.isnan(krippendorff_alpha([["a"], ["b"]]))  # nobody judged a unit twice
    # systematic disagreement is worse than chance
    assert krippendorff_alpha([["a", "b"]] * 50) < 0


def test_bradley_terry_is_finite_for_a_method_that_never_loses():
    js = [Judgement("p", "i", "q", "a", "b", "a")] * 20
    s = bradley_terry(js)
    assert math.isfinite(s["a"]) and s["a"] > s["b"] and s["a"] + s["b"] == pytest.approx(0)


def test_power_table_is_exact_and_shrinks_with_the_effect():
    table = dict(power_table((0.6, 0.65, 0.7, 0.75)))
    assert 180 <= table[0.6] <= 215  # normal approximation: 194
    assert table[0.6] > table[0.65] > table[0.7] > table[0.75]
    n = table[0.7]
    reject = [k for k in range(n + 1) if binomial_test(k, n) <= 0.05]
    power = sum(math.comb(n, k) * 0.7 ** k * 0.3 ** (n - k) for k in reject)
    assert power >= 0.8
