"""The web app and HTTP API (``depthstyle serve``); needs the ``web`` extra (FastAPI, uvicorn)."""

from depthstyle.web.app import WebConfig, create_app

__all__ = ["WebConfig", "create_app"]
