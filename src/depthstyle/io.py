"""Files and bytes <-> tensors. The only module that touches PIL.

Every reader takes a path or the file's bytes (an upload), with an optional name for messages.

Images become float RGB tensors in [0, 1] of shape (1, 3, H, W). Loading normalises every mode
PIL knows (8/16-bit, greyscale, palette, CMYK, with alpha), applies the EXIF orientation and
refuses images above a pixel limit before decoding them (decompression bombs). Every failure is
an :class:`~depthstyle.errors.ImageReadError` whose message names the file.

Outputs are written atomically: to a temporary file in the target folder, then moved into
place, so an interrupted run never leaves a half-written file, and an existing file is kept
unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from depthstyle.errors import DepthMapError, ImageReadError, ImageTooLargeError, OutputExistsError

__all__ = [
    "ImageSource",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_OUTPUT_SUFFIXES",
    "IMAGE_EXTENSIONS",
    "load_image",
    "load_image_with_alpha",
    "save_image",
    "to_tensor",
    "to_pil",
    "atomic_output",
    "read_map_array",
    "resize_image",
    "square_crop",
    "write_text",
]

DEFAULT_MAX_PIXELS = 40_000_000
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
IMAGE_OUTPUT_SUFFIXES = frozenset(_SAVE_FORMATS)  # what save_image can write

AlphaMode = Literal["composite", "keep"]
ImageSource = str | os.PathLike | bytes  # a file path, or the file's bytes (uploads)


# --- reading ---------------------------------------------------------------------------------

def _label(source: ImageSource, name: str | None) -> str:
    """What error messages call a source: its name, its path, or ``<bytes>``."""
    if name:
        return name
    return "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else str(source)


def _open_checked(source: ImageSource, max_pixels: int, name: str | None = None
                  ) -> Image.Image:
    label = _label(source, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageReadError(f"{label}: the file is empty")
        fp: object = io.BytesIO(bytes(source))
    else:
        p = Path(source)
        if not p.exists():
            raise ImageReadError(f"{label}: no such file")
        if p.is_dir():
            raise ImageReadError(f"{label}: is a folder, not an image file")
        if p.stat().st_size == 0:
            raise ImageReadError(f"{label}: the file is empty")
        fp = p
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except UnidentifiedImageError:
        raise ImageReadError(f"{label}: not a recognised image format "
                             f"(supported: {', '.join(IMAGE_EXTENSIONS)})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(f"{label}: image is too large to decode safely") from None
    except OSError as exc:
        raise ImageReadError(f"{label}: corrupt or truncated image ({exc})") from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ImageTooLargeError(
            f"{label}: {w}x{h} = {w * h / 1e6:.1f} MP exceeds the limit of "
            f"{max_pixels / 1e6:.1f} MP (raise it with --max-pixels / max_pixels=)")
    if w == 0 or h == 0:
        raise ImageReadError(f"{label}: image has zero size")
    return im


def _decode(im: Image.Image, p: Path | str) -> Image.Image:
    """Force a full decode (catches truncation) and apply EXIF orientation."""
    try:
        im.load()
        return ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{p}: corrupt or truncated image ({exc})") from None


def _high_bit_to_float(im: Image.Image) -> np.ndarray:
    arr = np.asarray(im).astype(np.float64)
    if im.mode == "F":
        top = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
    else:  # I;16*, I: 16-bit data unless values exceed it
        top = 65535.0 if arr.max(initial=0) <= 65535 else float(arr.max())
    return np.clip(arr / top, 0.0, 1.0).astype(np.float32)


def _to_rgb_alpha(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (H, W, 3) RGB float32 in [0, 1] and an optional (H, W) alpha."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = _high_bit_to_float(im)
        return np.repeat(grey[..., None], 3, axis=2), None
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "La":  # premultiplied: PIL converts it to RGBA only by way of LA
        im = im.convert("LA").convert("RGBA")
    elif mode in ("LA", "RGBa", "PA"):
        im = im.convert("RGBA")
    elif mode == "L" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        arr = np.asarray(im, dtype=np.float32) / 255.0
        return arr[..., :3], arr[..., 3]
    arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return arr, None


def load_image_with_alpha(
    path: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Load an image (a file path or the file's bytes) as RGB plus its alpha channel, if any.

    ``name`` labels error messages (e.g. an upload's form field); default: the path.

    Returns:
        ``(rgb, alpha)``: rgb (1, 3, H, W) float32 in [0, 1] *not* composited; alpha
        (1, 1, H, W) in [0, 1] or ``None``.

    Raises:
        ImageReadError: missing, empty, unknown format, corrupt/truncated, or over ``max_pixels``.
    """
    label = _label(path, name)
    im = _open_checked(path, max_pixels, label)
    with im:
        im = _decode(im, label)
        try:
            rgb, alpha = _to_rgb_alpha(im)
        except (OSError, ValueError) as exc:
            raise ImageReadError(f"{label}: cannot convert image mode {im.mode} ({exc})") \
                from None
    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
    a = None if alpha is None else torch.from_numpy(np.ascontiguousarray(alpha))[None, None]
    return t, a


