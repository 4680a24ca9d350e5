"""The web app: a single page and a JSON API over the same :class:`~depthstyle.Stylizer` as the CLI.

Endpoints (OpenAPI at ``/docs``, served without any CDN):

* ``GET /`` - the page; ``GET /static/...`` - its script and style sheet.
* ``POST /api/stylize`` - multipart upload (or bundled example ids) -> PNG, JPEG or JSON with
  base64 images of the result, the proximity map and the strength map.
* ``GET /api/styles``, ``GET /api/examples`` - bundled styles and example contents;
  ``GET /api/{styles|examples}/{id}/image`` - their images.
* ``GET /api/models`` - known models and the loaded one; ``GET /api/health`` - status, queue and
  cache counters.

Every error is JSON ``{"error": {"status", "type", "message"}}``: 413 (body or pixel count over
the limit), 415 (not an image / not multipart), 422 (invalid values, unusable depth map), 404
(unknown id), 503 (queue full or time limit, with ``Retry-After``). Uploads are decoded from
their bytes (:mod:`depthstyle.io`); depthstyle writes nothing to disk (Starlette's form parser
itself spools parts over 1 MB to a temporary file while it reads the request, and removes it).

This module holds the configuration, the app's state and the routes. The routes are
module-level functions that depend on the app's state (:func:`_state`); the model loads in the
app's lifespan unless a loaded :class:`~depthstyle.pipeline.Stylizer` is passed in; nothing here
changes a library setting for the whole process. Running a request is
:mod:`depthstyle.web.jobs`, the error answers :mod:`depthstyle.web.errors`, the response bodies
:mod:`depthstyle.web.schemas`, the trust boundary :mod:`depthstyle.web.guard` and the body
limit and job queue :mod:`depthstyle.web.limits`.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from depthstyle.depth import DepthSource
from depthstyle.errors import SettingsError
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.strength import DEFAULT_CONTRAST, DEFAULT_OFFSET
from depthstyle.texture import DEFAULT_TEXTURE_MATCH
from depthstyle.web.catalog import Catalog, CatalogItem, load_catalog
from depthstyle.web.errors import InternalErrors, install_error_handlers
from depthstyle.web.guard import RequestGuard
from depthstyle.web.jobs import Job, Renderer, read_upload
from depthstyle.web.limits import BodySizeLimit, JobQueue
from depthstyle.web.schemas import (
    ERROR_RESPONSES,
    Health,
    ItemInfo,
    ModelInfo,
    StylizeJSON,
)

__all__ = ["WebConfig", "create_app"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebConfig:
    """Limits and defaults of the web app.

    Attributes:
        max_upload_mb: largest request body (all files together), in MB.
        max_pixels: largest decoded image (content, style or depth map), in pixels.
        max_side: largest output side a request may ask for (``size``), in pixels.
        preview_side: output side the page uses while sliders move.
        style_size: longer side styles are shrunk to before their statistics are taken.
        workers: stylizations running at once.
        queue: requests that may wait for a worker; more are answered 503.
        timeout_s: seconds from arrival to answer; slower requests are answered 503.
        allowed_hosts: names accepted in the ``Host`` header (DNS-rebinding guard); empty =
            the loopback names plus ``bind_host``; ``("*",)`` accepts any (behind a proxy
            that checks it).
        allowed_origins: other sites allowed to POST from a browser (``https://a.example``).
        bind_host: the address the server listens on (added to the default allowed hosts).
        study_signups_per_minute: new study participants one client address may register per
            minute (answered 429 beyond; 0 = no limit). Answers need no limit of their own: a
            token can store each of its questions once.
    """

    max_upload_mb: float = 20.0
    max_pixels: int = 25_000_000
    max_side: int = 2048
    preview_side: int = 320
    style_size: int = 512
    workers: int = 1
    queue: int = 8
    timeout_s: float = 120.0
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    bind_host: str = "127.0.0.1"
    study_signups_per_minute: int = 30

    def hosts(self) -> tuple[str, ...]:
        """The effective Host allow-list."""
        from depthstyle.web.guard import LOOPBACK_HOSTS

        if self.allowed_hosts:
            return tuple(self.allowed_hosts)
        extra = () if self.bind_host in ("0.0.0.0", "::", "") else (self.bind_host,)
        return (*LOOPBACK_HOSTS, *extra)

    def validate(self) -> None:
        """Raise :class:`SettingsError` for unusable limits."""
        if self.max_upload_mb <= 0 or self.max_pixels < 256 or not 64 <= self.max_side <= 8192:
            raise SettingsError("max upload must be > 0 MB, max pixels >= 256 and max side "
                                "between 64 and 8192")
        if self.workers < 1 or self.queue < 0 or self.timeout_s <= 0:
            raise SettingsError("workers >= 1, queue >= 0 and timeout > 0 are required")
        if self.study_signups_per_minute < 0:
            raise SettingsError("study signups per minute must be >= 0 (0 = no limit)")

    @property
    def max_upload_bytes(self) -> int:  # noqa: D102
        return int(self.max_upload_mb * 1_000_000)


# --- the stylization job (runs in a worker thread) ------------------------------------------

# --- the app -----------------------------------------------------------------------------------

@dataclass
class _AppState:
    """What the routes depend on; one per app, on ``app.state.web``."""

    config: WebConfig
    catalog: Catalog
    queue: JobQueue
    depth_model: DepthSource | None
    depth_model_name: str | None
    started: float
    stylizer: Stylizer | None = None
    renderer: Renderer | None = None

    def attach(self, stylizer: Stylizer) -> None:
        self.stylizer = stylizer
        self.renderer = Renderer(stylizer, self.depth_model, self.config)


def _state(request: Request) -> _AppState:
    """Route dependency: the app's state, once the model is loaded."""
    st: _AppState = request.app.state.web
    if st.stylizer is None:
        raise HTTPException(503, "the model is still loading")
    return st


State = Annotated[_AppState, Depends(_state)]
_STATIC = Path(str(resources.files("depthstyle") / "web" / "static"))
router = APIRouter()


@router.get("/", include_in_schema=False)
async def index():  # noqa: D103
    return FileResponse(_STATIC / "index.html", media_type="text/html")


@router.get("/api/health", response_model=Health, summary="Status, queue and cache counters")
async def health(st: State):  # noqa: D103
    stylizer, config = st.stylizer, st.config
    return Health(status="ok", model=stylizer.model_name, device=str(stylizer.device),
                  depth_model=st.depth_model_name if st.depth_model is not None else None,
                  uptime_s=round(time.monotonic() - st.started, 1), queue=st.queue.stats(),
                  style_cache=stylizer.cache_info(),
                  limits={"max_upload_mb": config.max_upload_mb,
                          "max_pixels": config.max_pixels, "max_side": config.max_side,
                          "preview_side": config.preview_side},
                  defaults={"alpha": 1.0, "offset": DEFAULT_OFFSET,
                            "contrast": DEFAULT_CONTRAST,
                            "texture_match": DEFAULT_TEXTURE_MATCH})


@router.get("/api/models", response_model=list[ModelInfo], summary="Known models")
async def models(st: State):  # noqa: D103
    from depthstyle.weights import REGISTRY

    stylizer = st.stylizer
    top = stylizer.decode_level
    loaded = ModelInfo(name=stylizer.model_name, description="the loaded model", loaded=True,
                       levels=list(stylizer.level_names[: top + 1]), decode_level=top + 1,
                       learned_strength=stylizer.has_learned_strength)
    out = [loaded]
    for name, entry in REGISTRY.items():
        if name == stylizer.model_name:
            out[0] = loaded.model_copy(update={"description": entry.description})
        else:
            out.append(ModelInfo(name=name, description=entry.description, loaded=False))
    return out


@router.get("/api/styles", response_model=list[ItemInfo], summary="Bundled example styles")
async def styles(st: State):  # noqa: D103
    return [it.public("styles") for it in st.catalog.styles.values()]


@router.get("/api/examples", response_model=list[ItemInfo], summary="Bundled example contents")
async def examples(st: State):  # noqa: D103
    return [it.public("examples") for it in st.catalog.contents.values()]


def _lookup(table: dict[str, CatalogItem], item_id: str, what: str) -> CatalogItem:
    if item_id not in table:
        raise HTTPException(404, f"unknown {what} {item_id!r}; known: {', '.join(table)}")
    return table[item_id]


@router.get("/api/styles/{style_id}/image", responses=ERROR_RESPONSES,
            summary="A bundled style image")
async def style_image(style_id: str, st: State):  # noqa: D103
    return FileResponse(_lookup(st.catalog.styles, style_id, "style").path)


@router.get("/api/examples/{example_id}/image", responses=ERROR_RESPONSES,
            summary="A bundled example content image")
async def example_image(example_id: str, st: State):  # noqa: D103
    return FileResponse(_lookup(st.catalog.contents, example_id, "example").path)


@router.post(
    "/api/stylize", responses={**ERROR_RESPONSES, 200: {
        "content": {"image/png": {}, "image/jpeg": {},
                    "application/json": {"schema": StylizeJSON.model_json_schema()}},
        "description": "the stylized image, or JSON with base64 images"}},
    response_class=Response, summary="Stylize an image")
async def stylize(  # noqa: D103
    request: Request,
    st: State,
    content: Annotated[UploadFile | None, File(description="content image")] = None,
    content_example: Annotated[str | None, Form(
        description="id of a bundled example instead of an upload (GET /api/examples)")
    ] = None,
    style: Annotated[UploadFile | None, File(description="style image")] = None,
    style_id: Annotated[str | None, Form(
        description="id of a bundled style instead of an upload (GET /api/styles)")] = None,
    depth: Annotated[UploadFile | None, File(
        description="optional depth or disparity map (PNG 8/16-bit, TIFF, .npy, .pfm)")
    ] = None,
    depth_kind: Annotated[Literal["depth", "disparity"], Form(
        description="how to read the depth map: depth (larger = farther) or disparity")
    ] = "depth",
    strength: Annotated[Literal["proximity", "learned", "uniform"], Form(
        description="proximity: the hand-set transform of the depth; learned: the model's "
                    "learned strength module; uniform: alpha everywhere (plain AdaIN)")
    ] = "proximity",
    alpha: Annotated[float, Form(ge=0, le=1, description="global strength")] = 1.0,
    offset: Annotated[float, Form(ge=0, le=1, description="strength of the nearest "
                                  "regions as a fraction of alpha")] = DEFAULT_OFFSET,
    contrast: Annotated[float, Form(ge=0, le=1000, description="sharpness of the "
                                    "near/far split")] = DEFAULT_CONTRAST,
    levels: Annotated[str, Form(max_length=64, description="comma-separated encoder levels "
                                "(1-based numbers or names); empty = the model's default")] = "",
    invert: Annotated[bool, Form(description="stylize near regions instead")] = False,
    texture_match: Annotated[float, Form(ge=0, le=1, description="how far the output's "
                                         "luminance texture is moved to the painting's where "
                                         "it is stylized (docs/method.md 5d); 0 = off")
                              ] = DEFAULT_TEXTURE_MATCH,
    detail: Annotated[Literal["blend", "residual", "off", "true", "false"], Form(
        description="how the photo comes back where strength is low (docs/method.md 5b): blend "
                    "(one decoder pass), residual (two), off; true/false mean blend/off")
    ] = "blend",
    preserve_color: Annotated[Literal["none", "luminance", "histogram"], Form()] = "none",
    size: Annotated[int, Form(ge=16, description="longer side of the output (at most the "
                              "content's own and the server's max_side)")] = 512,
    format: Annotated[Literal["png", "jpeg", "json"], Form(
        description="png/jpeg image, or json with base64 result and maps")] = "png",
):
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise HTTPException(415, "send the request as multipart/form-data")
    # an empty value would silently become the default: say so instead ("levels" documents
    # empty as "the model's default")
    empty = sorted({k for k, v in (await request.form()).multi_items()
                    if isinstance(v, str) and not v.strip() and k != "levels"})
    if empty:
        raise SettingsError(f"empty form field(s): {', '.join(empty)}; leave a field out to "
                            "use its default")
    config, catalog = st.config, st.catalog
    if size > config.max_side:
        raise SettingsError(f"size: {size} exceeds this server's max_side {config.max_side}")
    if (content is None) == (content_example is None):
        raise SettingsError("give exactly one of content (upload) and content_example")
    if (style is None) == (style_id is None):
        raise SettingsError("give exactly one of style (upload) and style_id")
    settings = StyleSettings.from_options(
        strength=strength, levels=levels, alpha=alpha, offset=offset, contrast=contrast,
        invert=invert, detail={"true": True, "false": False}.get(detail, detail),
        texture_match=texture_match,
        preserve_color=preserve_color, content_size=size,
        style_size=config.style_size)
    st.stylizer.check(settings)
    job = Job(
        content=await read_upload(content, "content") if content is not None else
        _lookup(catalog.contents, content_example, "example"),
        style=await read_upload(style, "style") if style is not None else
        _lookup(catalog.styles, style_id, "style"),
        depth=await read_upload(depth, "depth"), depth_kind=depth_kind,
        settings=settings, fmt=format)
    renderer = st.renderer
    data, media, headers = await st.queue.run(lambda: renderer(job))
    return Response(data, media_type=media, headers=headers)


@asynccontextmanager
async def _lifespan(app):
    st: _AppState = app.state.web
    if st.stylizer is None:  # the model loads here, once, not when the app is built
        st.attach(Stylizer())
    yield
    st.queue.shutdown()


def create_app(stylizer: Stylizer | None = None, config: WebConfig | None = None, *,
               depth_model: DepthSource | None = None, depth_model_name: str | None = None,
               study_store=None):
    """Build the FastAPI app around a :class:`Stylizer`.

    Args:
        stylizer: a loaded pipeline; ``None`` loads the bundled model in the app's lifespan
            (at server start-up).
        config: limits (:class:`WebConfig`).
        depth_model: a monocular depth source for uploads without a depth map (``None`` =
            those get uniform strength, and the answer says ``depth_source: "none"``).
        depth_model_name: shown by ``/api/health``.
        study_store: a :class:`~depthstyle.study.StudyStore` whose studies are served at
            ``/study/NAME`` (``None``: no studies).

    Returns:
        A FastAPI application; serve it with uvicorn.
    """
    config = config or WebConfig()
    config.validate()
    state = _AppState(config=config, catalog=load_catalog(),
                      queue=JobQueue(config.workers, config.queue, config.timeout_s),
                      depth_model=depth_model, depth_model_name=depth_model_name,
                      started=time.monotonic())
    if stylizer is not None:
        state.attach(stylizer)
    app = FastAPIOffline(
        title="depthstyle", lifespan=_lifespan,
        description="Depth-aware arbitrary style transfer (AdaIN with proximity-controlled "
                    "strength). Errors are JSON: `{\"error\": {\"status\", \"type\", "
                    "\"message\"}}`.")
    app.state.web = state
    app.add_middleware(InternalErrors)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_upload_bytes)
    # outermost: refuse foreign hosts, cross-site posts and requests over capacity before any
    # body is read
    app.add_middleware(RequestGuard, allowed_hosts=config.hosts(),
                       allowed_origins=config.allowed_origins,
                       capacity=config.workers + config.queue)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.include_router(router)
    from depthstyle.web.study import study_router

    app.state.study_store = study_store
    app.include_router(study_router(signups_per_minute=config.study_signups_per_minute))
    return app
