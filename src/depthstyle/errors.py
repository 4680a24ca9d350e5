"""Exceptions with messages meant for users.

Every error a user can cause (a bad file, a bad option, missing weights) is a
:class:`DepthStyleError`; the CLI prints its message on one line and exits non-zero.
"""

from __future__ import annotations

__all__ = [
    "DepthStyleError",
    "ImageReadError",
    "ImageTooLargeError",
    "OutputExistsError",
    "DepthMapError",
    "WeightsError",
    "DownloadError",
    "SettingsError",
]


class DepthStyleError(Exception):
    """Base class of all user-facing errors."""


class ImageReadError(DepthStyleError, ValueError):
    """An input image is missing, empty, corrupt, truncated, unsupported or too large."""


class ImageTooLargeError(ImageReadError):
    """An input image has more pixels than allowed (checked before decoding)."""


class OutputExistsError(DepthStyleError, FileExistsError):
    """An output file exists and overwriting was not allowed."""


class DepthMapError(DepthStyleError, ValueError):
    """A depth/disparity map is unreadable or has unusable values."""


class WeightsError(DepthStyleError):
    """A weights file is missing, corrupt, fails its sha256 check or has the wrong keys."""


class DownloadError(WeightsError):
    """Weights could not be downloaded (offline, HTTP error, hash mismatch)."""


class SettingsError(DepthStyleError, ValueError):
    """An option value is out of range or inconsistent."""
