"""Command-line interface: ``depthstyle COMMAND`` (stylize, optimize, video, serve, export...).

One module per command; shared option groups live in :mod:`depthstyle.cli.common`.

Exit codes: 0 success; 1 a run error (unreadable input, missing weights...) or some inputs of a
batch failed; 2 invalid usage or option values; 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from depthstyle.cli import evaluate, optimize, serve, study, stylize, train, video, weights
from depthstyle.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE
from depthstyle.errors import DepthStyleError, SettingsError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="depthstyle",
        description="Depth-aware arbitrary style transfer: AdaIN whose strength follows the "
                    "scene's depth, so near objects stay recognisable.",
        epilog="run `depthstyle COMMAND --help` for the options of each command")
    from depthstyle import __version__

    parser.add_argument("--version", action="version", version=f"depthstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    stylize.add_parser(sub)
    weights.add_parsers(sub)  # info, weights, export
    train.add_parser(sub)
    evaluate.add_parser(sub)
    video.add_parser(sub)
    serve.add_parser(sub)
    study.add_parser(sub)
    optimize.add_parser(sub)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose > 1 else \
        logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(level=level, format="depthstyle: %(levelname)s: %(message)s",
                        stream=sys.stderr, force=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    _setup_logging(args.verbose, args.quiet)
    from depthstyle.runtime import tune_cpu_allocator

    tune_cpu_allocator()  # reuse large freed buffers (depthstyle.runtime; opt out by env)
    if args.command in ("train", "serve", "export", "optimize") and not args.quiet:
        logging.getLogger("depthstyle").setLevel(logging.INFO)
    if not args.quiet:  # where each photo's depth came from, and depth-model downloads
        for name in ("depthstyle.pipeline", "depthstyle.depth", "depthstyle.progress",
                     "depthstyle.video", "depthstyle.batch", "depthstyle.study"):
            if not logging.getLogger(name).isEnabledFor(logging.INFO):
                logging.getLogger(name).setLevel(logging.INFO)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"depthstyle: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DepthStyleError as exc:
        print(f"depthstyle: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("depthstyle: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `depthstyle weights list | head`: the reader left; no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
