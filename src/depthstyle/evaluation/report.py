"""Summaries and the self-contained HTML report of ``depthstyle eval``.

The headline comparison is made *at equal style distance*: for each (content, style) pair the
uniform-alpha results form a curve of structure error against style distance; every other point
(hand-set depth-aware, learned strength, optimisation baseline) is compared with that curve
interpolated at its own style distance. A negative difference means the setting keeps more
structure than uniform AdaIN would at the same amount of style. Points whose style distance
lies outside the uniform curve's range are not compared (counted as "outside").
"""

from __future__ import annotations

import html
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ERROR_METRICS", "compare_at_equal_style", "summary_table", "write_report",
           "scatter_svg", "aggregate_svg"]

# error columns (lower = better) derived from the CSV: name -> (column, transform)
ERROR_METRICS = {
    "1 - SSIM (nearest third)": ("ssim_near", lambda v: 1 - v),
    "1 - SSIM (all)": ("ssim", lambda v: 1 - v),
    "1 - edge F (nearest third)": ("edge_f_near", lambda v: 1 - v),
    "depth SSI-RMSE": ("depth_ssi_rmse", lambda v: v),
    "1 - depth Spearman": ("depth_spearman", lambda v: 1 - v),
}
STYLE_COLUMN = "style_meanstd"
# kind -> (colour, joined by a line, legend)
SERIES = {
    "uniform": ("#1f77b4", True, "uniform alpha 0.2-1"),
    "depth": ("#d62728", False, "depth-aware (hand-set)"),
    "learned": ("#2ca02c", False, "learned strength"),
    "optimized-uniform": ("#9467bd", False, "optimisation, uniform"),
    "optimized-depth": ("#ff7f0e", False, "optimisation, depth-aware"),
}


def _num(row: dict, key: str) -> float | None:
    try:
        v = float(row.get(key, ""))
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _interp(curve: list[tuple[float, float]], x: float) -> float | None:
    pts = sorted(curve)
    if len(pts) < 2 or not (pts[0][0] <= x <= pts[-1][0]):
        return None
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def compare_at_equal_style(rows: Sequence[dict], metric: str) -> dict[str, dict]:
    """Per non-uniform setting: mean difference to the uniform curve, wins, compared, outside."""
    column, transform = ERROR_METRICS[metric]
    by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        by_pair[(r["content"], r["style"])].append(r)
    out: dict[str, dict] = defaultdict(lambda: {"diffs": [], "outside": 0})
    for pair_rows in by_pair.values():
        curve = [(_num(r, STYLE_COLUMN), transform(_num(r, column)))
                 for r in pair_rows if r["kind"] == "uniform"
                 and _num(r, column) is not None and _num(r, STYLE_COLUMN) is not None]
        for r in pair_rows:
            if r["kind"] == "uniform" or _num(r, column) is None:
                continue
            ref = _interp(curve, _num(r, STYLE_COLUMN))
            if ref is None:
                out[r["setting"]]["outside"] += 1
            else:
                out[r["setting"]]["diffs"].append(transform(_num(r, column)) - ref)
    result = {}
    for setting, d in out.items():
        diffs = d["diffs"]
        result[setting] = {
            "compared": len(diffs), "outside": d["outside"],
            "mean_diff": sum(diffs) / len(diffs) if diffs else None,
            "wins": sum(1 for x in diffs if x < 0),
        }
    return result


def summary_table(rows: Sequence[dict]) -> list[dict]:
    """Mean of the main columns per setting (over all contents and styles)."""
    cols = ["mean_strength", "style_meanstd", "style_gram", "content_dist", "ssim", "ssim_near",
            "ssim_far", "edge_f", "edge_f_near", "depth_ssi_rmse", "depth_spearman"]
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["setting"]].append(r)
    table = []
    for setting, rs in groups.items():
        entry = {"setting": setting, "kind": rs[0]["kind"], "n": len(rs)}
        for c in cols:
            vals = [v for v in (_num(r, c) for r in rs) if v is not None]
            entry[c] = sum(vals) / len(vals) if vals else None
        table.append(entry)
    table.sort(key=lambda e: (e["kind"] != "uniform", e["setting"]))
    return table


def scatter_svg(series: Sequence[dict], xlabel: str, ylabel: str, width: int = 420,
                height: int = 300) -> str:
    """A small SVG scatter/line plot. ``series``: dicts with label, color, points, line."""
    pts = [p for s in series for p in s["points"]]
    if not pts:
        return "<svg/>"
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1, y1 = (x1 + 1e-9 if x1 == x0 else x1), (y1 + 1e-9 if y1 == y0 else y1)
    ml, mr, mt, mb = 58, 12, 12, 42

    def px(x):
        return ml + (x - x0) / (x1 - x0) * (width - ml - mr)

    def py(y):
        return height - mb - (y - y0) / (y1 - y0) * (height - mt - mb)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect x="{ml}" y="{mt}" width="{width - ml - mr}" height="{height - mt - mb}" '
             'fill="none" stroke="#999"/>']
    for i in range(5):
        xv, yv = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        parts.append(f'<text x="{px(xv):.1f}" y="{height - mb + 14}" text-anchor="middle">'
                     f'{xv:.3g}</text>')
        parts.append(f'<text x="{ml - 4}" y="{py(yv) + 4:.1f}" text-anchor="end">{yv:.3g}</text>')
    parts.append(f'<text x="{(ml + width - mr) / 2}" y="{height - 6}" text-anchor="middle">'
                 f'{html.escape(xlabel)}</text>')
    parts.append(f'<text transform="translate(12,{(mt + height - mb) / 2}) rotate(-90)" '
                 f'text-anchor="middle">{html.escape(ylabel)}</text>')
    ly = mt + 12
    for s in series:
        p = sorted(s["points"]) if s.get("line") else s["points"]
        if s.get("line") and len(p) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in p)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{s["color"]}" '
                         'stroke-width="1.5"/>')
        for x, y in p:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{s["color"]}"/>')
        parts.append(f'<text x="{width - mr - 4}" y="{ly}" text-anchor="end" '
                     f'fill="{s["color"]}">{html.escape(s["label"])}</text>')
        ly += 13
    parts.append("</svg>")
    return "".join(parts)


