"""Batch planning: command-line inputs -> files, jobs with output paths, and style masks."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from depthstyle.errors import DepthStyleError, SettingsError

__all__ = ["map_outputs", "check_outputs", "expand_inputs", "plan_outputs", "load_masks"]


def expand_inputs(items: Sequence[str]) -> list[Path]:
    """Files, folders (their images, sorted) and glob patterns -> image paths.

    Missing plain files are kept, so a batch reports them one by one and goes on.

    Raises:
        DepthStyleError: a folder without images, or a pattern that matches nothing.
    """
    from depthstyle.io import IMAGE_EXTENSIONS

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file()
                           and f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith("."))
            if not found:
                raise DepthStyleError(
                    f"{p}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
            out += found
        elif any(c in item for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            if not matches:
                raise DepthStyleError(f"{item}: pattern matches no file")
            out += [m for m in matches if m.is_file()]
        else:
            out.append(p)  # missing files are reported per file, with the others still done
    return out


def plan_outputs(contents: list[Path], styles: list[Path], out: Path, fmt: str, combine: bool
                  ) -> list[tuple[Path, list[Path], Path]]:
    """(content, styles of this job, output path) for every job."""
    style_groups = [styles] if combine else [[s] for s in styles]
    single = len(contents) == 1 and len(style_groups) == 1
    if single and out.suffix:
        return [(contents[0], style_groups[0], out)]
    if out.suffix and out.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff",
                                             ".bmp"):
        raise SettingsError(f"{out}: several outputs ({len(contents) * len(style_groups)}) need "
                            "an output folder, not a file name")
    jobs, seen = [], {}
    for c in contents:
        for group in style_groups:
            tag = "+".join(s.stem for s in group)
            path = out / f"{c.stem}_{tag}.{fmt}"
            if path in seen:
                raise SettingsError(f"{seen[path]} and {c} would both be written to {path}: "
                                    "rename one, or stylize them in separate runs")
            seen[path] = c
            jobs.append((c, group, path))
    return jobs


def map_outputs(out: Path) -> list[Path]:
    """The ``--save-maps`` files written beside output ``out``."""
    return [out.with_name(f"{out.stem}.{name}.png") for name in ("proximity", "strength")]


def check_outputs(paths: Sequence[Path], overwrite: bool) -> None:
    """Refuse before any work if an output exists (without ``overwrite``) or cannot be created.

    Every file a job writes (the output and its ``--save-maps`` maps) is checked here, so a job
    never writes some of its files and then fails on another.

    Raises:
        DepthStyleError: the first problem, naming the output.
    """
    existing = [p for p in paths if p.exists()]
    if len(existing) == 1 and not overwrite:
        raise DepthStyleError(f"{existing[0]}: exists; add --overwrite to replace it")
    if existing and not overwrite:
        raise DepthStyleError(f"{len(existing)} output files exist, e.g. {existing[0]}; "
                              "add --overwrite to replace them")
    for p in paths:
        for parent in (p.parent, *p.parent.parents):
            if parent.exists():
                if not parent.is_dir():
                    raise DepthStyleError(f"{p}: cannot create it: {parent} is a file, not a "
                                          "folder")
                break
        if p.exists() and p.is_dir():
            raise DepthStyleError(f"{p}: is a folder; give a file name")


def load_masks(paths: list[str], n_styles: int):
    """Style masks (1, K, H, W) in [0, 1] from K files (or one file for two styles).

    8-bit maps are divided by 255, 16-bit ones by their maximum; one mask for two styles is
    completed with its complement (white = first style).

    Raises:
        SettingsError: fewer than two styles, or the wrong number of masks.
    """
    import torch
    import torch.nn.functional as F

    from depthstyle.io import read_map_array

    if n_styles < 2:
        raise SettingsError("--mask needs at least two styles (one per region)")
    maps = []
    for p in paths:
        arr = torch.from_numpy(read_map_array(p))
        top = float(arr.max()) if float(arr.max()) > 1 else 1.0
        maps.append((arr / (255.0 if top <= 255 else top))[None, None])
    if len(maps) == 1 and n_styles == 2:
        maps.append(1 - maps[0])
    if len(maps) != n_styles:
        raise SettingsError(f"{len(maps)} masks for {n_styles} styles: give one mask per style "
                            "(or one mask for two styles: white = first, black = second)")
    size = maps[0].shape[-2:]
    m = torch.cat([F.interpolate(x, size=size, mode="bilinear", align_corners=False)
                   for x in maps], 1)
    return m.clamp(0, 1)
