"""``depthstyle study report``: answers -> attention checks, exclusions, statistics, files.

Writes ``results.csv`` (win rates per method pair, overall and per style, per question),
``bradley_terry.csv`` (scores with bootstrap intervals), ``participants.csv`` (checks and
exclusions) and ``report.html`` with all of it.
"""

from __future__ import annotations

import csv
import html
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from depthstyle.io import write_text
from depthstyle.study.analysis import (
    Judgement,
    PairResult,
    bootstrap_bradley_terry,
    krippendorff_alpha,
    pairwise,
)
from depthstyle.study.design import StudyDesign
from depthstyle.study.store import Answer

__all__ = ["ParticipantCheck", "StudyReport", "analyse", "write_report"]


@dataclass(frozen=True)
class ParticipantCheck:
    """One participant's attention checks."""

    token: str
    answers: int
    complete: bool
    broken_failed: int
    broken_total: int
    repeat_inconsistent: int
    repeat_total: int
    median_rt_ms: float
    excluded: bool
    reason: str


@dataclass
class StudyReport:
    """Everything the report shows."""

    design: StudyDesign
    participants: list[ParticipantCheck]
    judgements: list[Judgement]
    by_question: dict[str, list[PairResult]]
    by_style: dict[tuple[str, str], list[PairResult]]
    bt: dict[str, dict[str, tuple[float, float, float]]]
    agreement: dict[str, float]
    left_rate: float


def _checks(design: StudyDesign, answers: Sequence[Answer], max_broken: int,
            max_repeat_rate: float) -> list[ParticipantCheck]:
    by_token: dict[str, list[Answer]] = defaultdict(list)
    for a in answers:
        by_token[a.token].append(a)
    expected = (len(design.pairs()) + design.broken_checks
                + min(design.repeat_checks, len(design.pairs()))) * len(design.questions)
    out = []
    for token, mine in sorted(by_token.items()):
        first = {(a.trial, a.question): a.chosen for a in mine}
        broken = [a for a in mine if a.check_kind == "broken"]
        broken_failed = sum(a.chosen == "broken" for a in broken)
        repeats = [a for a in mine if a.check_kind.startswith("repeat:")]
        inconsistent = 0
        compared = 0
        for a in repeats:
            src = (int(a.check_kind.split(":")[1]), a.question)
            if src in first:
                compared += 1
                inconsistent += first[src] != a.chosen
        reasons = []
        if broken_failed > max_broken:
            reasons.append(f"chose the broken output {broken_failed}x")
        if compared and inconsistent / compared > max_repeat_rate:
            reasons.append(f"changed {inconsistent} of {compared} repeated answers")
        out.append(ParticipantCheck(
            token=token, answers=len(mine), complete=len(mine) >= expected,
            broken_failed=broken_failed, broken_total=len(broken),
            repeat_inconsistent=inconsistent, repeat_total=compared,
            median_rt_ms=statistics.median(a.rt_ms for a in mine),
            excluded=bool(reasons), reason="; ".join(reasons)))
    return out


def analyse(design: StudyDesign, answers: Sequence[Answer], *, max_broken: int = 0,
            max_repeat_rate: float = 1.0, bootstrap: int = 1000,
            include_incomplete: bool = True) -> StudyReport:
    """Checks, exclusions and every statistic of a study's answers.

    Participants are excluded when they chose the broken output more than ``max_broken``
    times or changed more than ``max_repeat_rate`` of their repeated answers (by default
    never: on a close pair an attentive participant may well change their mind, so the repeat
    check is reported, and excluding on it is a choice to make before the study); with
    ``include_incomplete`` false, also those who did not finish.
    """
    checks = _checks(design, answers, max_broken, max_repeat_rate)
    keep = {c.token for c in checks if not c.excluded and (include_incomplete or c.complete)}
    judgements = [Judgement(participant=a.token, item=a.item,
                            question=design.questions[a.question], a=a.left_method,
                            b=a.right_method, winner=a.chosen, style=a.style)
                  for a in answers if a.check_kind == "" and a.token in keep]
    by_question, by_style, bt, agreement = {}, {}, {}, {}
    for q in design.questions:
        mine = [j for j in judgements if j.question == q]
        by_question[q] = pairwise(mine)
        bt[q] = bootstrap_bradley_terry(mine, reps=bootstrap) if mine else {}
        for style in sorted({j.style for j in mine}):
            by_style[q, style] = pairwise([j for j in mine if j.style == style])
        units: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for j in mine:
            units[(j.item, *sorted((j.a, j.b)))].append(j.winner)
        agreement[q] = krippendorff_alpha(units.values())
    sides = [a.side for a in answers if a.check_kind == "" and a.token in keep]
    left = sum(s == "left" for s in sides) / len(sides) if sides else math.nan
    return StudyReport(design, checks, judgements, by_question, by_style, bt, agreement, left)