def load_image(
    path: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    name: str | None = None,
) -> torch.Tensor:
    """Load an image (a file path or the file's bytes) as a (1, 3, H, W) float32 RGB tensor.

    Values are in [0, 1]. ``name`` labels error messages (default: the path).

    Transparent images are composited over ``background`` (white by default). Use
    :func:`load_image_with_alpha` to keep the alpha channel.

    Raises:
        ImageReadError: see :func:`load_image_with_alpha`.

    Example:
        >>> img = load_image("photo.jpg")  # doctest: +SKIP
        >>> img.shape  # doctest: +SKIP
        torch.Size([1, 3, 480, 640])
    """
    rgb, alpha = load_image_with_alpha(path, max_pixels=max_pixels, name=name)
    if alpha is None:
        return rgb
    bg = torch.tensor(background, dtype=rgb.dtype).view(1, 3, 1, 1)
    return rgb * alpha + bg * (1 - alpha)


def to_tensor(im: Image.Image) -> torch.Tensor:
    """Convert an in-memory PIL image to (1, 3, H, W) RGB in [0, 1] (alpha composited on white)."""
    rgb, alpha = _to_rgb_alpha(ImageOps.exif_transpose(im))
    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
    if alpha is not None:
        a = torch.from_numpy(np.ascontiguousarray(alpha))[None, None]
        t = t * a + (1 - a)
    return t


def to_pil(img: torch.Tensor, alpha: torch.Tensor | None = None) -> Image.Image:
    """Convert (1, 3, H, W) or (3, H, W) in [0, 1] to an 8-bit PIL image (RGBA with ``alpha``)."""
    if img.ndim == 4:
        if img.shape[0] != 1:
            raise ValueError(f"to_pil takes one image, got a batch of {img.shape[0]}")
        img = img[0]
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f"expected (3, H, W) RGB, got {tuple(img.shape)}")
    arr = (img.detach().float().clamp(0, 1).cpu() * 255).round().to(torch.uint8)
    arr = arr.permute(1, 2, 0).numpy()
    if alpha is not None:
        a = (alpha.detach().float().reshape(arr.shape[:2]).clamp(0, 1).cpu() * 255).round()
        arr = np.concatenate([arr, a.to(torch.uint8).numpy()[..., None]], axis=2)
        return Image.fromarray(arr, "RGBA")
    return Image.fromarray(arr, "RGB")


