"""Command-line interface ``depthstyle`` (re-exports only; see :mod:`depthstyle.cli.main`)."""

from depthstyle.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
