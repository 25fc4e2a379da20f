"""Image files <-> arrays <-> tensors, and the data layer's exception family.

Every image enters the suite through :func:`read_image`, which returns 8-bit RGB whatever
the file holds, and raises :class:`ImageReadError` (never a PIL or OpenCV trace) for a
file that is missing, not an image, or truncated. A user's own photos enter through
:func:`read_photo` instead: EXIF orientation applied, and the metadata
(:class:`PhotoInfo`: EXIF, ICC profile, JPEG quantisation) that :func:`write_image`
carries over to the restored file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from restoregan.files import atomic_open

__all__ = [
    "IMAGE_EXTENSIONS",
    "DatasetError",
    "ImageReadError",
    "ImageWriteError",
    "PhotoInfo",
    "read_image",
    "read_kernel",
    "read_mask",
    "read_photo",
    "to_tensor",
    "to_uint8",
    "write_image",
    "write_kernel",
]

#: File name endings the dataset scanners treat as images (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ORIENTATION = 0x0112  # the EXIF tag
# Formats whose Pillow writers store an EXIF block and an ICC profile (BMP has neither).
_METADATA_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
# Without the input's tables (a PNG saved as .jpg), PIL's default of 75 visibly softens
# the detail a deblurring network just restored.
DEFAULT_JPEG_QUALITY = 95
_EXPECTED = "expected a readable PNG/JPEG (or BMP/TIFF/WebP) image"


class DatasetError(ValueError):
    """Bad dataset input: the message names the file or folder, what was expected and found."""


class ImageReadError(DatasetError):
    """An image file is missing, is not an image, or is truncated/corrupt."""


class ImageWriteError(DatasetError):
    """An image file cannot be written (no permission, no space)."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as 8-bit RGB.

    Conversions: grayscale (8 or 16 bit) is replicated to 3 channels; alpha (RGBA,
    grayscale+alpha, palette with transparency) is DROPPED, keeping the stored colour
    rather than compositing on a background; palette images are expanded; 16-bit images
    are scaled 0..65535 -> 0..255 with rounding (``round(v / 257)``). EXIF orientation is
    ignored so that a pair of files stays pixel-aligned as stored.

    Returns:
        ``(H, W, 3)`` uint8 array in RGB order.

    Raises:
        ImageReadError: the file is missing, not an image, or truncated.
    """
    path = Path(path)
    if not path.is_file():
        what = "a directory" if path.is_dir() else "nothing"
        raise ImageReadError(f"Cannot read image '{path}': {_EXPECTED}, found {what} there.")
    try:
        with Image.open(path) as im:
            # Image.open is lazy: load() forces the full decode, which is where a
            # truncated PNG/JPEG fails.
            im.load()
            array = _pil_to_rgb8(im, path)
    except (
        OSError,
        SyntaxError,
        ValueError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
    ) as err:
        raise ImageReadError(
            f"Cannot read image '{path}': {_EXPECTED}; the file is not an image or is "
            f"truncated/corrupt ({type(err).__name__}: {err}). Re-export or re-download it."
        ) from None
    return np.ascontiguousarray(array)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a blur mask: a single-channel image, 1 (white) where the input is blurred.

    8-bit masks map 0..255 to [0, 1]; 16-bit masks 0..65535; 1-bit masks 0/1. Masks are
    read as stored (no alpha, no palette, no colour): a colour mask is ambiguous, so it is
    refused rather than guessed at.

    Returns:
        ``(H, W)`` float32 in [0, 1].

    Raises:
        ImageReadError: unreadable file; DatasetError: not a single-channel image.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"Cannot read mask '{path}': no file there.")
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            array = np.asarray(im)
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as err:
        raise ImageReadError(
            f"Cannot read mask '{path}': the file is not an image or is truncated/corrupt "
            f"({type(err).__name__}: {err})."
        ) from None
    if mode == "1":
        return array.astype(np.float32)
    if mode == "L":
        return array.astype(np.float32) / 255.0
    if mode.startswith("I;16") or mode == "I":
        return np.clip(array.astype(np.float64) / 65535.0, 0.0, 1.0).astype(np.float32)
    raise DatasetError(
        f"Mask '{path}' is a {mode} image with {len(mode)} band(s); expected a single-channel "
        f"(grayscale) mask, white (1) where the input is blurred. Convert it, e.g. "
        f"PIL.Image.open(p).convert('L').save(p), after checking which channel holds the mask."
    )


def write_kernel(path: str | os.PathLike, kernel: np.ndarray) -> None:
    """Save a 2-D blur kernel as ``.npy`` (float32), atomically like :func:`write_image`."""
    with atomic_open(path, "wb") as f:
        np.save(f, np.asarray(kernel, dtype=np.float32))


def read_kernel(path: str | os.PathLike) -> np.ndarray:
    """Read a ``.npy`` blur kernel: ``(kh, kw)`` float32, non-negative, summing to 1.

    Raises:
        DatasetError: missing or unreadable file, or not a non-negative 2-D array.
    """
    path = Path(path)
    try:
        kernel = np.load(path, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as err:
        raise DatasetError(
            f"Cannot read blur kernel '{path}': expected a 2-D float .npy file "
            f"({type(err).__name__}: {err})."
        ) from None
    if kernel.ndim != 2 or not np.isfinite(kernel).all() or kernel.min() < 0 or kernel.sum() <= 0:
        raise DatasetError(
            f"'{path}' is not a blur kernel: expected a finite non-negative 2-D array, found "
            f"shape {kernel.shape}. Regenerate the dataset cache."
        )
    return kernel / kernel.sum()


def _pil_to_rgb8(im: Image.Image, path: Path) -> np.ndarray:
    mode = im.mode
    if mode in ("RGB", "RGBA") and _is_16bit_colour(im, path):
        # PIL has no 16-bit colour mode and silently keeps only the high byte; the file
        # is known to be intact (PIL decoded it), so OpenCV can re-read the full depth.
        bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if bgr is None or bgr.dtype != np.uint16:
            raise ValueError("16-bit colour data could not be decoded")
        return _scale_16_to_8(cv2.cvtColor(bgr[..., :3], cv2.COLOR_BGR2RGB))
    if mode.startswith("I;16") or mode == "I":
        gray = _scale_16_to_8(np.asarray(im).astype(np.int64).clip(0, 65535))
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        raise ValueError("32-bit float images are not supported")
    if mode == "P":
        # Through RGBA so palette transparency is read (and then dropped) without warnings.
        im = im.convert("RGBA")
    elif mode in ("LA", "PA", "La"):
        im = im.convert("L")
    array = np.asarray(im.convert("RGB") if im.mode not in ("RGB", "RGBA") else im)
    return array[..., :3]


def _is_16bit_colour(im: Image.Image, path: Path) -> bool:
    if im.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(26)
        # IHDR is the first chunk: bit depth at byte 24.
        return header[:8] == _PNG_SIGNATURE and header[24] == 16
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def _scale_16_to_8(array: np.ndarray) -> np.ndarray:
    # 65535 = 255 * 257, and v / 257 is never exactly half-way, so rint is plain rounding.
    return np.rint(array.astype(np.float64) / 257.0).astype(np.uint8)


# EXIF orientation -> the array operation that shows the stored pixels upright (the
# transforms of PIL's ImageOps.exif_transpose, on the array so that 16-bit files decoded
# through OpenCV are turned too).
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


@dataclass(frozen=True)
class PhotoInfo:
    """What :func:`read_photo` keeps of a file besides its pixels, for :func:`write_image`.

    Attributes:
        orientation: the EXIF orientation that was applied to the pixels (1 = none).
        exif: the file's EXIF block with the orientation reset to 1 (the pixels are
            upright now), or None.
        icc_profile: the embedded colour profile, or None.
        jpeg_qtables: a JPEG's quantisation tables (its quality setting), or None.
        jpeg_subsampling: a JPEG's chroma subsampling (PIL's code: 0 = 4:4:4, 1 = 4:2:2,
            2 = 4:2:0), or None.
    """

    orientation: int = 1
    exif: bytes | None = None
    icc_profile: bytes | None = None
    jpeg_qtables: Any = None
    jpeg_subsampling: int | None = None


def read_photo(path: str | os.PathLike) -> tuple[np.ndarray, PhotoInfo]:
    """Read a photo as 8-bit RGB turned upright by its EXIF orientation, and its metadata.

    The pixels come from :func:`read_image` (same conversions and errors); unlike it, the
    EXIF orientation is applied, so a phone photo comes out the way viewers show it.
    Unreadable metadata is dropped, never an error: the pixels are what matters.
    """
    array = read_image(path)
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            orientation = int(exif.get(_ORIENTATION, 1) or 1)
            if orientation in _UPRIGHT:
                exif[_ORIENTATION] = 1
            jpeg = im.format == "JPEG"
            sampling = JpegImagePlugin.get_sampling(im) if jpeg else -1
            info = PhotoInfo(
                orientation=orientation if orientation in _UPRIGHT else 1,
                exif=exif.tobytes() if len(exif) else None,
                icc_profile=im.info.get("icc_profile") or None,
                jpeg_qtables=dict(im.quantization) if jpeg and im.quantization else None,
                jpeg_subsampling=sampling if sampling >= 0 else None,
            )
    except (OSError, SyntaxError, ValueError, TypeError):
        return array, PhotoInfo()
    if info.orientation in _UPRIGHT:
        array = np.ascontiguousarray(_UPRIGHT[info.orientation](array))
    return array, info


def _save_options(fmt: str, channels: int, info: PhotoInfo | None, quality: int | None) -> dict:
    options: dict[str, Any] = {}
    if info is not None and fmt in _METADATA_FORMATS:
        options.update(
            {k: v for k, v in (("exif", info.exif), ("icc_profile", info.icc_profile)) if v}
        )
    if fmt == "JPEG":
        tables = info.jpeg_qtables if info is not None else None
        if quality is not None or not tables:
            options["quality"] = DEFAULT_JPEG_QUALITY if quality is None else int(quality)
        else:
            # The input's own tables: the restored file keeps its quality setting exactly.
            tables = [tables[k] for k in sorted(tables)]
            if channels == 3 and len(tables) == 1:  # a grayscale JPEG restored in colour
                tables = tables * 2
            options["qtables"] = tables
            if info.jpeg_subsampling is not None and channels == 3:
                options["subsampling"] = info.jpeg_subsampling
    return options


def write_image(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    png_compression: int = 6,
    info: PhotoInfo | None = None,
    quality: int | None = None,
) -> None:
    """Write an ``(H, W, 3)`` or ``(H, W)`` uint8 array; the format follows the suffix.

    ``png_compression`` is the zlib level for PNG (0-9): 1 encodes about 5x faster than
    the default 6 for files about a quarter larger, a good trade for caches.

    ``info`` (from :func:`read_photo`) carries the source's EXIF block and ICC profile
    into formats that store them (JPEG, PNG, WebP, TIFF) and, for a JPEG written from a
    JPEG, its quantisation tables and chroma subsampling, so the file keeps the input's
    quality setting. ``quality`` (1-100) overrides that; without either, JPEGs are
    written at quality 95.

    Atomic: the image is written to a temporary file in the same folder and moved into
    place with ``os.replace``, so a reader (or a second process) never sees half a file.
    Parent folders are created.
    """
    path = Path(path)
    if (
        array.dtype != np.uint8
        or array.ndim not in (2, 3)
        or (array.ndim == 3 and array.shape[2] != 3)
    ):
        raise ValueError(
            f"write_image('{path}') expects an (H, W, 3) or (H, W) uint8 array, "
            f"got {array.dtype} with shape {array.shape}; convert with to_uint8 first."
        )
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"write_image('{path}'): unknown image suffix '{path.suffix}'.")
    options = _save_options(fmt, 1 if array.ndim == 2 else 3, info, quality)
    if fmt == "PNG":
        options["compress_level"] = png_compression
    try:
        with atomic_open(path, "wb") as f:
            Image.fromarray(array).save(f, format=fmt, **options)
    except OSError as err:  # a folder you cannot write to, a full disk, a vanished folder
        raise ImageWriteError(
            f"Cannot write image '{path}': {err.strerror or err}; expected a folder you can "
            "write to with free space; choose another output or fix its permissions."
        ) from None


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 -> ``(3, H, W)`` float32 in [0, 1]."""
    # A copy, not ascontiguousarray: that returns a read-only PIL-backed array unchanged
    # when the transpose happens to be contiguous already (a 1x1 image).
    return torch.from_numpy(np.array(array.transpose(2, 0, 1), order="C")).float().div_(255.0)


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float in [0, 1] -> ``(H, W, 3)`` uint8, clamped and rounded."""
    scaled = tensor.detach().float().clamp(0.0, 1.0).mul(255.0).round()
    return scaled.to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()