def resize_image(img: torch.Tensor, long_side: int | None = None, *, multiple: int = 1,
                 upscale: bool = True) -> torch.Tensor:
    """Resize (B, C, H, W) so the longer side is ``long_side``, keeping the aspect ratio.

    Both sides are then rounded down to a multiple of ``multiple`` (at least ``multiple``).
    Antialiased bicubic when shrinking. ``long_side=None`` keeps the size and only applies the
    multiple; with ``upscale=False`` images already smaller than ``long_side`` are not enlarged.
    """
    h, w = img.shape[-2:]
    if long_side is not None and (upscale or max(h, w) > long_side):
        if long_side < 1:
            raise ValueError(f"size must be positive, got {long_side}")
        s = long_side / max(h, w)
        h, w = max(1, round(h * s)), max(1, round(w * s))
    h = max(multiple, h // multiple * multiple)
    w = max(multiple, w // multiple * multiple)
    if (h, w) == tuple(img.shape[-2:]):
        return img
    return torch.nn.functional.interpolate(
        img, size=(h, w), mode="bicubic", align_corners=False, antialias=True
    ).clamp(0, 1)


def square_crop(img: torch.Tensor, side: int) -> torch.Tensor:
    """Resize (B, C, H, W) so the shorter side is ``side``, then centre-crop a square."""
    h, w = img.shape[-2:]
    img = resize_image(img, round(side * max(h, w) / min(h, w)))
    h, w = img.shape[-2:]
    top, left = (h - side) // 2, (w - side) // 2
    return img[..., top: top + side, left: left + side]


# --- writing ---------------------------------------------------------------------------------

_UMASK_LOCK = threading.Lock()


def _current_umask() -> int:
    """The process umask: from /proc where it is shown, else read and restored under a lock."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it: keep our threads out
        umask = os.umask(0o022)
        os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it into place atomically.

    On any exception the temporary file is removed and ``path`` is untouched.

    Raises:
        OutputExistsError: if ``path`` exists and ``overwrite`` is false (checked before and,
            without overwrite, enforced atomically at the final link).
    """
    dst = Path(path)
    if dst.exists() and not overwrite:
        raise OutputExistsError(f"{dst}: exists (use --overwrite / overwrite=True to replace it)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the usual mode of a new file instead
        tmp.chmod(0o666 & ~_current_umask())
        if overwrite:
            os.replace(tmp, dst)
        else:
            try:
                os.link(tmp, dst)  # fails if dst appeared meanwhile: never clobber
            except FileExistsError:
                raise OutputExistsError(f"{dst}: exists (use --overwrite to replace it)") from None
            except OSError:  # filesystems without hard links
                if dst.exists():
                    raise OutputExistsError(f"{dst}: exists (use --overwrite)") from None
                os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write a text file (JSON, CSV...) atomically; see :func:`atomic_output`."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)


def save_image(
    img: torch.Tensor,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    quality: int = 95,
    alpha: torch.Tensor | None = None,
) -> Path:
    """Write (1, 3, H, W) RGB in [0, 1] to ``path`` atomically; the format follows the suffix.

    Args:
        alpha: optional (1, 1, H, W) alpha to store (PNG, WebP, TIFF; ignored with a JPEG/BMP).

    Raises:
        ValueError: unknown output suffix.
        OutputExistsError: ``path`` exists and ``overwrite`` is false.
    """
    dst = Path(path)
    fmt = _SAVE_FORMATS.get(dst.suffix.lower())
    if fmt is None:
        raise ValueError(f"{dst}: unknown output format {dst.suffix!r}; use one of "
                         f"{', '.join(sorted(_SAVE_FORMATS))}")
    if fmt in ("JPEG", "BMP"):
        alpha = None
    pil = to_pil(img, alpha)
    with atomic_output(dst, overwrite=overwrite) as tmp:
        kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
        pil.save(tmp, format=fmt, **kwargs)
    return dst


# --- numeric maps (depth, disparity, masks) --------------------------------------------------

def _binary(source: ImageSource) -> tuple[io.BufferedIOBase, int]:
    """A readable handle on a file or on bytes, and its size in bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return io.BytesIO(data), len(data)
    p = Path(source)
    return open(p, "rb"), p.stat().st_size  # noqa: SIM115 - the caller closes it


def _check_declared(label: str, what: str, count: int, max_pixels: int) -> None:
    if count > max_pixels:
        raise DepthMapError(f"{label}: the {what} header declares {count:,} values, over the "
                            f"limit of {max_pixels:,} pixels; refused before reading it")


def _read_pfm(source: ImageSource, label: str, max_pixels: int = DEFAULT_MAX_PIXELS
              ) -> np.ndarray:
    """A PFM map; its header is checked against ``max_pixels`` and the file size first."""
    f, size = _binary(source)
    with f:
        header = f.readline(16).strip()
        if header not in (b"PF", b"Pf"):
            raise DepthMapError(f"{label}: not a PFM file (header {header[:8]!r})")
        dims = f.readline(64).split()
        scale_line = f.readline(64).strip()
        try:
            w, h = int(dims[0]), int(dims[1])
            scale = float(scale_line)
        except (IndexError, ValueError):
            raise DepthMapError(f"{label}: malformed PFM header") from None
        if w <= 0 or h <= 0 or not np.isfinite(scale) or scale == 0:
            raise DepthMapError(f"{label}: PFM header gives {w}x{h} pixels and scale {scale}; "
                                "width and height must be positive, the scale non-zero")
        channels = 3 if header == b"PF" else 1
        _check_declared(label, "PFM", w * h, max_pixels)
        expected = w * h * channels * 4
        if size - f.tell() != expected:
            raise DepthMapError(f"{label}: PFM holds {(size - f.tell()) // 4} values, expected "
                                f"{w}x{h}x{channels}")
        raw = f.read(expected)
    dtype = "<f4" if scale < 0 else ">f4"
    arr = np.frombuffer(raw, dtype=dtype).reshape(h, w, channels)[::-1, :, 0]  # bottom to top
    return np.ascontiguousarray(arr, dtype=np.float32)


def _read_npy(source: ImageSource, label: str, max_pixels: int = DEFAULT_MAX_PIXELS
              ) -> np.ndarray:
    """A ``.npy`` array; its header is checked against ``max_pixels`` and the file size first."""
    from numpy.lib import format as npformat

    f, size = _binary(source)
    with f:
        try:
            version = npformat.read_magic(f)
            read_header = (npformat.read_array_header_1_0 if version == (1, 0)
                           else npformat.read_array_header_2_0)  # 2.0 and 3.0: 4-byte length
            shape, fortran, dtype = read_header(f, max_header_size=1 << 16)
        except (OSError, ValueError) as exc:
            raise DepthMapError(f"{label}: not a readable .npy array ({exc})") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        _check_declared(label, ".npy", count, max_pixels)
        if dtype.hasobject:
            raise DepthMapError(f"{label}: not a readable .npy array (it holds Python objects, "
                                "which are never unpickled)")
        expected = count * dtype.itemsize
        if size - f.tell() != expected:
            raise DepthMapError(f"{label}: .npy holds {size - f.tell():,} bytes of data, its "
                                f"header declares {expected:,} ({shape}, {dtype})")
        raw = f.read(expected)
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def read_map_array(path: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                   name: str | None = None) -> np.ndarray:
    """Read a single-channel numeric map (depth, disparity, mask) as (H, W) float32.

    ``path`` is a file or the file's bytes (the format is then recognised from its content).
    Supports 8/16-bit PNG/TIFF (raw values, not rescaled), ``.npy`` (2-D, or 3-D with one
    channel; real numbers only) and ``.pfm``. Colour images are converted to greyscale
    luminance. ``name`` labels error messages (default: the path).

    Raises:
        DepthMapError: missing, unreadable, or not a 2-D map of real numbers.
    """
    label = _label(path, name)
    if isinstance(path, (bytes, bytearray, memoryview)):
        data = bytes(path)
        kind = "npy" if data.startswith(b"\x93NUMPY") else \
            "pfm" if data[:2] in (b"PF", b"Pf") else "image"
    else:
        p = Path(path)
        if not p.is_file():
            raise DepthMapError(f"{label}: no such file")
        suffix = p.suffix.lower()
        kind = {".npy": "npy", ".pfm": "pfm"}.get(suffix, "image")
        data = p
    if kind == "npy":
        arr = _read_npy(data, label, max_pixels)
    elif kind == "pfm":
        arr = _read_pfm(data, label, max_pixels)
    else:
        try:
            im = _open_checked(path, max_pixels, label)
        except ImageReadError as exc:
            raise DepthMapError(str(exc)) from None
        with im:
            try:
                im = _decode(im, label)
            except ImageReadError as exc:
                raise DepthMapError(str(exc)) from None
            if im.mode in ("RGB", "RGBA", "P", "CMYK", "LA", "YCbCr"):
                im = im.convert("L")
            arr = np.asarray(im)
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[0] == 1:  # (1, H, W): one channel first
        arr = arr[0]
    elif arr.ndim == 3 and arr.shape[-1] == 1:  # (H, W, 1): one channel last
        arr = arr[..., 0]
    if arr.ndim != 2 or not (np.issubdtype(arr.dtype, np.integer)
                             or np.issubdtype(arr.dtype, np.floating)):
        raise DepthMapError(f"{label}: expected a 2-D map of real numbers, got shape "
                            f"{arr.shape} and dtype {arr.dtype}")
    if arr.size > max_pixels:
        raise DepthMapError(f"{label}: map of {arr.size:,} values exceeds the limit of "
                            f"{max_pixels:,} pixels")
    return arr.astype(np.float32)
