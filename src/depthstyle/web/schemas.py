"""The web API's response bodies: pydantic models that also document it at ``/docs``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = ["ErrorDetail", "ErrorResponse", "DepthInfo", "StylizeJSON", "ItemInfo", "ModelInfo",
           "Health", "ERROR_RESPONSES"]


class ErrorDetail(BaseModel):  # noqa: D101
    status: int
    type: str
    message: str


class ErrorResponse(BaseModel):  # noqa: D101
    error: ErrorDetail


class DepthInfo(BaseModel):
    """Which source gave the depth (see :class:`depthstyle.depth.DepthOrigin`)."""

    source: str
    detail: str
    kind: str
    description: str


class StylizeJSON(BaseModel):
    """JSON answer of ``/api/stylize`` with ``format=json``."""

    image: str
    proximity: str
    strength: str
    width: int
    height: int
    depth_source: Literal["upload", "example", "model", "none"]
    depth: DepthInfo
    elapsed_ms: float


class ItemInfo(BaseModel):  # noqa: D101
    id: str
    title: str
    credit: str
    url: str
    has_depth: bool | None = None
    depth_kind: Literal["depth", "disparity"] | None = None


class ModelInfo(BaseModel):  # noqa: D101
    name: str
    description: str
    loaded: bool
    levels: list[str] | None = None
    decode_level: int | None = None
    learned_strength: bool | None = None


class Health(BaseModel):  # noqa: D101
    status: str
    model: str
    device: str
    depth_model: str | None
    uptime_s: float
    queue: dict[str, int | float]
    style_cache: dict[str, int]
    limits: dict[str, float]
    defaults: dict[str, float]


# the error statuses the routes declare in the OpenAPI document
ERROR_RESPONSES = {code: {"model": ErrorResponse} for code in (404, 413, 415, 422, 503)}
