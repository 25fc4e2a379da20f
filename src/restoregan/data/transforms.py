"""Paired augmentation: one crop and one albumentations pipeline, the same on a pair and its mask.

Every training item draws its randomness from ``(seed, epoch, index)`` alone
(:func:`item_rngs`), never from torch's or numpy's global RNG: resuming a run reproduces
its crops exactly, and DataLoader workers cannot share a stream. Datasets accept a key
``(epoch, index)`` (what the suite's training sampler yields) or a plain ``index``
(= epoch 0); :func:`split_key` reads both.

Crops work on ``(H, W, C)`` uint8 arrays straight from
:func:`~restoregan.data.io.read_image` (cropping before anything else saves time on large
frames). For super-resolution the input (LR) is ``scale`` times smaller than the target
(HR): the crop is chosen on the LR grid and the HR crop sits at ``scale`` times the
position. Masks ``(H, W)`` float32 live on the target's grid and are cropped with it.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from restoregan.data.io import DatasetError

# albumentations asks PyPI for a newer version at import (up to 2 s, then a warning):
# training runs offline and on cluster nodes, so skip that unless the user asked for it.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A

__all__ = [
    "ItemKey",
    "ItemRngs",
    "PairedAugment",
    "PairedColorJitter",
    "center_crop_position",
    "crop_pair",
    "item_rngs",
    "random_crop_position",
    "split_key",
]

#: A dataset key: ``index`` (epoch 0) or ``(epoch, index)``.
ItemKey = int | tuple[int, int]


def split_key(key: ItemKey) -> tuple[int, int]:
    """``(epoch, index)`` of a dataset key; a plain int is an index at epoch 0."""
    if isinstance(key, tuple | list) and len(key) == 2:
        epoch, index = int(key[0]), int(key[1])
    elif isinstance(key, int | np.integer):
        epoch, index = 0, int(key)
    else:
        raise TypeError(f"a dataset key is an index or an (epoch, index) pair, got {key!r}")
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0 in a dataset key, got {key!r}")
    return epoch, index


class ItemRngs(NamedTuple):
    """Independent streams of one item: the crop, the synthetic degradation, the augmentation.

    Separate streams keep each stage's draws fixed when another stage is switched on or
    off (e.g. enabling colour jitter does not move the crops).
    """

    crop: np.random.Generator
    degrade: np.random.Generator
    augment: np.random.Generator


def item_rngs(seed: int, epoch: int, index: int) -> ItemRngs:
    """The item's generators, a function of ``(seed, epoch, index)`` only."""
    streams = np.random.SeedSequence([int(seed) % 2**63, epoch, index % 2**63]).spawn(3)
    return ItemRngs(*(np.random.default_rng(s) for s in streams))


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


