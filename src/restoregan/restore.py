"""How a restorer runs on an image: value-range mapping, padding, the input baseline.

Pure torch. Validation, sample grids, `src/eval.py`, `src/deblur.py` and the Dual-GAN
chain all go through these functions, so a restored image is produced, and the input is
scored, the same way everywhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from restoregan.nets.contract import Generator
from restoregan.nets.layers import pad_to_multiple


def to_range(x01: Tensor, rng: tuple[float, float]) -> Tensor:
    """Map images from [0, 1] to `rng`."""
    lo, hi = rng
    return x01 if (lo, hi) == (0.0, 1.0) else x01 * (hi - lo) + lo


def from_range(x: Tensor, rng: tuple[float, float]) -> Tensor:
    """Map images from `rng` back to [0, 1] (no clamping)."""
    lo, hi = rng
    return x if (lo, hi) == (0.0, 1.0) else (x - lo) / (hi - lo)


def input_baseline(x01: Tensor, size: tuple[int, int]) -> Tensor:
    """What the input itself scores against a target of `size`: the input for deblurring,
    its bicubic upsampling (clamped to [0, 1]) for super-resolution. Validation, eval.py
    and the "bicubic alone" row of a comparison all use this one definition."""
    if tuple(x01.shape[-2:]) == tuple(size):
        return x01
    return F.interpolate(x01, size=tuple(size), mode="bicubic", align_corners=False).clamp(0.0, 1.0)


@torch.no_grad()
def restore(generator: Generator, x01: Tensor) -> Tensor:
    """Run `generator` on (B, 3, H, W) images in [0, 1] of any size; returns [0, 1], clamped.

    Pads to the generator's `size_multiple`, maps to its `value_range` and back, and crops
    the output to (scale*H, scale*W).
    """
    rng, scale = generator.value_range, generator.scale
    h, w = x01.shape[-2:]
    if generator.size_multiple > 1:
        x01 = pad_to_multiple(x01, generator.size_multiple)
    out = from_range(generator(to_range(x01, rng)), rng)
    return out[..., : h * scale, : w * scale].clamp(0.0, 1.0)
