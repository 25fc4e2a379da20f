"""Datasets of (input, target) image pairs, and the folder scanning they share.

Items are ``{"input": (3, h, w), "target": (3, H, W), "name": str}`` float32 in [0, 1];
``h, w == H, W`` for deblurring and ``H, W == scale * (h, w)`` for super-resolution.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from restoregan.data.degradations import TrajectoryKernel, blur_image, downsample_bicubic
from restoregan.data.io import IMAGE_EXTENSIONS, DatasetError, read_image, to_tensor
from restoregan.data.transforms import (
    PairedColorJitter,
    center_crop_position,
    paired_center_crop,
    paired_flip_rot,
    paired_random_crop,
    random_crop_position,
)

__all__ = [
    "DegradedPairDataset",
    "KernelSource",
    "PairedImageDataset",
    "degrade_region",
    "list_images",
    "match_by_stem",
    "name_rng",
    "require_dir",
]

Pair = tuple[Path, Path, str]
#: Where synthetic blur comes from: no blur, random trajectories, or a fixed kernel bank.
KernelSource = TrajectoryKernel | Sequence[np.ndarray] | None

_PATTERNS = ", ".join(f"*{e}" for e in IMAGE_EXTENSIONS)


def require_dir(path: str | os.PathLike, what: str, layout: str) -> Path:
    """Return ``path`` as a Path, or raise a DatasetError showing the expected ``layout``."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetError(
            f"{what} '{path}' does not exist or is not a folder. Expected layout:\n{layout}"
        )
    return path


def list_images(directory: Path) -> dict[str, Path]:
    """Image files directly in ``directory``, keyed by file stem (hidden files skipped).

    Raises:
        DatasetError: two files share a stem (``a.png`` and ``a.jpg``), which would make
            stem matching ambiguous.
    """
    found: dict[str, Path] = {}
    for p in sorted(directory.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_EXTENSIONS or not p.is_file():
            continue
        if p.stem in found:
            raise DatasetError(
                f"'{found[p.stem]}' and '{p}' share the stem '{p.stem}': pairs are matched by "
                f"stem, so keep one image per stem in '{directory}'."
            )
        found[p.stem] = p
    return found


def match_by_stem(
    input_dir: Path, target_dir: Path, *, input_suffix: str = "", name_prefix: str = ""
) -> list[Pair]:
    """Pair ``input_dir/<stem><input_suffix>.*`` with ``target_dir/<stem>.*`` (any image type).

    Every input must have a target and vice versa. Names are ``name_prefix + target file
    name``. ``input_suffix`` handles SR conventions such as ``0001x4.png`` <-> ``0001.png``.

    Raises:
        DatasetError: no images in ``input_dir``, or an image without its partner.
    """
    inputs, targets = list_images(input_dir), list_images(target_dir)
    if not inputs:
        raise DatasetError(
            f"No images found in '{input_dir}' (looked for {_PATTERNS}); expected inputs "
            f"named like <stem>{input_suffix}.png with partners <stem>.png in '{target_dir}'."
        )
    if input_suffix:
        bad = [p.name for s, p in inputs.items() if not s.endswith(input_suffix)]
        if bad:
            raise DatasetError(
                f"Inputs in '{input_dir}' must be named <stem>{input_suffix}.<ext>; found "
                f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}."
            )
        inputs = {s[: -len(input_suffix)]: p for s, p in inputs.items()}
    for mine, other, other_dir, role in (
        (inputs, targets, target_dir, "target (sharp/HR)"),
        (targets, inputs, input_dir, "input (blurred/LR)"),
    ):
        lonely = [p for s, p in mine.items() if s not in other]
        if lonely:
            listed = ", ".join(f"'{p}'" for p in lonely[:5]) + (" ..." if len(lonely) > 5 else "")
            raise DatasetError(
                f"{len(lonely)} image(s) have no {role} partner in '{other_dir}' (matched by "
                f"file stem, any of {_PATTERNS}): {listed}. Add the partners or remove these files."
            )
    return [(inputs[s], targets[s], name_prefix + targets[s].name) for s in sorted(targets)]


