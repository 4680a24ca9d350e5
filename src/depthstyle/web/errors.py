"""How the web app answers errors: every one as JSON ``{"error": {"status", "type", "message"}}``.

:func:`install_error_handlers` maps the library's exceptions to statuses (413 too large, 415 not
an image, 422 invalid values or unusable depth map, 503 busy or over time, with
``Retry-After``); :class:`InternalErrors` turns anything unexpected into one logged traceback
and a JSON 500.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from depthstyle.errors import DepthStyleError, ImageReadError, ImageTooLargeError
from depthstyle.web.limits import JobTimeoutError, QueueFullError, error_body, send_error

__all__ = ["install_error_handlers", "InternalErrors", "error_response"]

log = logging.getLogger("depthstyle.web.app")


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None
           ) -> JSONResponse:
    """The JSON error answer."""
    return JSONResponse(error_body(status, kind, message), status_code=status, headers=headers)


def install_error_handlers(app) -> None:
    """Register the JSON error answers on ``app``."""
    @app.exception_handler(RequestValidationError)
    async def _validation(_request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query"))
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return error_response(422, "invalid_value", "; ".join(parts) or "invalid request")

    @app.exception_handler(HTTPException)
    async def _http(_request, exc: HTTPException):
        kinds = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                 415: "unsupported_media_type", 422: "invalid_value", 429: "too_many_requests"}
        return error_response(exc.status_code, kinds.get(exc.status_code, "http_error"),
                              str(exc.detail), headers=getattr(exc, "headers", None))

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _starlette_http(request, exc):
        return await _http(request, HTTPException(exc.status_code, exc.detail,
                                                  headers=getattr(exc, "headers", None)))

    @app.exception_handler(ImageTooLargeError)
    async def _too_large(_request, exc):
        return error_response(413, "payload_too_large", str(exc))

    @app.exception_handler(ImageReadError)
    async def _unreadable(_request, exc):
        return error_response(415, "unsupported_media_type", str(exc))

    @app.exception_handler(DepthStyleError)  # SettingsError, DepthMapError, ...
    async def _invalid(_request, exc):
        return error_response(422, "invalid_value", str(exc))

    @app.exception_handler(QueueFullError)
    async def _busy(_request, exc):
        return error_response(503, "busy", str(exc), {"Retry-After": "2"})

    @app.exception_handler(JobTimeoutError)
    async def _timeout(_request, exc):
        return error_response(503, "timeout", str(exc), {"Retry-After": "5"})



class InternalErrors:
    """ASGI middleware: an unexpected exception becomes one logged traceback and a JSON 500.

    (A FastAPI handler for ``Exception`` answers too, but Starlette then re-raises the exception
    for the server to log it again: every 500 was logged twice.)
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:  # noqa: BLE001 - the last line of defence, logged once
            log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await send_error(send, 500, "internal_error",
                                 "internal server error (logged on the server)")
