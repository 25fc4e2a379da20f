"""Synthetic blur on the batch, on the model's device (``data.degrade_on=gpu``).

Blurring a crop on the CPU costs an FFT convolution per item, which a loader with a few
workers cannot keep up with at GPU step rates. With ``degrade_on=gpu`` a training item
carries, instead of its ``input``, the sharp ``source`` window around its crop (the crop
plus the kernel radius on every side, numpy-``"symmetric"`` padded where it meets the
frame's border, exactly what :func:`~restoregan.data.degradations.blur_image` pads) and
its ``kernel`` centre-padded to one odd size. :func:`blur_batch`, called by the
datamodule's ``on_after_batch_transfer``, convolves every sample with its own kernel
(kornia's ``filter2d``, one kernel per sample, ``"valid"`` padding: the window already
holds the border) and rounds to 8 bits as the CPU path does, so the system sees the same
``input`` / ``target`` keys and the same pixels up to float rounding.

Flips and 90-degree rotations are applied in the loader to the window, the target and the
kernel alike (a convolution commutes with them when the kernel is transformed too), so the
augmentation draws are those of the CPU path.
"""

from __future__ import annotations

import numpy as np
import torch
from kornia.filters import filter2d

__all__ = ["DEGRADE_ON", "blur_batch", "centre_pad_kernel", "symmetric_window"]

DEGRADE_ON = ("cpu", "gpu")


def centre_pad_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """``kernel`` zero-padded to ``(size, size)`` with its centre (index ``k // 2``) moved to
    ``size // 2``, so blurring with either gives the same image."""
    kh, kw = kernel.shape
    if size % 2 == 0 or kh > size or kw > size:
        raise ValueError(f"cannot centre a {kh}x{kw} kernel in an odd {size}x{size} one")
    top, left = size // 2 - kh // 2, size // 2 - kw // 2
    out = np.zeros((size, size), np.float32)
    out[top : top + kh, left : left + kw] = kernel
    return out


def symmetric_window(image: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """``image[top:top+height, left:left+width]`` where the window may overhang the border
    by up to the window's overlap with the image: the overhang is mirrored with the edge
    pixel repeated (numpy ``"symmetric"``), as :func:`blur_image` pads the whole frame."""
    h, w = image.shape[:2]
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + height, h), min(left + width, w)
    pad = [(t0 - top, top + height - t1), (l0 - left, left + width - l1)]
    pad += [(0, 0)] * (image.ndim - 2)
    return np.pad(image[t0:t1, l0:l1], pad, mode="symmetric")


def _trim(source: torch.Tensor, kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the shared zero border off the batch's kernels and the matching margin off the
    windows: kernels are padded to the sampler's largest possible size, most are smaller,
    and the convolution's cost grows with the kernel's area."""
    size = kernel.shape[-1]
    used = kernel.abs().sum(dim=0) > 0
    rows, cols = used.any(dim=1).nonzero(), used.any(dim=0).nonzero()
    c = size // 2
    radius = int(
        torch.stack([c - rows.min(), rows.max() - c, c - cols.min(), cols.max() - c]).max()
    )
    cut = c - radius
    if cut <= 0:
        return source, kernel
    return source[..., cut:-cut, cut:-cut], kernel[:, cut:-cut, cut:-cut]


def blur_batch(batch: dict) -> dict:
    """Replace a batch's ``source`` windows and ``kernel``s by the blurred ``input``.

    ``source``: ``(B, C, h + K - 1, w + K - 1)`` float in [0, 1]; ``kernel``: ``(B, K, K)``,
    ``K`` odd. Batches without ``source`` (evaluation, ``degrade_on=cpu``) pass unchanged.
    """
    if "source" not in batch:
        return batch
    source, kernel = _trim(batch.pop("source"), batch.pop("kernel"))
    # behaviour="conv" flips the kernel: a convolution, as blur_image's fftconvolve.
    blurred = filter2d(source, kernel.to(source.dtype), padding="valid", behaviour="conv")
    # The CPU path stores its input as 8-bit, as if saved as PNG; so does this one.
    batch["input"] = torch.round(blurred.clamp(0.0, 1.0) * 255.0) / 255.0
    return batch