# The crop position is drawn here rather than by albumentations' RandomCrop: that one picks
# a position on one grid only, while an SR pair needs its LR crop at position / scale, and
# the synthetic datasets need the position before they make the input (they degrade only
# the cropped region). One hand-written step serves all three cases.
def random_crop_position(
    height: int,
    width: int,
    *,
    crop_size: int,
    rng: np.random.Generator,
    scale: int = 1,
    name: str = "?",
) -> tuple[int, int]:
    """Random top-left corner ``(top, left)`` of a ``crop_size`` crop of the TARGET.

    ``height, width`` are the target size. The corner lies on the LR grid (multiples of
    ``scale``) so the input crop ``(top // scale, left // scale)`` is exactly aligned.
    Every position is equally likely, the last one included.
    """
    lr_crop = _check_crop(height, width, crop_size, scale, name)
    top = int(rng.integers(0, height // scale - lr_crop + 1))
    left = int(rng.integers(0, width // scale - lr_crop + 1))
    return top * scale, left * scale


def center_crop_position(
    height: int, width: int, *, crop_size: int, scale: int = 1, name: str = "?"
) -> tuple[int, int]:
    """Top-left corner of the centred ``crop_size`` crop of the target (on the LR grid)."""
    lr_crop = _check_crop(height, width, crop_size, scale, name)
    return (height // scale - lr_crop) // 2 * scale, (width // scale - lr_crop) // 2 * scale


def crop_pair(
    inp: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray | None,
    *,
    top: int,
    left: int,
    crop_size: int,
    scale: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The ``crop_size^2`` target crop at ``(top, left)``, the input's ``(crop_size/scale)^2``
    crop at ``(top/scale, left/scale)`` and the mask's crop at the target position."""
    s, lr = scale, crop_size // scale
    window = (slice(top, top + crop_size), slice(left, left + crop_size))
    return (
        inp[top // s : top // s + lr, left // s : left // s + lr],
        target[window],
        None if mask is None else mask[window],
    )


@dataclass(frozen=True)
class PairedColorJitter:
    """Random brightness/contrast/saturation/hue change applied IDENTICALLY to a pair.

    The ResNet/PatchGAN paper uses colour jitter; changing both images the same way keeps
    the blurred -> sharp mapping exact. This records the strengths (what configs set) and
    builds albumentations' ``ColorJitter`` (torchvision's semantics, always applied):
    brightness, contrast and saturation factors from ``U[1 - x, 1 + x]``, hue shift from
    ``U[-hue, hue]`` in turns (at most 0.5), in a random order. The factors are drawn once
    per item and used on both images; the mask is never jittered.
    """

    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0

    def __post_init__(self) -> None:
        if min(self.brightness, self.contrast, self.saturation, self.hue) < 0 or self.hue > 0.5:
            raise ValueError(f"colour jitter strengths must be >= 0 and hue <= 0.5, got {self}")

    def transform(self) -> A.ColorJitter | None:
        """The albumentations transform; ``None`` when every strength is 0 (pixels untouched)."""
        if not any((self.brightness, self.contrast, self.saturation, self.hue)):
            return None
        return A.ColorJitter(
            brightness=self.brightness,
            contrast=self.contrast,
            saturation=self.saturation,
            hue=self.hue,
            p=1.0,
        )


class PairedAugment:
    """Random flips, 90-degree rotations and colour jitter, the same on input, target and mask.

    One ``albumentations.Compose`` with the target as an additional image and the mask as
    its mask: geometric steps move all three, photometric ones change the two images with
    the same drawn factors and leave the mask alone. With all three geometric flags on,
    every one of the 8 symmetries of the square is equally likely. Rotation swaps H and W,
    so training crops should be square. SR pairs (input smaller than the target) are
    supported: each array is flipped/rotated on its own grid.

    ``__call__(inp, target, mask, rng)`` takes ``(h, w, 3)`` / ``(H, W, 3)`` uint8 arrays,
    an optional ``(H, W)`` float32 mask and the item's generator, the only randomness used.
    """

    def __init__(
        self,
        *,
        hflip: bool = True,
        vflip: bool = True,
        rot90: bool = True,
        color_jitter: PairedColorJitter | None = None,
    ) -> None:
        steps: list[A.BasicTransform] = []
        if hflip:
            steps.append(A.HorizontalFlip(p=0.5))
        if vflip:
            steps.append(A.VerticalFlip(p=0.5))
        if rot90:
            steps.append(A.RandomRotate90(p=1.0))
        jitter = color_jitter.transform() if color_jitter is not None else None
        if jitter is not None:
            steps.append(jitter)
        self.enabled = bool(steps)
        # Shapes differ on purpose for SR pairs, so albumentations' equal-shape check is off.
        self.compose = A.Compose(
            steps, additional_targets={"target": "image"}, is_check_shapes=False
        )

    def __call__(
        self,
        inp: np.ndarray,
        target: np.ndarray,
        mask: np.ndarray | None,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if not self.enabled:
            return inp, target, mask
        # albumentations draws from a numpy Generator and a random.Random; both are handed
        # over from the item's stream, so nothing global is touched.
        self.compose.set_random_state(rng, random.Random(int(rng.integers(2**63))))
        data = {"image": inp, "target": target}
        if mask is not None:
            data["mask"] = mask
        out = self.compose(**data)
        return out["image"], out["target"], out.get("mask")
