"""Prepare a GPU training burst of the v3 run for the `device` tool (docs/model-card.md).

Writes ``.gpu/`` in the repository (ignored through .git/info/exclude, carried by the device
tool's ``carry``): the training images of ../shared/train without the validation split,
shrunk to at most 384 px (JPEG q90; the tool carries at most 64 MiB together with the
tracked files, about 15 MiB), and the
run's latest checkpoint and log. Then run ``tools/gpu_burst.sh`` *on the device* (see its
header) and copy what comes back with ``--collect``.

    python tools/pack_gpu_burst.py                 # prepare .gpu/
    python tools/pack_gpu_burst.py --collect DIR   # DIR = the files the device run returned
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "train"
RUN = ROOT / "runs" / "lite0-v3"
KEPT = ROOT / "training" / "lite0-v3"


def pack(max_side: int) -> None:
    out = ROOT / ".gpu"
    exclude = ROOT / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    text = exclude.read_text() if exclude.is_file() else ""
    if "/.gpu/" not in text:
        exclude.write_text(text + "/.gpu/\n")
    split = json.loads((ROOT / "benchmarks" / "validation-split.json").read_text())
    for kind in ("content", "style"):
        dst = out / "train" / kind
        dst.mkdir(parents=True, exist_ok=True)
        held = set(split[kind])
        for f in sorted((SHARED / kind).iterdir()):
            if f.name in held or f.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                continue
            with Image.open(f) as im:
                if max(im.size) <= max_side:
                    shutil.copy2(f, dst / f.name)
                    continue
                im = im.convert("RGB")
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                im.save(dst / (f.stem + ".jpg"), quality=90)
    src = RUN if (RUN / "checkpoint.pt").is_file() else KEPT
    (out / "run").mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint.pt", "log.csv"):
        shutil.copy2(src / name, out / "run" / name)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f".gpu/ ready: {size / 2**20:.1f} MiB (checkpoint from {src})")


def collect(folder: Path) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint.pt", "log.csv"):
        shutil.copy2(folder / name, RUN / name)
    print(f"copied into {RUN}; export with `training/lite0-v3/resume.sh 0` or keep training")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-side", type=int, default=384)
    ap.add_argument("--collect", type=Path, default=None)
    args = ap.parse_args()
    collect(args.collect) if args.collect else pack(args.max_side)


if __name__ == "__main__":
    main()