def _csv(rows: list[list], header: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _fmt(x: float, nd: int = 3) -> str:
    return "" if isinstance(x, float) and math.isnan(x) else f"{x:.{nd}f}"


def _pair_rows(question: str, style: str, results: list[PairResult]) -> list[list]:
    return [[question, style, r.a, r.b, r.n, r.wins, _fmt(r.rate), _fmt(r.low), _fmt(r.high),
             f"{r.p_value:.4g}"] for r in results]


def write_report(rep: StudyReport, out: str | Path, *, overwrite: bool = False,
                 banner: str = "") -> list[Path]:
    """Write results.csv, bradley_terry.csv, participants.csv and report.html into ``out``.

    ``banner``: a line shown at the top of the page (e.g. that the answers are simulated).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for q, results in rep.by_question.items():
        rows += _pair_rows(q, "all", results)
    for (q, style), results in rep.by_style.items():
        rows += _pair_rows(q, style, results)
    header = ["question", "style", "method_a", "method_b", "n", "wins_a", "rate_a",
              "ci95_low", "ci95_high", "p_value"]
    files = [write_text(out / "results.csv", _csv(rows, header), overwrite=overwrite)]
    bt_rows = [[q, m, _fmt(s), _fmt(lo), _fmt(hi)] for q, scores in rep.bt.items()
               for m, (s, lo, hi) in sorted(scores.items(), key=lambda kv: -kv[1][0])]
    files.append(write_text(out / "bradley_terry.csv", _csv(
        bt_rows, ["question", "method", "score", "ci95_low", "ci95_high"]), overwrite=overwrite))
    p_rows = [[c.token, c.answers, c.complete, c.broken_failed, c.broken_total,
               c.repeat_inconsistent, c.repeat_total, f"{c.median_rt_ms:.0f}", c.excluded,
               c.reason] for c in rep.participants]
    files.append(write_text(out / "participants.csv", _csv(
        p_rows, ["token", "answers", "complete", "broken_failed", "broken_checks",
                 "repeat_changed", "repeat_checks", "median_rt_ms", "excluded", "reason"]),
        overwrite=overwrite))
    files.append(write_text(out / "report.html", _html(rep, banner), overwrite=overwrite))
    return files


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(rep: StudyReport, banner: str) -> str:
    d = rep.design
    n_ex = sum(c.excluded for c in rep.participants)
    parts = [f"<h1>Study {html.escape(d.name)}</h1>"]
    if banner:
        parts.append(f'<p class="banner">{html.escape(banner)}</p>')
    parts.append(
        f"<p>{len(rep.participants)} participants ({n_ex} excluded by the attention checks), "
        f"{len(rep.judgements)} judgements kept; methods: "
        f"{html.escape(', '.join(d.methods))}; {len(d.items)} (photo, painting) items; "
        f"left side chosen in {_fmt(100 * rep.left_rate, 1)} % of answers.</p>")
    pair_header = ["method A", "method B", "n", "A wins", "A's rate", "95 % CI (Wilson)",
                   "p (binomial, two-sided)"]
    for q in d.questions:
        parts.append(f"<h2>{html.escape(q)}</h2>")
        parts.append(_table(pair_header, [
            [r.a, r.b, r.n, r.wins, _fmt(r.rate), f"{_fmt(r.low)}–{_fmt(r.high)}",
             f"{r.p_value:.3g}" + (" *" if r.p_value < 0.05 else "")]
            for r in rep.by_question[q]]))
        parts.append("<h3>Bradley–Terry scores (log-strength, 95 % bootstrap over "
                     "participants)</h3>")
        parts.append(_table(["method", "score", "95 % CI"], [
            [m, _fmt(s), f"{_fmt(lo)} – {_fmt(hi)}"]
            for m, (s, lo, hi) in sorted(rep.bt[q].items(), key=lambda kv: -kv[1][0])]))
        parts.append(f"<p>Agreement between participants (Krippendorff's α, nominal): "
                     f"{_fmt(rep.agreement[q])}</p>")
        styles = [k for k in rep.by_style if k[0] == q]
        if styles:
            parts.append("<h3>Per style</h3>")
            parts.append(_table(["style", *pair_header], [
                [k[1], r.a, r.b, r.n, r.wins, _fmt(r.rate), f"{_fmt(r.low)}–{_fmt(r.high)}",
                 f"{r.p_value:.3g}"] for k in styles for r in rep.by_style[k]]))
    parts.append("<h2>Attention checks</h2>")
    parts.append("<p>Broken: one side is an output turned upside down with inverted colours. "
                 "Repeat: an earlier screen again with the sides swapped.</p>")
    parts.append(_table(
        ["participant", "answers", "complete", "chose broken", "repeats changed",
         "median time (ms)", "excluded"],
        [[c.token[:8], c.answers, "yes" if c.complete else "no",
          f"{c.broken_failed} / {c.broken_total}",
          f"{c.repeat_inconsistent} / {c.repeat_total}", f"{c.median_rt_ms:.0f}",
          c.reason or "no"] for c in rep.participants]))
    style = ("body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;"
             "padding:0 1em}table{border-collapse:collapse;margin:.5em 0 1em}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
             ".banner{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em;"
             "font-weight:600}")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>Study "
            f"{html.escape(d.name)}</title><style>{style}</style><body>"
            + "\n".join(parts) + "</body></html>\n")
