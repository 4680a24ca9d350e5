"""Prepare GPU training bursts for the `device` tool (research/gpu/gpu_burst.sh).

Writes ``.gpu/`` in the repository (ignored through .git/info/exclude, carried by the device
tool's ``carry``): the training images of ../shared/train without the validation split,
shrunk to at most 384 px and saved as JPEG (quality 85; the tool carries at most 64 MiB
together with the tracked files, about 37 MiB with v4's files: the pack prints the
sum), and the run's latest checkpoint and log (``.gpu/run``), v3's checkpoint again as the
start of the Gram-loss candidate (``.gpu/gram``), the fast candidate's latest checkpoint
(``.gpu/fast``: runs/gpu-fast, if there; else the burst starts from the released weights) and a
collected SWD or patch-SWD run's (``.gpu/swd``, ``.gpu/patch``, from runs/gpu-swd and
runs/gpu-patch, if any).
Then run ``research/gpu/gpu_burst.sh`` *on the device* (see its header) and copy what comes
back with ``--collect``.

    python research/gpu/pack_gpu_burst.py                          # prepare .gpu/
    python research/gpu/pack_gpu_burst.py --collect DIR/gram --variant gram  # DIR: device files
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "train"
RUN = ROOT / "runs" / "lite0-v3"
# checkpoints are not kept in the repository: a variant without a local run in runs/ starts
# from the released weights its recipe names (--init-from)
# where each variant's returned files go (research/gpu/gpu_burst.sh VARIANT)
COLLECT = {"v3": RUN, "gram": ROOT / "runs" / "gpu-gram", "fast": ROOT / "runs" / "gpu-fast",
           "swd": ROOT / "runs" / "gpu-swd", "patch": ROOT / "runs" / "gpu-patch"}
CARRY_LIMIT = 64 * 2**20  # the device tool's limit on the working tree plus carried paths


def tracked_bytes() -> int:
    """Bytes of the files git tracks (what every device call sends besides ``carry``)."""
    import subprocess

    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.split(b"\0")
    return sum((ROOT / n.decode()).stat().st_size for n in names
               if n and (ROOT / n.decode()).is_file())


def pack(max_side: int, quality: int) -> None:
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
                im = im.convert("RGB")
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                im.save(dst / (f.stem + ".jpg"), quality=quality)
    src = RUN if (RUN / "checkpoint.pt").is_file() else None
    (out / "run").mkdir(parents=True, exist_ok=True)
    if src is not None:
        for name in ("checkpoint.pt", "log.csv"):
            shutil.copy2(src / name, out / "run" / name)
    # a collected run: carry ".gpu/<variant>" to continue it
    for variant in ("gram", "fast", "swd", "patch"):
        done = COLLECT[variant] / "checkpoint.pt"
        if done.is_file():
            (out / variant).mkdir(exist_ok=True)
            shutil.copy2(done, out / variant / "checkpoint.pt")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    train = sum(p.stat().st_size for p in (out / "train").rglob("*") if p.is_file())
    travel = tracked_bytes() + train
    print(f".gpu/ ready: {size / 2**20:.1f} MiB (checkpoint from {src}); tracked files + "
          f".gpu/train = {travel / 2**20:.1f} MiB of the device tool's 64 MiB")
    if travel > CARRY_LIMIT:
        print("too large to carry: repack with a smaller --max-side or --quality")


def collect(folder: Path, variant: str) -> None:
    dest = COLLECT[variant]
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint.pt", "log.csv", "decoder.safetensors"):
        if (folder / name).is_file():
            shutil.copy2(folder / name, dest / name)
    print(f"copied into {dest}; the next pack continues from there")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-side", type=int, default=384)
    ap.add_argument("--quality", type=int, default=85, help="JPEG quality of the packed images")
    ap.add_argument("--collect", type=Path, default=None)
    ap.add_argument("--variant", choices=sorted(COLLECT), default="v3")
    args = ap.parse_args()
    collect(args.collect, args.variant) if args.collect else pack(args.max_side, args.quality)


if __name__ == "__main__":
    main()
