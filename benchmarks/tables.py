"""Print the markdown tables of benchmarks/RESULTS.md from benchmarks/results/*.json.

Run: python benchmarks/tables.py
"""

from __future__ import annotations

import json
from pathlib import Path

RES = Path(__file__).parent / "results"


def stylize(name: str) -> None:
    path = RES / name
    if not path.exists():
        return
    data = json.loads(path.read_text())
    print(f"\n`{name}` ({data['meta']['command']})\n")
    print("| model | mode | depth | size | batch | channels_last | ms / image | images / s "
          "| peak RSS MB | parity (max abs diff) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    base = {(r["model"], r["size"]): r for r in data["rows"] if r["mode"] == "baseline"
            and "error" not in r}
    for r in data["rows"]:
        if "error" in r:
            print(f"| {r['model']} | {r['mode']} | {r['depth']} | {r['size']} | {r['batch']} | "
                  f"{r['channels_last']} | error: {r['error']} | | | |")
            continue
        model = "bundled" if r["model"] == "depthstyle-lite0" else r["model"]
        depth = {"gt": "GT map (strength only)", "da": "DA-V2-Small arch per image"}[r["depth"]]
        parity = r.get("parity_max_abs_diff")
        speed = ""
        b = base.get((r["model"], r["size"]))
        if b and r["mode"] != "baseline":
            speed = f" ({b['ms_per_image'] / r['ms_per_image']:.2f}x baseline)"
        print(f"| {model} | {r['mode']} | {depth} | {r['size']} | {r['batch']} | "
              f"{r['channels_last']} | {r['ms_per_image']:.1f}{speed} | {r['images_per_s']:.2f} | "
              f"{r['peak_rss_mb']:.0f} | {'' if parity is None else f'{parity:.2e}'} |")


def main() -> None:
    stylize("stylize_cpu.json")
    stylize("stylize_cpu_vgg_arch.json")
    for name in ("tiled_cpu.json", "video_cpu.json", "encoder_cost.json",
                 "encoder_comparison.json"):
        p = RES / name
        if p.exists():
            print(f"\n`{name}`:\n```json")
            data = json.loads(p.read_text())
            if name == "encoder_comparison.json":
                data = {"summary": data["summary"]}
            if name == "video_cpu.json":
                data = [{k: v for k, v in r.items() if k != "measured"} | {
                    "measured_flicker_ratio": r["measured"]["flicker_ratio"]}
                    for r in data["runs"]]
            print(json.dumps(data, indent=1))
            print("```")


if __name__ == "__main__":
    main()
