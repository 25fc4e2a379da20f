"""Paired transforms: the same crop, flip, rotation and colour change on input and target.

Crops work on ``(H, W, C)`` numpy arrays straight from :func:`~restoregan.data.io.read_image`
(cropping before the float conversion saves time on large frames); flips, rotations and
colour jitter work on ``(3, H, W)`` float tensors in [0, 1].

All randomness comes from torch's global RNG (``torch.randint`` / ``torch.rand``), so
``lightning.seed_everything`` or a restored RNG state reproduces every augmentation, in
the main process and in DataLoader workers (which torch seeds from that RNG).

For super-resolution the input (LR) is ``scale`` times smaller than the target (HR):
crops are chosen on the LR grid and the HR crop sits at ``scale`` times the position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from restoregan.data.io import DatasetError

__all__ = [
    "PairedColorJitter",
    "center_crop_position",
    "paired_center_crop",
    "paired_flip_rot",
    "paired_random_crop",
    "random_crop_position",
]


def _check_crop(height: int, width: int, crop_size: int, scale: int, name: str) -> int:
    """Validate a target-side crop against a ``height x width`` target; returns the LR crop."""
    if crop_size % scale:
        raise DatasetError(f"crop_size {crop_size} must be a multiple of the scale {scale}.")
    if crop_size > height or crop_size > width:
        raise DatasetError(
            f"Image '{name}' is {width}x{height} (WxH), smaller than the crop "
            f"{crop_size}x{crop_size}: lower data.crop_size or remove the image."
        )
    return crop_size // scale


def random_crop_position(
    height: int, width: int, *, crop_size: int, scale: int = 1, name: str = "?"
) -> tuple[int, int]:
    """Random top-left corner ``(top, left)`` of a ``crop_size`` crop of the TARGET.

    ``height, width`` are the target size. The corner lies on the LR grid (multiples of
    ``scale``) so the input crop ``(top // scale, left // scale)`` is exactly aligned.
    """
    lr_crop = _check_crop(height, width, crop_size, scale, name)
    top = int(torch.randint(0, height // scale - lr_crop + 1, ()))
    left = int(torch.randint(0, width // scale - lr_crop + 1, ()))
    return top * scale, left * scale


def center_crop_position(
    height: int, width: int, *, crop_size: int, scale: int = 1, name: str = "?"
) -> tuple[int, int]:
    """Top-left corner of the centred ``crop_size`` crop of the target (on the LR grid)."""
    lr_crop = _check_crop(height, width, crop_size, scale, name)
    return (height // scale - lr_crop) // 2 * scale, (width // scale - lr_crop) // 2 * scale


def _crop_pair(
    inp: np.ndarray, target: np.ndarray, top: int, left: int, crop_size: int, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    s, lr = scale, crop_size // scale
    return (
        inp[top // s : top // s + lr, left // s : left // s + lr],
        target[top : top + crop_size, left : left + crop_size],
    )


def paired_random_crop(
    inp: np.ndarray, target: np.ndarray, *, crop_size: int, scale: int = 1, name: str = "?"
) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``(crop_size/scale)^2`` of ``inp`` and the matching ``crop_size^2`` of ``target``.

    Args:
        inp: ``(h, w, C)`` array; ``target``: ``(scale*h, scale*w, C)`` array.
        name: shown in the error when the image is smaller than the crop.
    """
    top, left = random_crop_position(*target.shape[:2], crop_size=crop_size, scale=scale, name=name)
    return _crop_pair(inp, target, top, left, crop_size, scale)


def paired_center_crop(
    inp: np.ndarray, target: np.ndarray, *, crop_size: int, scale: int = 1, name: str = "?"
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic centred version of :func:`paired_random_crop`, for validation."""
    top, left = center_crop_position(*target.shape[:2], crop_size=crop_size, scale=scale, name=name)
    return _crop_pair(inp, target, top, left, crop_size, scale)


def paired_flip_rot(
    inp: torch.Tensor,
    target: torch.Tensor,
    *,
    hflip: bool = True,
    vflip: bool = True,
    rot90: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the same random flips and 90-degree rotation to ``(C, H, W)`` tensors.

    Each enabled operation is applied with probability 1/2; all three together give the
    8 symmetries of the square. Rotation swaps H and W, so crops should be square.
    """
    coins = torch.rand(3) < 0.5  # always drawn, so RNG use does not depend on the flags
    dims = [d for d, on in ((-1, hflip and coins[0]), (-2, vflip and coins[1])) if on]
    if dims:
        inp, target = inp.flip(dims), target.flip(dims)
    if rot90 and coins[2]:
        inp, target = inp.rot90(1, (-2, -1)), target.rot90(1, (-2, -1))
    return inp.contiguous(), target.contiguous()


# RGB -> YIQ; hue is the angle in the (I, Q) plane, so a hue shift is a rotation there.
_RGB2YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
_YIQ2RGB = torch.linalg.inv(_RGB2YIQ)
_LUMA = _RGB2YIQ[0]


@dataclass(frozen=True)
class PairedColorJitter:
    """Random brightness/contrast/saturation/hue change applied IDENTICALLY to a pair.

    The ResNet/PatchGAN paper uses colour jitter; changing both images the same way keeps the
    blurred -> sharp mapping exact. Factors are drawn from torch's RNG: brightness,
    contrast and saturation from ``U[1 - x, 1 + x]``, hue from ``U[-hue, hue]`` (in turns,
    at most 0.5). They are applied in that fixed order; hue is rotated in YIQ space
    (a linear approximation of an HSV hue shift). Results are clamped to [0, 1].
    """

    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0

    def __post_init__(self) -> None:
        if min(self.brightness, self.contrast, self.saturation, self.hue) < 0 or self.hue > 0.5:
            raise ValueError(f"colour jitter strengths must be >= 0 and hue <= 0.5, got {self}")

    def __call__(
        self, inp: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Jitter two ``(3, H, W)`` tensors in [0, 1] with the same random factors."""
        u = (torch.rand(4) * 2 - 1).tolist()  # always drawn: RNG use must not depend on settings
        factors = (
            1 + self.brightness * u[0],
            1 + self.contrast * u[1],
            1 + self.saturation * u[2],
            2 * math.pi * self.hue * u[3],
        )
        return _jitter(inp, *factors), _jitter(target, *factors)


def _jitter(
    x: torch.Tensor, brightness: float, contrast: float, saturation: float, hue_angle: float
) -> torch.Tensor:
    # A disabled operation (factor 1 / angle 0) is skipped, leaving the pixels bit-exact.
    if brightness != 1:
        x = (x * brightness).clamp(0, 1)
    if contrast != 1:
        mean_luma = torch.einsum("c,chw->hw", _LUMA, x).mean()
        x = ((x - mean_luma) * contrast + mean_luma).clamp(0, 1)
    if saturation != 1:
        luma = torch.einsum("c,chw->hw", _LUMA, x)
        x = ((x - luma) * saturation + luma).clamp(0, 1)
    if hue_angle:
        cos, sin = math.cos(hue_angle), math.sin(hue_angle)
        rotation = torch.tensor([[1.0, 0.0, 0.0], [0.0, cos, -sin], [0.0, sin, cos]], dtype=x.dtype)
        x = torch.einsum("ij,jhw->ihw", _YIQ2RGB @ rotation @ _RGB2YIQ, x).clamp(0, 1)
    return x
