"""How a restorer runs on an image: value-range mapping, padding, tiles, self-ensemble.

Pure torch. Validation, sample grids, `src/eval.py`, `src/deblur.py` and the Dual-GAN
chain all go through these functions, so a restored image is produced, and the input is
scored, the same way everywhere.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from restoregan.nets.contract import Generator
from restoregan.nets.layers import pad_to_multiple
from restoregan.tiling import self_ensemble, tiled_apply

#: Side tiny images are padded up to when a generator cannot run at their size: below it
#: reflection padding runs out of pixels and instance norm sees a single value per
#: channel at the bottleneck. 16 covers every generator of the suite (ResNet-9 needs 8 =
#: 2 x its size multiple, the depth-3 U-Net 9); networks with a larger size multiple get
#: 2 x their multiple instead.
MIN_SIDE = 16

#: Self-ensembles `restore(tta=...)` knows: "x8", the eight flips/rotations.
TTA_MODES = ("x8",)


class InferenceSettingError(ValueError):
    """A tile / self-ensemble setting that cannot be used (names it and what is allowed)."""


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


def min_side(generator: Generator) -> int:
    """The side (a multiple of the size multiple) that `restore` pads an image up to when
    `generator` cannot run at the image's own size."""
    m = int(generator.size_multiple)
    side = max(MIN_SIDE, 2 * m)
    return side + (-side) % m


def pad_to_min_side(generator: Generator, x01: Tensor) -> Tensor:
    """Pad (B, C, H, W) at the bottom/right to sides of at least `min_side` that are
    multiples of the generator's `size_multiple`; the caller crops back."""
    h, w = x01.shape[-2:]
    m, low = int(generator.size_multiple), min_side(generator)
    th, tw = max(h, low), max(w, low)
    pad_h, pad_w = th + (-th) % m - h, tw + (-tw) % m - w
    # Reflection needs the pad to be narrower than the side; a 1-pixel image replicates.
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x01, (0, pad_w, 0, pad_h), mode=mode)


def _forward(generator: Generator, x01: Tensor) -> Tensor:
    rng = generator.value_range
    return from_range(generator(to_range(x01, rng)), rng)


def _single_pass(generator: Generator, x01: Tensor) -> Tensor:
    h, w = x01.shape[-2:]
    try:
        out = _forward(generator, pad_to_multiple(x01, generator.size_multiple))
    except Exception:
        # A tiny image (a thumbnail, a 1-pixel strip) that this network cannot take at its
        # own size: torch, or onnxruntime for an exported file, raises from deep inside
        # (a reflection pad wider than the image, instance norm over one value). Only
        # then is it padded up to min_side, so every size that runs keeps its result.
        if min(h, w) >= min_side(generator):
            raise
        out = _forward(generator, pad_to_min_side(generator, x01))
    scale = generator.scale
    return out[..., : h * scale, : w * scale].clamp(0.0, 1.0)


def check_settings(*, tile: int | None, overlap: int, tta: str | None) -> None:
    """Raise `InferenceSettingError` for tile / self-ensemble settings `restore` refuses
    (scripts call it once before the first image)."""
    if tta is not None and tta not in TTA_MODES:
        raise InferenceSettingError(
            f"tta={tta!r} is not a self-ensemble restoregan knows; expected one of "
            f"{', '.join(TTA_MODES)} (the eight flips/rotations) or null for off"
        )
    if tile is not None and (
        isinstance(tile, bool) or not isinstance(tile, int) or overlap < 0 or overlap >= tile
    ):
        raise InferenceSettingError(
            f"tile={tile!r} tile_overlap={overlap!r}: expected a tile side (pixels) larger "
            f"than an overlap >= 0, e.g. tile=512 tile_overlap=32, or tile=null for whole "
            f"images"
        )


@torch.no_grad()
def restore(
    generator: Generator,
    x01: Tensor,
    *,
    tile: int | None = None,
    overlap: int = 32,
    tta: str | None = None,
    tile_batch: int = 4,
) -> Tensor:
    """Run `generator` on (B, 3, H, W) images in [0, 1] of any size; returns [0, 1], clamped.

    One pass pads to the generator's `size_multiple` (and an image too small for the
    network up to `min_side`), maps to its `value_range` and back, and crops the output
    to (scale*H, scale*W).

    Args:
        tile: restore in overlapping tiles of this side (`restoregan.tiling.tiled_apply`,
            `tile_batch` tiles per pass) so memory stays flat as the image grows; None =
            the whole image in one pass.
        overlap: pixels neighbouring tiles share (blended).
        tta: "x8" averages the eight flips/rotations (`restoregan.tiling.self_ensemble`,
            eight times the work; each of the eight is tiled when `tile` is set); None = off.
    """
    check_settings(tile=tile, overlap=overlap, tta=tta)
    fn = functools.partial(_single_pass, generator)
    if tile is not None:
        fn = functools.partial(
            tiled_apply,
            fn,
            tile=tile,
            overlap=overlap,
            scale=generator.scale,
            multiple=generator.size_multiple,
            batch=tile_batch,
        )
    return self_ensemble(fn, x01) if tta else fn(x01)