def name_rng(seed: int, name: str) -> np.random.Generator:
    """A Generator fixed by (seed, name): per-image randomness that survives reordering."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _target_size(inp: np.ndarray, target: np.ndarray, scale: int, pair: Pair) -> tuple[int, int]:
    """Target size to use; raises naming both files and sizes when they do not fit."""
    (h, w), (th, tw) = inp.shape[:2], target.shape[:2]
    if scale == 1 and (h, w) == (th, tw):
        return th, tw
    # SR targets may exceed scale * input by < scale pixels (HR not a multiple of the scale).
    if scale > 1 and (th // scale, tw // scale) == (h, w):
        return h * scale, w * scale
    expected = "the same size" if scale == 1 else f"target = {scale} x input size"
    raise DatasetError(
        f"Size mismatch in pair '{pair[2]}': input '{pair[0]}' is {w}x{h} (WxH) but target "
        f"'{pair[1]}' is {tw}x{th}; expected {expected}. Check that the two files belong together."
    )


class PairedImageDataset(Dataset):
    """(input, target) pairs read from files.

    Training items are random paired crops (``crop_size`` on the target side, the
    input crop ``crop_size / scale`` at the matching position) with the same random
    flips/rotation (and optional colour jitter) on both; evaluation items are full
    frames, or centre crops of ``eval_crop`` when set. An SR target larger than
    ``scale * input`` by less than ``scale`` pixels is cropped to fit (HR "mod-crop").

    Args:
        pairs: ``(input_path, target_path, name)``; ``name`` is the item's id.
        scale: 1 for deblurring (sizes must match), 2/4 for SR.
        train: random crops + augmentation when True, deterministic otherwise.
        crop_size: target-side training crop; ``None`` trains on full frames.
        eval_crop: target-side centre crop for evaluation; ``None`` = full frame.

    Raises (when an item is read):
        DatasetError: unreadable file, size mismatch, or image smaller than the crop.
    """

    def __init__(
        self,
        *,
        pairs: Sequence[tuple[str | os.PathLike, str | os.PathLike, str]],
        scale: int = 1,
        train: bool,
        crop_size: int | None = None,
        eval_crop: int | None = None,
        hflip: bool = True,
        vflip: bool = True,
        rot90: bool = True,
        color_jitter: PairedColorJitter | None = None,
    ) -> None:
        if not pairs:
            raise DatasetError("A dataset needs at least one (input, target) pair; got none.")
        self.pairs: list[Pair] = [(Path(a), Path(b), n) for a, b, n in pairs]
        self.scale = scale
        self.train = train
        self.crop = crop_size if train else eval_crop
        self.flips = {"hflip": hflip, "vflip": vflip, "rot90": rot90}
        self.color_jitter = color_jitter

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        pair = self.pairs[index]
        inp, target = read_image(pair[0]), read_image(pair[1])
        th, tw = _target_size(inp, target, self.scale, pair)
        target = target[:th, :tw]
        if self.crop:
            crop = paired_random_crop if self.train else paired_center_crop
            inp, target = crop(
                inp, target, crop_size=self.crop, scale=self.scale, name=str(pair[1])
            )
        return self._finish(inp, target, pair[2])

    def _finish(self, inp: np.ndarray, target: np.ndarray, name: str) -> dict:
        x, y = to_tensor(inp), to_tensor(target)
        if self.train:
            x, y = paired_flip_rot(x, y, **self.flips)
            if self.color_jitter is not None:
                x, y = self.color_jitter(x, y)
        return {"input": x, "target": y, "name": name}


class DegradedPairDataset(PairedImageDataset):
    """Pairs synthesised on the fly: ``input = downsample_bicubic(blur(source, k), scale)``.

    ``target`` is the HR image (cropped to a multiple of ``scale``). ``source`` is the
    HR image itself (``source_path == target_path``: synthetic blur and/or bicubic LR)
    or a real blurred frame of the same size (e.g. GoPro ``blur`` for its ``sharp``).
    With ``kernels=None`` and ``scale > 1`` this is plain bicubic LR generation.

    Kernels: evaluation draws each image's kernel from a Generator fixed by
    ``(seed, name)``, so a seed fixes the benchmark; training draws a fresh kernel per
    item from torch's RNG (reproducible under ``seed_everything``).

    Only the needed region is degraded: the crop plus a margin covering the blur and
    bicubic footprints, so a training crop equals the same crop of a degraded full frame.
    The LR input is rounded to 8 bits, as if it had been saved as PNG.

    Args:
        kernels: :class:`TrajectoryKernel`, a list of 2-D kernels (one picked per image),
            or ``None`` for no synthetic blur.
        seed: fixes evaluation kernels.
        downsample_target: the target is the sharp image downsampled like the input (same
            size as the input: the pairs a deblurring stage at low resolution trains on)
            instead of the HR image. Crops stay HR-side.
        **kwargs: as :class:`PairedImageDataset`, with ``pairs`` given as
            ``(source_path, target_path, name)``.
    """

    def __init__(
        self, *, kernels: KernelSource, seed: int, downsample_target: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.kernels = kernels
        self.seed = seed
        self.downsample_target = downsample_target

    def kernel_for(self, name: str) -> np.ndarray | None:
        """The blur kernel of an item (evaluation: fixed per name; training: fresh)."""
        if self.kernels is None:
            return None
        if self.train:
            rng = np.random.default_rng(int(torch.randint(2**62, ())))
        else:
            rng = name_rng(self.seed, name)
        if isinstance(self.kernels, TrajectoryKernel):
            return self.kernels.sample(rng)
        return self.kernels[int(rng.integers(len(self.kernels)))]

    def __getitem__(self, index: int) -> dict:
        source_path, target_path, name = self.pairs[index]
        s = self.scale
        target = read_image(target_path)
        source = target if source_path == target_path else read_image(source_path)
        if source.shape != target.shape:
            _target_size(source, target, 1, self.pairs[index])  # raises with both sizes
        h, w = target.shape[0] // s * s, target.shape[1] // s * s
        if self.crop:
            position = random_crop_position if self.train else center_crop_position
            top, left = position(h, w, crop_size=self.crop, scale=s, name=str(target_path))
            size = (self.crop, self.crop)
        else:
            top, left, size = 0, 0, (h, w)
        kernel = self.kernel_for(name)
        inp = degrade_region(source[:h, :w], top, left, size, kernel=kernel, scale=s)
        if self.downsample_target:
            # Region by region too, so a crop equals the same crop of the downsampled frame.
            target = degrade_region(target[:h, :w], top, left, size, kernel=None, scale=s)
        else:
            target = target[top : top + size[0], left : left + size[1]]
        return self._finish(inp, target, name)


def degrade_region(
    image: np.ndarray,
    top: int,
    left: int,
    size: tuple[int, int],
    *,
    kernel: np.ndarray | None,
    scale: int,
) -> np.ndarray:
    """``downsample_bicubic(blur(image, kernel), scale)`` restricted to one region.

    Args:
        image: ``(H, W, 3)`` uint8, ``H, W`` multiples of ``scale``.
        top, left, size: the region in ``image`` pixels, multiples of ``scale``.

    Returns:
        ``(size[0] // scale, size[1] // scale, 3)`` uint8, equal (up to float rounding)
        to the same region of the degraded full image.
    """
    s = scale
    radius = 0 if kernel is None else max(kernel.shape) // 2 + 1
    # Bicubic taps reach 2 LR pixels (2 * s HR pixels) each side; one more for safety.
    margin = math.ceil((radius + 3 * s) / s) * s
    t0, l0 = max(0, top - margin), max(0, left - margin)
    t1 = min(image.shape[0], top + size[0] + margin)
    l1 = min(image.shape[1], left + size[1] + margin)
    region = image[t0:t1, l0:l1]
    if kernel is not None:
        region = blur_image(region.astype(np.float32) / 255.0, kernel)
    if s > 1:
        region = downsample_bicubic(region, s)
    if region.dtype != np.uint8:
        region = np.rint(region * 255.0).astype(np.uint8)
    r0, c0 = (top - t0) // s, (left - l0) // s
    return region[r0 : r0 + size[0] // s, c0 : c0 + size[1] // s]
