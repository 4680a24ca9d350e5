"""Running one stylization request: uploads in, encoded image (or JSON) and headers out.

A :class:`Job` is a request that passed every check; a :class:`Renderer` runs it in a worker
thread of the job queue (:mod:`depthstyle.web.limits`), decoding uploads from memory and picking
the depth source (an uploaded map, a bundled example's map, the server's depth model, or none).
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from fastapi import UploadFile

from depthstyle.depth import AutoDepth, ConstantDepth, DepthMapFile, DepthSource, origin_of
from depthstyle.errors import DepthMapError, ImageReadError
from depthstyle.io import load_image, to_pil
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.web.catalog import CatalogItem
from depthstyle.web.schemas import DepthInfo, StylizeJSON

__all__ = ["Upload", "Job", "Renderer", "read_upload", "encode_image"]


@dataclass
class Upload:
    """One uploaded file: its form field, its name and its bytes."""

    field: str
    filename: str
    data: bytes


@dataclass
class Job:
    """A checked request: inputs, settings and the answer's format."""

    content: Upload | CatalogItem
    style: Upload | CatalogItem
    depth: Upload | None
    depth_kind: Literal["depth", "disparity"]
    settings: StyleSettings
    fmt: Literal["png", "jpeg", "json"]


def encode_image(img: torch.Tensor, fmt: str, quality: int = 92) -> bytes:
    """A (1, 3, H, W) image as PNG or JPEG bytes."""
    buf = io.BytesIO()
    pil = to_pil(img)
    if fmt == "jpeg":
        pil.save(buf, format="JPEG", quality=quality)
    else:
        pil.save(buf, format="PNG")
    return buf.getvalue()


def _data_url(data: bytes, fmt: str) -> str:
    return f"data:image/{fmt};base64," + base64.b64encode(data).decode("ascii")


class Renderer:
    """Turns a validated :class:`Job` into bytes. Uploads are decoded from memory."""

    def __init__(self, stylizer: Stylizer, depth_model: DepthSource | None,
                 config) -> None:
        self.stylizer, self.depth_model, self.config = stylizer, depth_model, config

    def _image(self, item: Upload | CatalogItem) -> torch.Tensor | Path:
        """An upload decoded from its bytes (errors name the form field), or a bundled file."""
        if isinstance(item, CatalogItem):
            return item.path  # bundled styles go by path, so their statistics are cached by file
        return load_image(item.data, max_pixels=self.config.max_pixels, name=item.field)

    def __call__(self, job: Job) -> tuple[bytes, str, dict[str, str]]:
        """Run ``job``: (body, media type, headers)."""
        t0 = time.perf_counter()
        content = self._image(job.content)
        content = load_image(content, max_pixels=self.config.max_pixels) \
            if isinstance(content, Path) else content
        style = self._image(job.style)
        depth, source = self._depth(job)
        result = self.stylizer(content, style, job.settings, depth=depth,
                               name=getattr(job.content, "id", None)
                               or getattr(job.content, "filename", None))
        image = result.image
        origin = result.depth_origin or origin_of(depth)
        if job.fmt == "json":
            body = StylizeJSON(
                image=_data_url(encode_image(image, "png"), "png"),
                proximity=_data_url(encode_image(result.proximity.expand(-1, 3, -1, -1), "png"),
                                    "png"),
                strength=_data_url(encode_image(result.strength.expand(-1, 3, -1, -1), "png"),
                                   "png"),
                width=image.shape[-1], height=image.shape[-2], depth_source=source,
                depth=DepthInfo(**origin.as_dict()),
                elapsed_ms=round((time.perf_counter() - t0) * 1000, 1))
            return body.model_dump_json().encode(), "application/json", {}
        data = encode_image(image, job.fmt)
        headers = {"X-Depth-Source": source, "X-Depth-Kind": origin.kind or "none",
                   "X-Elapsed-Ms": f"{(time.perf_counter() - t0) * 1000:.1f}"}
        return data, f"image/{job.fmt}", headers

    def _depth(self, job: Job) -> tuple[DepthSource, str]:
        if not job.settings.depth_aware:
            return ConstantDepth("depth off"), "none"
        if job.depth is not None:
            return DepthMapFile(job.depth.data, job.depth_kind, name=job.depth.field), "upload"
        if isinstance(job.content, CatalogItem) and job.content.depth_path is not None:
            return DepthMapFile(job.content.depth_path, job.content.depth_kind), "example"
        if self.depth_model is not None:
            model = self.depth_model.model() if isinstance(self.depth_model, AutoDepth) \
                else self.depth_model
            if not isinstance(model, ConstantDepth):
                return self.depth_model, "model"
        return ConstantDepth("no depth map and no depth model on this server"), "none"


async def read_upload(file: UploadFile | None, field: str) -> Upload | None:
    """The bytes of an upload (``None`` if not sent); an empty file is refused."""
    if file is None:
        return None
    data = await file.read()
    if not data:
        raise DepthMapError(f"{field}: the uploaded file is empty") if field == "depth" else \
            ImageReadError(f"{field}: the uploaded file is empty")
    return Upload(field, file.filename or "", data)
