"""``depthstyle eval``: stylize a sweep of settings and measure every output.

For each content (optionally with a ground-truth depth/disparity map), each style and each
setting of the sweep (uniform alpha values, and depth-aware offset/contrast/levels points) the
runner stylizes with the same :class:`~depthstyle.pipeline.Stylizer` as the CLI, measures the
metrics of :mod:`depthstyle.evaluation.metrics` and appends one row to ``results.csv``. Rows
already in the CSV are skipped, so an interrupted run resumes; failures are reported and
skipped.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from depthstyle.depth import DepthSource, find_depth_file, proximity_from_values
from depthstyle.errors import DepthStyleError
from depthstyle.evaluation import metrics as M
from depthstyle.io import load_image, read_map_array, resize_image, save_image
from depthstyle.models import Encoder, build_encoder
from depthstyle.pipeline import StyleSettings, Stylizer

__all__ = ["EvalSetting", "EvalItem", "default_sweep", "find_items", "loss_network_for",
           "Evaluator", "FIELDS", "KINDS"]

log = logging.getLogger(__name__)

FIELDS = [
    "content", "style", "setting", "kind", "alpha", "offset", "contrast", "levels",
    "proximity_source", "mean_strength",
    "style_meanstd", "style_gram", "content_dist",
    "ssim", "ssim_near", "ssim_far", "edge_f", "edge_f_near",
    "depth_ssi_rmse", "depth_spearman", "depth_edge_f", "depth_reference",
    "colour_dist_content", "colour_dist_style", "saturation",
]


KINDS = ("uniform", "depth", "learned", "optimized-uniform", "optimized-depth")


@dataclass(frozen=True)
class EvalSetting:
    """One point of the sweep.

    ``kind``: ``uniform`` (alpha everywhere), ``depth`` (hand-set proximity transform),
    ``learned`` (the model's learned strength module), ``optimized-uniform`` /
    ``optimized-depth`` (the optimisation baseline of :mod:`depthstyle.optimize` with ``steps``
    L-BFGS iterations, uniform or depth-aware strength).
    """

    kind: str
    alpha: float = 1.0
    offset: float = 0.2
    contrast: float = 10.0
    levels: tuple[str, ...] = ()
    steps: int = 0

    @property
    def name(self) -> str:
        """Stable identifier used in the CSV and file names."""
        if self.kind == "uniform":
            return f"uniform_a{self.alpha:g}"
        if self.kind == "optimized-uniform":
            return f"optimized{self.steps}_uniform_a{self.alpha:g}"
        lv = "-".join(self.levels) if self.levels else "dec"
        base = f"a{self.alpha:g}_o{self.offset:g}_c{self.contrast:g}"
        if self.kind == "learned":
            return f"learned_{base}"
        if self.kind == "optimized-depth":
            return f"optimized{self.steps}_depth_{base}"
        return f"depth_{base}_l{lv}"

    @property
    def depth_aware(self) -> bool:  # noqa: D102
        return self.kind in ("depth", "learned", "optimized-depth")

    def settings(self, size: int | None, detail: str = "blend") -> StyleSettings:
        """The pipeline settings of this point (``detail``: see :class:`StyleSettings`)."""
        mode = {"uniform": "uniform", "optimized-uniform": "uniform",
                "learned": "learned"}.get(self.kind, "proximity")
        return StyleSettings.from_options(
            strength=mode, levels=self.levels, alpha=self.alpha, offset=self.offset,
            contrast=self.contrast, content_size=size, style_size=512, detail=detail)


def default_sweep(alphas: Sequence[float] = (0.2, 0.4, 0.6, 0.8, 1.0),
                  offsets: Sequence[float] = (0.0, 0.2, 0.4),
                  contrasts: Sequence[float] = (5.0, 10.0, 20.0),
                  levels: Sequence[tuple[str, ...]] = ((),), *, learned: bool = False,
                  optimize_steps: int = 0) -> list[EvalSetting]:
    """Uniform-alpha curve plus a grid of depth-aware points (alpha 1).

    ``learned`` adds the learned module at each (offset, contrast) point; ``optimize_steps``
    adds the optimisation baseline at alpha 1, uniform and depth-aware (default offset and
    contrast).
    """
    sweep = [EvalSetting("uniform", alpha=a) for a in alphas]
    sweep += [EvalSetting("depth", 1.0, o, c, tuple(lv))
              for o in offsets for c in contrasts for lv in levels]
    if learned:
        sweep += [EvalSetting("learned", 1.0, o, c) for o in offsets for c in contrasts]
    if optimize_steps:
        sweep += [EvalSetting("optimized-uniform", 1.0, steps=optimize_steps),
                  EvalSetting("optimized-depth", 1.0, steps=optimize_steps)]
    return sweep


@dataclass(frozen=True)
class EvalItem:
    """A content image and its optional ground-truth depth map."""

    content: Path
    gt: Path | None = None
    gt_kind: str = "depth"


def find_items(contents: Iterable[Path], gt_dir: Path | None, gt_kind: str = "depth",
               rules: Sequence[tuple[str, str]] = ()) -> list[EvalItem]:
    """Pair contents with ``<stem>.depth.png``-style maps in ``gt_dir``.

    ``rules`` are (file-name prefix, kind) pairs overriding ``gt_kind``, e.g.
    ``("middlebury", "disparity")``.
    """
    items = []
    for c in contents:
        gt = find_depth_file(gt_dir, c.stem) if gt_dir else None
        kind = next((k for prefix, k in rules if c.name.startswith(prefix)), gt_kind)
        items.append(EvalItem(c, gt, kind))
    return items


def loss_network_for(encoder_name: str) -> tuple[str, Encoder]:
    """An independent loss network: not the evaluated model's encoder.

    Lite0 models are measured in a seeded random VGG-19 (seed 1234; no pretrained VGG weights can
    be had offline); VGG models in the Lite0 ImageNet trunk.
    """
    if encoder_name == "lite0":
        return "random-vgg19(seed=1234)", build_encoder("random-vgg19", seed=1234)
    return "lite0", build_encoder("lite0")


class Evaluator:
    """Measures stylizations of one model.

    Args:
        stylizer: the pipeline to evaluate.
        size: longer side of the content during evaluation.
        depth: proximity source for depth-aware settings when a content has no ground truth.
        depth_model: optional depth estimator (proximity source) used to measure the depth of
            each output; without it the depth-preservation columns stay empty.
        thumbs: write a JPEG thumbnail of each output (for the report grid).
        detail: how the photo comes back where strength is low (``"blend"``, ``"residual"``,
            ``"off"``; see :class:`~depthstyle.settings.StyleSettings`).
    """

    def __init__(self, stylizer: Stylizer, *, size: int = 384, depth: DepthSource | None = None,
                 depth_model: DepthSource | None = None, thumbs: bool = True,
                 detail: str = "blend") -> None:
        self.stylizer = stylizer
        self.detail = detail
        self.size = size
        self.depth = depth
        self.depth_model = depth_model
        self.thumbs = thumbs
        self.loss_name, self.loss_net = loss_network_for(stylizer.encoder_name)
        self._style_feats: dict[Path, list[torch.Tensor]] = {}
        self._style_small: dict[Path, torch.Tensor] = {}

    def _feats(self, img: torch.Tensor) -> list[torch.Tensor]:
        with torch.inference_mode():
            return self.loss_net(img)

    def measure(self, content: torch.Tensor, out: torch.Tensor, style_feats, gt_prox,
                gt_valid, content_feats, content_depth) -> dict[str, float | str]:
        """All metrics of one output."""
        f_out = self._feats(out)
        row: dict[str, float | str] = {}
        row.update({f"style_{k}": v for k, v in M.style_distances(f_out, style_feats).items()})
        row["content_dist"] = M.content_distance(f_out[-1], content_feats[-1])
        near = far = None
        if gt_prox is not None:
            near = M.near_mask(gt_prox, 1 / 3, gt_valid)
            far = M.near_mask(1 - gt_prox, 1 / 3, gt_valid)
        row["ssim"] = M.ssim(out, content)
        row["edge_f"] = M.edge_fscore(out, content)
        if near is not None:
            row["ssim_near"] = M.ssim(out, content, near)
            row["ssim_far"] = M.ssim(out, content, far)
            row["edge_f_near"] = M.edge_fscore(out, content, near)
        if self.depth_model is not None:
            pred = self.depth_model(out).float()
            ref, ref_name = (gt_prox, "ground truth") if gt_prox is not None else \
                (content_depth, "depth of content")
            mask = gt_valid if gt_prox is not None else None
            row["depth_ssi_rmse"] = M.ssi_rmse(pred, ref, mask)
            row["depth_spearman"] = M.spearman(pred, ref, mask)
            row["depth_edge_f"] = M.edge_fscore(pred, ref)
            row["depth_reference"] = ref_name
        row["colour_dist_content"] = M.colour_distance(out, content)
        row["saturation"] = M.colour_stats(out)["saturation"]
        return row

    def run(self, items: Sequence[EvalItem], styles: Sequence[Path],
            sweep: Sequence[EvalSetting], out_dir: str | os.PathLike, *, progress: bool = True
            ) -> tuple[list[dict], list[str]]:
        """Run (or resume) the sweep; returns (all rows, failure messages)."""
        from tqdm.auto import tqdm

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = out_dir / "results.csv"
        rows = _read_rows(csv_path)
        done = {(r["content"], r["style"], r["setting"]) for r in rows}
        failures: list[str] = []
        total = len(items) * len(styles) * len(sweep)
        bar = tqdm(total=total, desc="eval", unit="img", disable=None if progress else True)
        new_file = not csv_path.exists()
        with open(csv_path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            if new_file:
                writer.writeheader()
            for item in items:
                try:
                    prepared = self._prepare(item)
                except DepthStyleError as exc:
                    failures.append(str(exc))
                    log.error("%s", exc)
                    bar.update(len(styles) * len(sweep))
                    continue
                for style in styles:
                    for setting in sweep:
                        key = (item.content.name, style.name, setting.name)
                        bar.update(1)
                        if key in done:
                            continue
                        try:
                            row = self._one(item, prepared, style, setting, out_dir)
                        except (DepthStyleError, ValueError, RuntimeError) as exc:
                            msg = f"{item.content.name} x {style.name} [{setting.name}]: {exc}"
                            failures.append(msg)
                            log.error("%s", msg)
                            continue
                        writer.writerow(row)
                        fh.flush()
                        rows.append({k: str(v) for k, v in row.items()})
        bar.close()
        return rows, failures

    def _prepare(self, item: EvalItem):
        content = resize_image(load_image(item.content), self.size, upscale=False)
        gt_prox = gt_valid = None
        if item.gt is not None:
            raw = torch.from_numpy(read_map_array(item.gt))[None, None]
            valid = torch.isfinite(raw) & (raw > 0)
            gt_prox = proximity_from_values(raw, item.gt_kind, size=content.shape[-2:],
                                            name=str(item.gt))
            gt_valid = torch.nn.functional.interpolate(
                valid.float(), size=content.shape[-2:], mode="nearest") > 0.5
        content_depth = self.depth_model(content).float() if self.depth_model else None
        return content, gt_prox, gt_valid, self._feats(content), content_depth

    def _one(self, item, prepared, style: Path, setting: EvalSetting, out_dir: Path) -> dict:
        content, gt_prox, gt_valid, content_feats, content_depth = prepared
        if style not in self._style_feats:
            style_img = load_image(style)
            self._style_feats[style] = self._feats(resize_image(style_img, 512, upscale=False))
            self._style_small[style] = resize_image(style_img, 256, upscale=False)
        if setting.depth_aware and gt_prox is not None:
            depth, source = gt_prox, "ground truth"
        else:
            depth = self.depth
            source = getattr(depth, "name", "none") if depth is not None else "none"
        if setting.kind.startswith("optimized"):
            from depthstyle.optimize import OptimizeConfig, optimize_image

            result = optimize_image(self.stylizer, content, style,
                                    setting.settings(None, self.detail),
                                    OptimizeConfig(steps=setting.steps), depth=depth,
                                    progress=False)
        else:
            result = self.stylizer(content, style, setting.settings(None, self.detail),
                                  depth=depth)
        aware = setting.depth_aware
        row = {"content": item.content.name, "style": style.name, "setting": setting.name,
               "kind": setting.kind, "alpha": setting.alpha,
               "offset": setting.offset if aware else "",
               "contrast": setting.contrast if aware else "",
               "levels": "-".join(setting.levels), "proximity_source": source if aware else "",
               "mean_strength": float(result.strength.mean())}
        row.update(self.measure(content, result.image, self._style_feats[style], gt_prox,
                                gt_valid, content_feats, content_depth))
        row["colour_dist_style"] = M.colour_distance(result.image, self._style_small[style])
        if self.thumbs:
            thumb = resize_image(result.image, 192)
            name = f"{item.content.stem}__{style.stem}__{setting.name}.jpg"
            save_image(thumb, out_dir / "images" / name, overwrite=True, quality=85)
            if setting.kind == "depth":  # the strength map depends on content and setting only
                smap = resize_image(result.strength.expand(-1, 3, -1, -1), 192)
                save_image(smap, out_dir / "images" / f"{item.content.stem}__~strength__"
                           f"{setting.name}.jpg", overwrite=True, quality=85)
        return {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}


def _read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
