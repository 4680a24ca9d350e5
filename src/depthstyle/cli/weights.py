"""``depthstyle info``, ``depthstyle weights`` and ``depthstyle export``: models and their files."""

from __future__ import annotations

import argparse
from pathlib import Path

from depthstyle.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    add_common,
    log,
    positive_int,
)

# --- info / weights ----------------------------------------------------------------------------

def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import numpy
    import PIL
    import torch

    from depthstyle import __version__
    from depthstyle.pipeline import select_device
    from depthstyle.weights import REGISTRY, cache_dir, find_file, offline_dir

    try:
        import transformers

        tf = transformers.__version__
    except ImportError:
        tf = "not installed (pip install 'depthstyle[depth]' for --depth auto)"
    lines = [
        f"depthstyle {__version__}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"torch {torch.__version__}, numpy {numpy.__version__}, pillow {PIL.__version__}",
        f"transformers {tf}",
        f"device (auto): {select_device('auto')}; threads: {torch.get_num_threads()}",
        f"weights cache: {cache_dir()}",
        f"offline weights dir: {offline_dir() or '(DEPTHSTYLE_WEIGHTS_DIR not set)'}",
        "models:",
    ]
    for name, entry in REGISTRY.items():
        present = all(find_file(wf) for wf in entry.files.values())
        lines.append(f"  {name:18s} {'available' if present else 'not downloaded'}  "
                     f"{entry.description}")
    lines += ["depth sources (--depth auto tries them in this order):", *_depth_sources()]
    print("\n".join(lines))
    return EXIT_OK


def _depth_sources() -> list[str]:
    """What ``--depth auto`` can use on this machine, one line each."""
    from depthstyle.depth.catalog import DEPTH_DOWNLOADS
    from depthstyle.depth.download import (
        downloads_disabled,
        find_depth_model,
        hub_endpoint,
    )

    lines = ["  map beside the photo   <stem>.depth.<ext> / <stem>.disparity.<ext> "
             "(png, npy, pfm, tif): always"]
    for short in DEPTH_DOWNLOADS:
        found = find_depth_model(short)
        off = downloads_disabled()
        state = (f"available ({found})" if found is not None else
                 f"not on this machine; downloads off ({off})" if off else
                 f"not on this machine; downloaded on first use from {hub_endpoint()}")
        lines.append(f"  depth model {short}: {state}")
    lines.append("  otherwise              uniform strength (with a warning)")
    return lines


