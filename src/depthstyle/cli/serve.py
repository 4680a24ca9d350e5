"""``depthstyle serve``: the web app and JSON API."""

from __future__ import annotations

import argparse
from pathlib import Path

from depthstyle.cli.common import (
    EXIT_OK,
    add_backend_options,
    add_common,
    add_depth_size_option,
    add_model_options,
    log,
    make_stylizer,
    positive_float,
    positive_int,
)
from depthstyle.errors import DepthStyleError

# --- serve -------------------------------------------------------------------------------------

def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from depthstyle.web import WebConfig, create_app
    except ImportError as exc:
        raise DepthStyleError(f"the web app needs the 'web' extra ({exc.name} is missing): "
                              "pip install 'depthstyle[web]'") from None
    from depthstyle.depth import AutoDepth, ConstantDepth

    config = WebConfig(max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels,
                       max_side=args.max_side, preview_side=args.preview_side,
                       workers=args.workers, queue=args.queue, timeout_s=args.timeout,
                       allowed_hosts=tuple(args.allowed_host or ()),
                       allowed_origins=tuple(args.allow_origin or ()), bind_host=args.host,
                       study_signups_per_minute=args.study_signups_per_minute)
    config.validate()
    if args.study_db and "://" not in args.study_db and not Path(args.study_db).is_file():
        raise DepthStyleError(f"{args.study_db}: no study database there; create one with "
                              "depthstyle study create ... --db PATH")
    stylizer = make_stylizer(args, tile_size=2048)
    depth_model = None
    if args.depth_model != "none":
        # the order of --depth auto: on disk, else downloaded once (unless offline), else none
        depth_model = AutoDepth(args.depth_model, device=stylizer.device,
                                resolution=args.depth_resolution,
                                download=not args.no_download)
        if isinstance(depth_model.model(), ConstantDepth):  # warned once, with the remedy
            if args.depth_model_required:
                raise DepthStyleError(f"no depth model {args.depth_model!r} and "
                                      "--depth-model-required was given")
            depth_model = None
    study_store = None
    if args.study_db:
        from depthstyle.study import StudyStore

        study_store = StudyStore(args.study_db)
        names = study_store.studies()
        if not names:
            raise DepthStyleError(f"{args.study_db}: no studies yet; create one with "
                                  "depthstyle study create")
        for name in names:
            log.info("study page: http://%s:%d/study/%s", args.host, args.port, name)
    app = create_app(stylizer, config, depth_model=depth_model,
                     depth_model_name=args.depth_model if depth_model is not None else None,
                     study_store=study_store)
    log.info("serving %s on http://%s:%d (Ctrl+C stops)", stylizer.model_name, args.host,
             args.port)
    uvicorn.run(app, host=args.host, port=args.port,
                log_level="error" if args.quiet else "info" if args.verbose else "warning")
    return EXIT_OK


def add_parser(sub) -> None:
    """Add the ``serve`` subcommand."""
    from depthstyle.depth import DEFAULT_DEPTH_MODEL
    from depthstyle.io import DEFAULT_MAX_PIXELS

    p = sub.add_parser(
        "serve", help="web app and HTTP API (browser page, JSON API, OpenAPI at /docs)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start the web app: open the printed address in a browser, pick or upload "
                    "a photo and a painting, move the sliders, download the result. The same "
                    "server answers the JSON API documented at /docs.",
        epilog="examples:\n  depthstyle serve                       # http://127.0.0.1:8000\n"
               "  depthstyle serve --port 8080 --workers 2 --queue 16\n"
               "  depthstyle serve --depth-model ./depth-anything-v2-small   # local model\n\n"
               "The server listens on 127.0.0.1 only unless --host says otherwise; it has no "
               "authentication, so think twice before --host 0.0.0.0.")
    g = p.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                   "%(default)s, this machine only)")
    g.add_argument("--port", type=positive_int, default=8000, help="port (default: %(default)s)")
    g.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a name clients may use in the Host header (repeatable; default: "
                        "127.0.0.1, localhost, ::1 and --host); '*' = any, for a reverse proxy "
                        "that checks it")
    g.add_argument("--allow-origin", action="append", metavar="ORIGIN",
                   help="another site whose pages may POST here, e.g. https://a.example "
                        "(repeatable; default: same origin only)")
    g.add_argument("--workers", type=positive_int, default=1,
                   help="stylizations running at once (default: %(default)s)")
    g.add_argument("--queue", type=int, default=8,
                   help="requests that may wait; more get 503 (default: %(default)s)")
    g.add_argument("--timeout", type=positive_float, default=120.0, metavar="S",
                   help="seconds per request, waiting included; slower ones get 503 "
                        "(default: %(default)s)")
    g.add_argument("--max-upload-mb", type=positive_float, default=20.0, metavar="MB",
                   help="largest request body (default: %(default)s)")
    g.add_argument("--max-pixels", type=positive_int, default=min(DEFAULT_MAX_PIXELS,
                                                                   25_000_000),
                   help="largest uploaded image in pixels (default: %(default)s)")
    g.add_argument("--max-side", type=positive_int, default=2048, metavar="PX",
                   help="largest output side a request may ask for (default: %(default)s)")
    g.add_argument("--preview-side", type=positive_int, default=320, metavar="PX",
                   help="output side of the live preview (default: %(default)s)")
    g.add_argument("--study-db", default=None, metavar="PATH|URL",
                   help="also serve the preference studies of this database at /study/NAME "
                        "(SQLite file or postgresql:// URL; `depthstyle study create`)")
    g.add_argument("--study-signups-per-minute", type=int, default=30, metavar="N",
                   help="new participants one client address may register per minute, 429 "
                        "beyond (0 = no limit; raise it behind a proxy that shows every "
                        "participant as one address; default: %(default)s)")
    add_model_options(p)
    add_backend_options(p)
    g = p.add_argument_group("depth")
    g.add_argument("--depth-model", default=DEFAULT_DEPTH_MODEL, metavar="ID|DIR|none",
                   help="depth model for uploads without a depth map: found on disk, else "
                        "downloaded once at start (default: %(default)s; 'none' = never)")
    g.add_argument("--no-download", action="store_true",
                   help="never download the depth model (also DEPTHSTYLE_OFFLINE=1)")
    g.add_argument("--depth-model-required", action="store_true",
                   help="fail instead of serving without a depth model")
    add_depth_size_option(g)
    add_common(p)
    p.set_defaults(func=_cmd_serve)
