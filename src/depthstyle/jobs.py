"""Batch planning: command-line inputs -> files, jobs with output paths, and style masks."""

from __future__ import annotations

import glob
import random
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from depthstyle.errors import DepthStyleError, SettingsError

__all__ = ["Job", "map_outputs", "check_outputs", "expand_inputs", "expand_tree", "plan_outputs",
           "draw_styles", "load_masks"]


class Job(NamedTuple):
    """One output: a content image, the style(s) it takes, the file it is written to."""

    content: Path
    styles: list[Path]
    output: Path


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    """A folder's images, sorted, without hidden files and the depth maps beside its photos.

    ``photo.disparity.png`` beside ``photo.jpg`` is the photo's depth, not a content.
    """
    from depthstyle.io import IMAGE_EXTENSIONS

    walk = folder.rglob("*") if recursive else folder.iterdir()
    found = sorted(f for f in walk if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
                   and not any(part.startswith(".") for part in f.relative_to(folder).parts))
    stems = {(f.parent, f.stem) for f in found}

    def is_map(f: Path) -> bool:
        base, _, tag = f.stem.rpartition(".")
        return tag.lower() in ("depth", "disparity") and (f.parent, base) in stems

    return [f for f in found if not is_map(f)]


def expand_tree(items: Sequence[str], recursive: bool = False) -> list[tuple[Path, Path]]:
    """Files, folders and glob patterns -> (image path, its path under the folder given).

    A folder's images keep their place below it (``photos/cat/1.jpg`` given as ``photos`` ->
    ``cat/1.jpg``), so a batch can mirror class folders; a file or a pattern's match is its
    name alone. ``recursive`` walks sub-folders (hidden files and folders are left out).
    Missing plain files are kept, so a batch reports them one by one and goes on.

    Raises:
        DepthStyleError: a folder without images, or a pattern that matches nothing.
    """
    from depthstyle.io import IMAGE_EXTENSIONS

    out: list[tuple[Path, Path]] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = _images_in(p, recursive)
            if not found:
                raise DepthStyleError(f"{p}: folder holds no images "
                                      f"({', '.join(IMAGE_EXTENSIONS)})"
                                      + ("" if recursive else "; add --recursive for "
                                         "sub-folders"))
            out += [(f, f.relative_to(p)) for f in found]
        elif any(c in item for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            if not matches:
                raise DepthStyleError(f"{item}: pattern matches no file")
            out += [(m, Path(m.name)) for m in matches if m.is_file()]
        else:
            out.append((p, Path(p.name)))  # missing files are reported per file
    return out


def expand_inputs(items: Sequence[str], recursive: bool = False) -> list[Path]:
    """Files, folders (their images, sorted) and glob patterns -> image paths.

    :func:`expand_tree` without the places.
    """
    return [p for p, _ in expand_tree(items, recursive)]


def draw_styles(styles: Sequence[Path], k: int, seed: int, key: str) -> list[Path]:
    """``k`` different styles drawn at random for the content named ``key``.

    The draw depends only on ``seed``, ``key`` and the style pool (in sorted order), not on
    which other contents are in the run or in what order, so a rerun or a run on part of a
    dataset draws the same styles for the same image.

    Raises:
        SettingsError: ``k`` larger than the pool.
    """
    if not 1 <= k <= len(styles):
        raise SettingsError(f"--styles-per-image {k} needs between 1 and {len(styles)} styles "
                            f"(the pool has {len(styles)})")
    pool = sorted(styles, key=str)
    return random.Random(f"{seed}:{key}").sample(pool, k)


def plan_outputs(contents: Sequence[Path], styles: list[Path], out: Path, fmt: str,
                 combine: bool, *, places: Sequence[Path] | None = None,
                 styles_per_image: int | None = None, seed: int = 0,
                 name: str = "{content}_{style}") -> list[Job]:
    """Every job of a run: content, its style(s), the output path.

    Outputs are ``OUT/<place's folder>/<content stem>_<style stems>.<fmt>``: ``places``
    (from :func:`expand_tree`) mirror the inputs' folders; without them every output lands in
    ``OUT``. ``combine`` makes all styles one group (weights or masks); ``styles_per_image``
    gives each content that many styles drawn with :func:`draw_styles` instead of every style.
    ``name`` is the file name's template: ``{content}`` and ``{style}`` (the stems; several
    styles joined with ``+``), e.g. ``{content}__{style}`` for ``depthstyle study``.
    """
    if "{content}" not in name or "{style}" not in name or "/" in name:
        raise SettingsError(f"--name {name!r} must contain {{content}} and {{style}} and no "
                            "'/'")
    if combine and styles_per_image:
        raise SettingsError("--styles-per-image draws separate styles; it cannot be combined "
                            "with --style-weights or --mask")
    style_groups = [styles] if combine else [[s] for s in styles]
    n_out = len(contents) * (styles_per_image or len(style_groups))
    if n_out == 1 and out.suffix:
        group = draw_styles(styles, 1, seed, str(contents[0])) if styles_per_image \
            else style_groups[0]
        return [Job(contents[0], group, out)]
    if out.suffix and out.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff",
                                             ".bmp"):
        raise SettingsError(f"{out}: several outputs ({n_out}) need an output folder, not a "
                            "file name")
    places = places if places is not None else [Path(c.name) for c in contents]
    jobs: list[Job] = []
    seen: dict[Path, Path] = {}
    for c, place in zip(contents, places, strict=True):
        groups = style_groups if not styles_per_image else \
            [[s] for s in draw_styles(styles, styles_per_image, seed, place.as_posix())]
        for group in groups:
            tag = "+".join(s.stem for s in group)
            path = out / place.parent / (name.replace("{content}", c.stem)
                                         .replace("{style}", tag) + f".{fmt}")
            if path in seen:
                raise SettingsError(f"{seen[path]} and {c} would both be written to {path}: "
                                    "rename one, or stylize them in separate runs")
            seen[path] = c
            jobs.append(Job(c, group, path))
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
