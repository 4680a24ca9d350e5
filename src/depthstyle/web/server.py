"""Run the app with uvicorn in a background thread (tests, notebooks, screenshots)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

__all__ = ["free_port", "running_server"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def running_server(app, host: str = "127.0.0.1", port: int | None = None,
                   start_timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` in a thread; yield its base URL; stop it on exit.

    Example:
        >>> with running_server(create_app()) as url:  # doctest: +SKIP
        ...     print(url)
        http://127.0.0.1:54321
    """
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="depthstyle-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
