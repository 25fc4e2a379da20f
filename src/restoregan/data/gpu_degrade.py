"""Synthetic degradation on the batch, on the model's device (``data.degrade_on=gpu``).

Blurring a crop on the CPU costs an FFT convolution per item, which a loader with a few
workers cannot keep up with at GPU step rates. With ``degrade_on=gpu`` a training item
carries, instead of its ``input``, the sharp ``source`` window around its crop (the crop
plus the kernel radius and, for SR, the bicubic footprint on every side,
numpy-``"symmetric"`` padded where it meets the frame's border, as
:func:`~restoregan.data.degradations.blur_image` pads) and its ``kernel`` centre-padded to
one odd size. :func:`degrade_batch`, called by the datamodule's ``on_after_batch_transfer``,
convolves every sample with its own kernel (kornia's ``filter2d``, one kernel per sample,
``"valid"`` padding: the window already holds the border), applies the MATLAB-style
bicubic downsampling as two matrix products (the matrices of
:func:`~restoregan.data.degradations.resize_matrix`) when ``scale`` > 1, and rounds to 8
bits as the CPU path does, so the system sees the same ``input`` / ``target`` keys and the
same pixels up to float rounding. (At scale > 1, within two LR pixels of the frame border,
the CPU mirrors the blurred frame while this path blurs the mirrored one: equal for
symmetric kernels, a slightly different border for motion kernels.)

Flips and 90-degree rotations are applied in the loader to the window, the target and the
kernel alike (blur and bicubic resizing commute with them when the kernel is transformed
too), so the augmentation draws are those of the CPU path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from kornia.filters import filter2d

from restoregan.data.degradations import TrajectoryKernel, resize_matrix
from restoregan.data.io import to_tensor

__all__ = [
    "DEGRADE_ON",
    "centre_pad_kernel",
    "degrade_batch",
    "kernel_bound",
    "sharp_item",
    "symmetric_window",
]

DEGRADE_ON = ("cpu", "gpu")


def bicubic_margin(scale: int) -> int:
    """HR pixels of window kept beyond the blur so the bicubic taps of the crop's LR pixels
    (2 LR pixels each side) never reach the window's edge: 3 LR pixels."""
    return 0 if scale == 1 else 3 * scale


def kernel_bound(kernels: TrajectoryKernel | Sequence[np.ndarray]) -> int:
    """The odd size every kernel is padded to: the largest the source can make (a
    trajectory kernel's radius is at most its path length + 1)."""
    if isinstance(kernels, TrajectoryKernel):
        return 2 * math.ceil(kernels.max_length) + 3
    return max(max(k.shape) for k in kernels) // 2 * 2 + 1


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


def sharp_item(
    source: np.ndarray,
    target: np.ndarray,
    window: tuple[int, int, tuple[int, int]],
    kernel: np.ndarray,
    *,
    scale: int,
    augment: Callable,
    rng: np.random.Generator,
    name: str,
) -> dict:
    """A ``degrade_on=gpu`` training item: the sharp window the crop's degradation reads,
    the target crop and the padded ``(K, K)`` kernel, flipped/rotated alike by ``augment``
    (a :class:`~restoregan.data.transforms.PairedAugment`) with the item's ``rng``.

    ``window`` is ``(top, left, (h, w))`` of the target crop in ``source`` / ``target``.
    """
    (top, left, (h, w)), m = window, kernel.shape[0] // 2 + bicubic_margin(scale)
    src = symmetric_window(source, top - m, left - m, h + 2 * m, w + 2 * m)
    crop = target[top : top + h, left : left + w]
    # The kernel rides as albumentations' mask: moved by flips/rotations, never jittered.
    src, crop, kern = augment(src, crop, kernel, rng)
    return {
        "source": to_tensor(src),
        "target": to_tensor(crop),
        "name": name,
        "kernel": torch.from_numpy(np.ascontiguousarray(kern, dtype=np.float32)),
    }


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


def _downsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB-style bicubic ``1/scale`` of ``(B, C, H, W)``: ``A_h @ x @ A_w^T`` with the
    CPU path's own (dense) interpolation matrices, height first as there."""
    h, w = x.shape[-2:]
    a_h = torch.from_numpy(resize_matrix(h, math.ceil(h / scale)).toarray()).to(x)
    a_w = torch.from_numpy(resize_matrix(w, math.ceil(w / scale)).toarray()).to(x)
    return a_h @ x @ a_w.T


def degrade_batch(batch: dict, scale: int = 1) -> dict:
    """Replace a batch's ``source`` windows and ``kernel``s by the degraded ``input``.

    ``source``: ``(B, C, h + 2m, w + 2m)`` float in [0, 1] with ``m = K // 2 +
    bicubic_margin(scale)``; ``kernel``: ``(B, K, K)``, ``K`` odd. Batches without
    ``source`` (evaluation, ``degrade_on=cpu``) pass unchanged.
    """
    if "source" not in batch:
        return batch
    source, kernel = _trim(batch.pop("source"), batch.pop("kernel"))
    # behaviour="conv" flips the kernel: a convolution, as blur_image's fftconvolve.
    x = filter2d(source, kernel.to(source.dtype), padding="valid", behaviour="conv")
    x = x.clamp(0.0, 1.0)  # blur_image clips too
    if scale > 1:
        m = bicubic_margin(scale) // scale
        x = _downsample(x, scale)[..., m:-m, m:-m].clamp(0.0, 1.0)
    # The CPU path stores its input as 8-bit, as if saved as PNG; so does this one.
    batch["input"] = torch.round(x * 255.0) / 255.0
    return batch
