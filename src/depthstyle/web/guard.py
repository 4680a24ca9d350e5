"""The web app's trust boundary and admission, as one ASGI middleware in front of everything.

* **Host check** (DNS rebinding): a page on ``evil.example`` whose name is made to resolve to
  127.0.0.1 reaches a local server with ``Host: evil.example``. Requests whose Host is not in
  the allowed list (default: the loopback names and the address the server is bound to) get
  400.
* **Same origin** for requests that change or cost something (POST, PUT, PATCH, DELETE): a
  browser sends ``Origin`` (or ``Sec-Fetch-Site``) with them; a cross-site form or script gets
  403 unless its origin is listed. Requests without either header (curl, scripts) pass: they are
  not a browser acting for someone else.
* **Admission before the body is kept**: at most ``capacity`` requests to ``/api/stylize`` are
  in flight (reading their upload, waiting or running); one more gets 503 at once. So memory
  grows with admitted requests only, at most ``capacity`` × the upload limit.
* **Refusals are decided by the headers alone.** A refused request's body is never kept; a small
  one (``Content-Length`` up to ``max_drain``, 1 MB) is read and dropped so that the client sees
  the answer rather than a reset connection, and a larger one is not read at all: the answer
  goes out at once and the server closes the connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from depthstyle.web.limits import send_error

__all__ = ["RequestGuard", "LOOPBACK_HOSTS"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _hostname(authority: str) -> str:
    """``example.com:8000`` -> ``example.com``; ``[::1]:8000`` -> ``::1``."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0]
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


class RequestGuard:
    """ASGI middleware: Host allow-list, same-origin check, admission limit (module doc).

    Args:
        app: the wrapped ASGI app.
        allowed_hosts: host names (no port) accepted in ``Host``; ``"*"`` accepts any.
        allowed_origins: extra origins (``https://site.example``) allowed to POST.
        capacity: stylize requests in flight at most (workers + queue).
        guarded_paths: paths counted against ``capacity``.
        max_drain: the largest refused body that is read (and dropped) before the answer;
            a larger declared ``Content-Length`` is answered at once, unread.
    """

    def __init__(self, app, *, allowed_hosts: Iterable[str], allowed_origins: Iterable[str] = (),
                 capacity: int = 9, guarded_paths: tuple[str, ...] = ("/api/stylize",),
                 max_drain: int = 1_000_000) -> None:
        self.app = app
        self.allowed_hosts = {h.strip().lower().strip("[]") for h in allowed_hosts}
        self.allowed_origins = {o.strip().lower().rstrip("/") for o in allowed_origins}
        self.capacity, self.guarded_paths = int(capacity), guarded_paths
        self.max_drain = int(max_drain)
        self.in_flight = 0
        self.refused = 0

    async def _refuse(self, scope, receive, send, status: int, kind: str, message: str,
                      headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """Answer an error; a small body is read and dropped first, a large one never read.

        At most ``max_drain`` bytes are read, none of them kept, so the client reads the answer
        instead of a reset connection. A declared ``Content-Length`` over ``max_drain`` (or an
        invalid one) is answered at once.
        """
        length = dict(scope.get("headers") or []).get(b"content-length")
        try:
            declared = int(length) if length is not None else None
        except ValueError:
            declared = self.max_drain + 1
        if declared is not None and declared > self.max_drain:
            await send_error(send, status, kind, message, headers)
            return
        total = 0
        while total <= self.max_drain:
            message_in = await receive()
            if message_in["type"] != "http.request":
                break
            total += len(message_in.get("body", b""))
            if not message_in.get("more_body", False):
                break
        await send_error(send, status, kind, message, headers)

    def _host_ok(self, host: str) -> bool:
        return "*" in self.allowed_hosts or _hostname(host) in self.allowed_hosts

    def _origin_ok(self, headers: dict[bytes, bytes], host: str, scheme: str) -> bool:
        origin = headers.get(b"origin", b"").decode("latin-1").strip().lower()
        if origin:
            if origin in self.allowed_origins:
                return True
            parts = urlsplit(origin)  # same origin: same scheme and the same host and port
            return (origin != "null" and parts.scheme == scheme.lower()
                    and parts.netloc == host.strip().lower())
        # no Origin: browsers still say where a request comes from in Sec-Fetch-Site
        return headers.get(b"sec-fetch-site", b"same-origin") in (b"same-origin", b"none")

    async def __call__(self, scope, receive, send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not self._host_ok(host):
            await self._refuse(scope, receive, send, 400, "bad_host",
                               f"Host {host!r} is not served here (a guard against DNS "
                               "rebinding); start the server with --allowed-host NAME to "
                               "accept it")
            return
        if scope["method"] in _UNSAFE and not self._origin_ok(headers, host,
                                                               scope.get("scheme", "http")):
            origin = headers.get(b"origin", b"").decode("latin-1") or "another site"
            await self._refuse(scope, receive, send, 403, "cross_origin",
                               f"cross-site request from {origin} refused; start the server "
                               "with --allow-origin ORIGIN to accept it")
            return
        if scope["path"] not in self.guarded_paths or scope["method"] not in _UNSAFE:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.capacity:
            self.refused += 1
            await self._refuse(scope, receive, send, 503, "busy",
                               f"server busy: {self.in_flight} requests in flight (limit "
                               f"{self.capacity}); retry shortly", [(b"retry-after", b"2")])
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