def _cmd_weights(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from depthstyle import weights as W
    from depthstyle.depth.catalog import DEPTH_DOWNLOADS

    if args.name in DEPTH_DOWNLOADS:
        return _depth_weights(args)
    names = [W.get_entry(args.name).name] if args.name else list(W.REGISTRY)
    if args.action == "list":
        for alias, target in W.ALIASES.items():
            if not args.name or W.resolve_name(args.name) == target:
                print(f"{alias} -> {target} (the current release)")
        for n in names:
            e = W.REGISTRY[n]
            print(f"{n}: {e.description}\n  licence: {e.license}\n  source: {e.source}")
            for role, wf in e.files.items():
                where = W.find_file(wf)
                print(f"  {role}: {wf.filename} sha256={wf.sha256 or 'not pinned'} "
                      f"[{'present at ' + str(where) if where else 'absent'}]")
                if wf.note:
                    print(f"    {wf.note}")
        if not args.name:
            for short, entry in DEPTH_DOWNLOADS.items():
                print(f"{short}: depth model {entry.repo}@{entry.pinned_revision} "
                      f"(licence {entry.license}); `depthstyle weights download {short}`")
                print("\n".join(_depth_file_lines(entry)))
        return EXIT_OK
    if args.action == "path":
        for n in names:
            for role, wf in W.REGISTRY[n].files.items():
                print(f"{n}\t{role}\t{W.find_file(wf) or W.cache_dir() / wf.filename}")
        return EXIT_OK
    if args.action == "download":
        for n in names:
            for wf in W.REGISTRY[n].files.values():
                with tqdm(unit="B", unit_scale=True, desc=wf.filename, disable=None) as bar:
                    def progress(done, total, bar=bar):
                        bar.total = total
                        bar.update(done - bar.n)
                    path = W.fetch_file(wf, progress=progress)
                print(f"{wf.filename}: {path}")
        return EXIT_OK
    # verify
    bad = False
    for n in names:
        for role, status in W.verify_model(n).items():
            print(f"{n}\t{role}\t{status}")
            bad |= status.startswith("MISMATCH")
    return EXIT_ERROR if bad else EXIT_OK





def _depth_file_lines(entry) -> list[str]:
    """One line per file of a depth model: name, size where known, pinned sha256."""
    lines = []
    for f in entry.files:
        size = f"{entry.sizes[f]:,} bytes " if f in entry.sizes else ""
        lines.append(f"  {f} {size}sha256={entry.expected_sha256(f) or 'not pinned'}")
    return lines


def _depth_weights(args: argparse.Namespace) -> int:
    """``weights ACTION <depth model>``: download, locate, verify or describe a depth model."""
    from depthstyle.depth.catalog import DEPTH_DOWNLOADS
    from depthstyle.depth.download import (
        download_with_progress,
        find_depth_model,
        model_cache_dir,
    )

    entry = DEPTH_DOWNLOADS[args.name]
    found = find_depth_model(args.name)
    if args.action == "download" and found is None:
        found = download_with_progress(args.name)
    if args.action == "list":
        print(f"{args.name}: depth model {entry.repo}@{entry.pinned_revision} "
              f"(licence {entry.license})")
        print("\n".join(_depth_file_lines(entry)))
    if args.action in ("download", "path"):
        print(found or model_cache_dir(entry))
    if args.action == "verify":
        print(f"{args.name}\t{'ok (' + str(found) + ')' if found else 'missing or changed'}")
        return EXIT_OK if found else EXIT_ERROR
    return EXIT_OK


# --- export ------------------------------------------------------------------------------------

def _cmd_export(args: argparse.Namespace) -> int:
    from depthstyle.export import export_onnx

    manifest = export_onnx(args.model, args.output, opset=args.opset, overwrite=args.overwrite)
    for entry in manifest["files"].values():
        log.info("wrote %s (sha256 %s)", Path(args.output) / entry["name"], entry["sha256"])
    if not args.quiet:
        print(Path(args.output) / "manifest.json")
    return EXIT_OK


def add_parsers(sub) -> None:
    """Add the ``info``, ``weights`` and ``export`` subcommands."""
    p = sub.add_parser("info", help="versions, device, available models")
    add_common(p)
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("weights", help="list, download, verify or locate model weights")
    p.add_argument("action", choices=("list", "download", "verify", "path"),
                   help="list: names, licences, files; download: fetch into the cache; "
                        "verify: check digests; path: where each file is")
    p.add_argument("name", nargs="?", help="model name (default: all), or the depth model "
                   "depth-anything-v2-small")
    add_common(p)
    p.set_defaults(func=_cmd_weights)
    _add_export(sub)


def _add_export(sub) -> None:
    from depthstyle.export.onnx_export import DEFAULT_OPSET

    p = sub.add_parser(
        "export", help="export the model to ONNX (encoder+AdaIN+decoder and strength transform)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write three ONNX graphs with dynamic image size (style statistics; "
                    "encoder + AdaIN + decoder; the proximity-to-strength transform) and a "
                    "manifest.json with their sha256. Run them with `depthstyle stylize "
                    "--backend onnxruntime --onnx-dir DIR` or any ONNX runtime.",
        epilog="examples:\n  depthstyle export --format onnx -o export/lite0\n"
               "  depthstyle stylize photo.jpg -s painting.jpg -o out.png "
               "--backend onnxruntime --onnx-dir export/lite0")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="export format")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--opset", type=positive_int, default=DEFAULT_OPSET,
                   help="ONNX opset (default: %(default)s)")
    p.add_argument("--model", default="depthstyle-lite0", metavar="NAME|FILE",
                   help="model to export (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export")
    add_common(p)
    p.set_defaults(func=_cmd_export)
