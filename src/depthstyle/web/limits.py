"""Request limits of the web app: a body-size guard and a bounded job queue.

* :class:`BodySizeLimit` is a plain ASGI middleware: a POST whose ``Content-Length`` exceeds the
  limit is answered 413 before any of it is read; a body without ``Content-Length`` (chunked) is
  read up to the limit and answered 413 as soon as it passes it. Nothing is written to disk.
* :class:`JobQueue` runs CPU/GPU work in a fixed pool of worker threads: at most ``workers`` jobs
  run, at most ``max_waiting`` wait, and each request gets an answer within ``timeout`` seconds.
  A job that overruns its request's deadline keeps its worker until it ends (threads cannot be
  killed), so the number of running jobs never exceeds ``workers``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["BodySizeLimit", "JobQueue", "QueueFullError", "JobTimeoutError", "error_body",
           "send_error"]

T = TypeVar("T")


def error_body(status: int, kind: str, message: str) -> dict[str, Any]:
    """The JSON body of every error answer: ``{"error": {"status", "type", "message"}}``."""
    return {"error": {"status": status, "type": kind, "message": message}}


class QueueFullError(Exception):
    """All workers are busy and the waiting line is full (HTTP 503)."""


class JobTimeoutError(Exception):
    """A job did not finish within its request's time limit (HTTP 503)."""


async def send_error(send, status: int, kind: str, message: str,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer an ASGI request with the JSON error body, closing the connection."""
    body = json.dumps(error_body(status, kind, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """ASGI middleware: answer 413 with a JSON error to request bodies over ``max_bytes``."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    async def _reject(self, send, status: int, kind: str, message: str) -> None:
        await send_error(send, status, kind, message)

    def _too_large(self) -> str:
        return f"request body exceeds the upload limit of {self.max_bytes / 1e6:.1f} MB"

    async def __call__(self, scope, receive, send) -> None:  # noqa: D102
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await self._reject(send, 400, "bad_request", "invalid Content-Length header")
                return
            if n > self.max_bytes:
                await self._reject(send, 413, "payload_too_large", self._too_large())
                return
            await self.app(scope, receive, send)
            return
        # no Content-Length: buffer up to the limit, then replay the body to the app
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._reject(send, 413, "payload_too_large", self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class JobQueue:
    """A bounded line of blocking jobs run in worker threads, each with a deadline.

    Args:
        workers: jobs that run at the same time (1 suits a CPU: torch already uses all cores).
        max_waiting: jobs that may wait for a worker; one more is refused with
            :class:`QueueFullError`.
        timeout: seconds from arrival to answer, waiting included; past it the request gets
            :class:`JobTimeoutError`.
    """

    def __init__(self, workers: int = 1, max_waiting: int = 8, timeout: float = 60.0) -> None:
        if workers < 1 or max_waiting < 0 or timeout <= 0:
            raise ValueError("workers >= 1, max_waiting >= 0 and timeout > 0 are required")
        self.workers, self.max_waiting, self.timeout = workers, max_waiting, float(timeout)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="depthstyle-job")
        self._slots: asyncio.Semaphore | None = None
        self.running = self.waiting = 0
        self.completed = self.rejected = self.timed_out = 0

    def stats(self) -> dict[str, int | float]:
        """Counters for the health endpoint."""
        return {"workers": self.workers, "max_waiting": self.max_waiting,
                "timeout_s": self.timeout, "running": self.running, "waiting": self.waiting,
                "completed": self.completed, "rejected": self.rejected,
                "timed_out": self.timed_out}

    def _release(self, _future) -> None:
        self.running -= 1
        self.completed += 1
        assert self._slots is not None
        self._slots.release()

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` in a worker thread and return its result (or raise its exception)."""
        if self._slots is None:  # created lazily inside the server's event loop
            self._slots = asyncio.Semaphore(self.workers)
        if self.running + self.waiting >= self.workers + self.max_waiting:
            self.rejected += 1
            raise QueueFullError(f"the server is busy ({self.running} running, {self.waiting} "
                                 "waiting); try again in a moment")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout)
        except TimeoutError:
            self.timed_out += 1
            raise JobTimeoutError(f"no worker became free within {self.timeout:g} s") from None
        finally:
            self.waiting -= 1
        self.running += 1
        future = loop.run_in_executor(self._executor, fn)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
        except TimeoutError:
            self.timed_out += 1
            raise JobTimeoutError(
                f"the job did not finish within {self.timeout:g} s; try a smaller size") from None

    def shutdown(self) -> None:
        """Stop accepting work and let running jobs finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