def aggregate_svg(rows: Sequence[dict], metric: str) -> str:
    """Plot of ``metric`` vs style distance, each setting averaged over all contents/styles."""
    column, transform = ERROR_METRICS[metric]
    groups: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        if _num(r, column) is not None and _num(r, STYLE_COLUMN) is not None:
            groups[(r["kind"], r["setting"])].append((_num(r, STYLE_COLUMN),
                                                      transform(_num(r, column))))
    series = []
    for kind, (color, line, label) in SERIES.items():
        pts = [(sum(p[0] for p in v) / len(v), sum(p[1] for p in v) / len(v))
               for (k, _), v in groups.items() if k == kind]
        if pts or kind in ("uniform", "depth"):
            series.append({"label": label, "color": color, "points": pts, "line": line})
    return scatter_svg(series, "style distance (mean/std; lower = more style)", metric,
                       width=520, height=360)


def _fmt(v) -> str:
    return "" if v is None else f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))


def write_report(rows: Sequence[dict], out_dir: str | Path, *, title: str, notes: Sequence[str],
                 failures: Sequence[str] = ()) -> Path:
    """Write ``summary.json`` and ``report.html`` (thumbnails referenced from ``images/``)."""
    out_dir = Path(out_dir)
    metrics = [m for m, (col, _) in ERROR_METRICS.items()
               if any(_num(r, col) is not None for r in rows)]
    comparisons = {m: compare_at_equal_style(rows, m) for m in metrics}
    table = summary_table(rows)
    (out_dir / "summary.json").write_text(json.dumps(
        {"settings": table, "equal_style_comparison": comparisons, "notes": list(notes),
         "failures": list(failures)}, indent=2))

    main_metric = metrics[0] if metrics else None
    if main_metric:
        (out_dir / "summary.svg").write_text(aggregate_svg(rows, main_metric))
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
         "<style>body{font-family:sans-serif;margin:20px;max-width:1400px}"
         "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
         "padding:3px 6px;text-align:right}th{background:#eee}.grid img{width:128px;margin:1px}"
         ".plots{display:flex;flex-wrap:wrap;gap:8px}</style></head><body>",
         f"<h1>{html.escape(title)}</h1><ul>"]
    h += [f"<li>{html.escape(n)}</li>" for n in notes]
    h.append("</ul>")
    for m in metrics:
        h.append(f"<h2>Each setting vs uniform alpha at equal style distance: {html.escape(m)}"
                 "</h2><p>mean difference = the setting's error minus the uniform-alpha curve's "
                 "error at the same style distance (negative = it keeps more structure). "
                 "Settings: depth_* hand-set, learned_* learned strength, optimized* the "
                 "optimisation baseline (quality ceiling).</p>"
                 "<table><tr><th>setting</th><th>compared</th><th>outside range</th>"
                 "<th>mean difference</th><th>wins</th></tr>")
        for s, d in sorted(comparisons[m].items()):
            h.append(f"<tr><td>{s}</td><td>{d['compared']}</td><td>{d['outside']}</td>"
                     f"<td>{_fmt(d['mean_diff'])}</td><td>{d['wins']}</td></tr>")
        h.append("</table>")
    h.append("<h2>Means per setting</h2><table><tr>" +
             "".join(f"<th>{html.escape(k)}</th>" for k in table[0]) + "</tr>" if table else "")
    for e in table:
        h.append("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in e.values()) + "</tr>")
    h.append("</table>")
    if main_metric:
        column, transform = ERROR_METRICS[main_metric]
        h.append(f"<h2>Per content: {html.escape(main_metric)} vs style distance</h2>"
                 "<div class='plots'>")
        by_content: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            by_content[r["content"]].append(r)
        for content, rs in sorted(by_content.items()):
            series = []
            for kind, (color, line, label) in SERIES.items():
                groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
                for r in rs:
                    if r["kind"] == kind and _num(r, column) is not None:
                        groups[r["setting"]].append((_num(r, STYLE_COLUMN),
                                                     transform(_num(r, column))))
                pts = [(sum(p[0] for p in v) / len(v), sum(p[1] for p in v) / len(v))
                       for v in groups.values()]
                if pts:
                    series.append({"label": label, "color": color, "points": pts, "line": line})
            h.append(f"<div><b>{html.escape(content)}</b> (mean over styles)<br>"
                     f"{scatter_svg(series, 'style distance (mean/std, lower = more style)', main_metric)}"  # noqa: E501
                     "</div>")
        h.append("</div>")
    images = sorted((out_dir / "images").glob("*.jpg")) if (out_dir / "images").is_dir() else []
    if images:
        h.append("<h2>Outputs</h2><div class='grid'>")
        for p in images[:600]:
            h.append(f"<img src='images/{html.escape(p.name)}' title='{html.escape(p.stem)}'>")
        h.append("</div>")
    if failures:
        h.append("<h2>Failures</h2><ul>" + "".join(f"<li>{html.escape(f)}</li>"
                                                    for f in failures) + "</ul>")
    h.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("\n".join(h))
    return path
