"""Datasets of (input, target) image pairs, with optional blur masks and kernels.

Items are ``{"input": (3, h, w), "target": (3, H, W), "name": str}`` float32 in [0, 1];
``h, w == H, W`` for deblurring and ``H, W == scale * (h, w)`` for super-resolution.
A dataset built with masks adds ``"mask": (1, H, W)`` float32 in [0, 1] (1 where the
input is blurred) to every item; an evaluation dataset of synthetic blur adds
``"kernel": (kh, kw)`` float32 summing to 1 (``input = kernel * target``, inside the mask
for partial blur). Every item of one dataset has the same keys, so batches collate.

Keys: an ``index`` or an ``(epoch, index)`` pair (see :mod:`restoregan.data.transforms`);
training randomness is a function of ``(seed, epoch, index)``, evaluation items are fixed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from restoregan.data.degradations import (
    TrajectoryKernel,
    blur_image,
    downsample_bicubic,
    resize_like_pil,
)
from restoregan.data.folders import Pair, name_rng
from restoregan.data.gpu_degrade import DEGRADE_ON, centre_pad_kernel, kernel_bound, sharp_item
from restoregan.data.io import DatasetError, read_image, read_kernel, read_mask, to_tensor
from restoregan.data.preflight import CheckItems, PairFiles
from restoregan.data.transforms import (
    ItemKey,
    ItemRngs,
    PairedAugment,
    PairedColorJitter,
    center_crop_position,
    crop_pair,
    item_rngs,
    random_crop_position,
    split_key,
)

__all__ = ["DegradedPairDataset", "KernelSource", "PairedImageDataset", "degrade_region"]

#: Where synthetic blur comes from: no blur, random trajectories, or a fixed kernel bank.
KernelSource = TrajectoryKernel | Sequence[np.ndarray] | None
PathLike = str | os.PathLike


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


def _aligned(files: Sequence[PathLike] | None, pairs: list, what: str) -> list[Path] | None:
    if files is None:
        return None
    if len(files) != len(pairs):
        raise ValueError(f"{len(files)} {what} given for {len(pairs)} pairs; need one per pair")
    return [Path(f) for f in files]


class PairedImageDataset(Dataset):
    """(input, target) pairs read from files, with optional masks and kernels.

    Training items are random paired crops (``crop_size`` on the target side, the input
    crop ``crop_size / scale`` at the matching position, the mask with the target) with
    the same random flips/rotation (and optional colour jitter) on all of them;
    evaluation items are full frames, or centre crops of ``eval_crop`` when set. An SR
    target larger than ``scale * input`` by less than ``scale`` pixels is cropped to fit.

    Args:
        pairs: ``(input_path, target_path, name)``; ``name`` is the item's id.
        scale: 1 for deblurring (sizes must match), 2/4 for SR.
        train: random crops + augmentation when True, deterministic otherwise.
        crop_size: target-side training crop; ``None`` trains on full frames.
        eval_crop: target-side centre crop for evaluation; ``None`` = full frame.
        seed: with ``(epoch, index)``, fixes every random draw of a training item.
        masks: one single-channel mask file per pair (the target's size), or ``None``.
        kernel_files: one ``.npy`` kernel per pair; evaluation items carry it as ``kernel``.
        resize: ``(width, height)`` every frame is resized to before cropping (DeblurGAN's
            loader: GoPro at 640x360); deblurring only.

    Raises (when an item is read):
        DatasetError: unreadable file, size mismatch, or image smaller than the crop.
    """

    def __init__(
        self,
        *,
        pairs: Sequence[tuple[PathLike, PathLike, str]],
        scale: int = 1,
        train: bool,
        crop_size: int | None = None,
        eval_crop: int | None = None,
        seed: int = 0,
        masks: Sequence[PathLike] | None = None,
        kernel_files: Sequence[PathLike] | None = None,
        resize: Sequence[int] | None = None,
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
        self.seed = seed
        self.masks = _aligned(masks, self.pairs, "masks")
        self.kernel_files = _aligned(kernel_files, self.pairs, "kernel files")
        if resize is not None and (scale != 1 or len(resize) != 2 or min(resize) < 1):
            raise DatasetError(
                f"resize must be [width, height] of a deblurring pair (scale 1), got {resize} "
                f"at scale {scale}."
            )
        self.resize = None if resize is None else (int(resize[1]), int(resize[0]))  # (H, W)
        self.augment = PairedAugment(
            hflip=hflip, vflip=vflip, rot90=rot90, color_jitter=color_jitter
        )

    def __len__(self) -> int:
        return len(self.pairs)

    def check_items(self) -> CheckItems:
        """What the items need of the files (:mod:`restoregan.data.preflight` checks it)."""
        masks = self.masks or [None] * len(self.pairs)
        return CheckItems(
            pairs=[PairFiles(a, b, m) for (a, b, _), m in zip(self.pairs, masks, strict=True)],
            crop=self.crop,
            scale=self.scale,
            degraded=False,
            resize=self.resize,
        )

    def _rngs(self, key: ItemKey) -> tuple[int, ItemRngs | None]:
        epoch, index = split_key(key)
        return index, item_rngs(self.seed, epoch, index) if self.train else None

    def _mask(self, index: int, size: tuple[int, int]) -> np.ndarray | None:
        if self.masks is None:
            return None
        mask = read_mask(self.masks[index])
        if mask.shape[:2] != size:
            (mh, mw), (h, w) = mask.shape, size
            raise DatasetError(
                f"Mask '{self.masks[index]}' is {mw}x{mh} (WxH) but its pair's target "
                f"'{self.pairs[index][1]}' is {w}x{h}; a mask must have the sharp image's size."
            )
        return mask

    def _window(
        self, height: int, width: int, rngs: ItemRngs | None, name: str
    ) -> tuple[int, int, tuple[int, int]]:
        """``(top, left, (h, w))`` of the target region this item uses."""
        if not self.crop:
            return 0, 0, (height, width)
        if rngs is not None:
            top, left = random_crop_position(
                height, width, crop_size=self.crop, scale=self.scale, name=name, rng=rngs.crop
            )
        else:
            top, left = center_crop_position(
                height, width, crop_size=self.crop, scale=self.scale, name=name
            )
        return top, left, (self.crop, self.crop)

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The whole ``(input, target, mask)`` of pair ``index`` before cropping: sizes
        checked, SR target cut to ``scale x input``, ``resize`` applied. What a training
        crop is cut from (and what :mod:`restoregan.data.decoded_cache` stores)."""
        pair = self.pairs[index]
        inp, target = read_image(pair[0]), read_image(pair[1])
        th, tw = _target_size(inp, target, self.scale, pair)
        target = target[:th, :tw]
        mask = self._mask(index, (th, tw))
        if self.resize is not None and (th, tw) != self.resize:
            inp, target = resize_like_pil(inp, self.resize), resize_like_pil(target, self.resize)
            mask = None if mask is None else resize_like_pil(mask, self.resize)
        return inp, target, mask

    def __getitem__(self, key: ItemKey) -> dict:
        index, rngs = self._rngs(key)
        pair = self.pairs[index]
        inp, target, mask = self.frame(index)
        th, tw = target.shape[:2]
        top, left, size = self._window(th, tw, rngs, str(pair[1]))
        if self.crop:
            inp, target, mask = crop_pair(
                inp, target, mask, top=top, left=left, crop_size=size[0], scale=self.scale
            )
        return self._finish(inp, target, mask, pair[2], rngs, self._kernel(index))

    def _kernel(self, index: int) -> np.ndarray | None:
        if self.train or self.kernel_files is None:
            return None  # kernels are for evaluation: augmentation would have to move them
        return read_kernel(self.kernel_files[index])

    def _finish(
        self,
        inp: np.ndarray,
        target: np.ndarray,
        mask: np.ndarray | None,
        name: str,
        rngs: ItemRngs | None,
        kernel: np.ndarray | None = None,
    ) -> dict:
        if rngs is not None:
            inp, target, mask = self.augment(inp, target, mask, rngs.augment)
        item = {"input": to_tensor(inp), "target": to_tensor(target), "name": name}
        if mask is not None:
            item["mask"] = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None]
        if kernel is not None:
            item["kernel"] = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))
        return item


class DegradedPairDataset(PairedImageDataset):
    """Pairs synthesised on the fly: ``input = downsample_bicubic(blur(source, k), scale)``.

    ``target`` is the HR image (cropped to a multiple of ``scale``). ``source`` is the
    HR image itself (``source_path == target_path``: synthetic blur and/or bicubic LR)
    or a real blurred frame of the same size (e.g. GoPro ``blur`` for its ``sharp``).
    With ``kernels=None`` and ``scale > 1`` this is plain bicubic LR generation.

    Kernels: evaluation draws each image's kernel from a Generator fixed by
    ``(seed, name)``, so a seed fixes the benchmark, and (deblurring only, ``scale`` 1)
    the item carries it as ``kernel``; training draws a fresh kernel per item from the
    item's ``(seed, epoch, index)`` stream.

    Only the needed region is degraded: the crop plus a margin covering the blur and
    bicubic footprints, so a training crop equals the same crop of a degraded full frame.
    The LR input is rounded to 8 bits, as if it had been saved as PNG.

    Args:
        kernels: :class:`TrajectoryKernel`, a list of 2-D kernels (one picked per image),
            or ``None`` for no synthetic blur.
        seed: fixes evaluation kernels and, with the key, training draws.
        downsample_target: the target is the sharp image downsampled like the input (same
            size as the input: the pairs a deblurring stage at low resolution trains on)
            instead of the HR image. Crops stay HR-side.
        degrade_on: ``"gpu"``: training items carry the sharp ``source`` window and the
            ``kernel`` instead of ``input``, blurred on the batch by
            :func:`restoregan.data.gpu_degrade.degrade_batch` (blur, then bicubic when
            ``scale`` > 1; no colour jitter, HR targets); evaluation items are made on the
            CPU either way.
        **kwargs: as :class:`PairedImageDataset`, with ``pairs`` given as
            ``(source_path, target_path, name)``.
    """

    def __init__(
        self,
        *,
        kernels: KernelSource,
        seed: int,
        downsample_target: bool = False,
        degrade_on: str = "cpu",
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.kernels = kernels
        self.downsample_target = downsample_target
        if degrade_on not in DEGRADE_ON:
            raise DatasetError(f"data.degrade_on must be 'cpu' or 'gpu', got '{degrade_on}'.")
        gpu = degrade_on == "gpu" and kernels is not None
        if gpu and (downsample_target or kwargs.get("color_jitter")):
            raise DatasetError(
                "data.degrade_on=gpu degrades the batch on the device and supports target=hr "
                "without colour jitter (the CPU path jitters after the blur, which would need "
                "the input on the CPU). Set data.degrade_on=cpu, data.target=hr or "
                "data.color_jitter=null."
            )
        self.degrade_on = "gpu" if gpu else "cpu"

    def check_items(self) -> CheckItems:
        # The input is made from the source file, which must have the target's size.
        return replace(super().check_items(), degraded=True)

    def kernel_for(self, name: str, rng: np.random.Generator | None = None) -> np.ndarray | None:
        """The blur kernel of an item: from ``rng`` (training) or fixed by ``(seed, name)``."""
        if self.kernels is None:
            return None
        rng = rng or name_rng(self.seed, name)
        if isinstance(self.kernels, TrajectoryKernel):
            return self.kernels.sample(rng)
        return self.kernels[int(rng.integers(len(self.kernels)))]

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The whole ``(input, target, None)`` of item ``index``: only deterministic
        degradations (bicubic LR, no kernel) have one; random kernels are drawn per item."""
        if self.kernels is not None or self.downsample_target:
            raise DatasetError(
                "Synthetic-blur items are drawn per item (a new kernel each time), so they have "
                "no fixed frame to cache: set data.cache=null for this dataset."
            )
        source, target, h, w = self._read_sharp(index)
        inp = degrade_region(source[:h, :w], 0, 0, (h, w), kernel=None, scale=self.scale)
        return inp, target[:h, :w], None

    def _read_sharp(self, index: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Item ``index``'s source and target images, and the size cut to a multiple of
        the scale (what both the per-item path and the cached frame degrade)."""
        source_path, target_path, _ = self.pairs[index]
        target = read_image(target_path)
        source = target if source_path == target_path else read_image(source_path)
        if source.shape != target.shape:
            _target_size(source, target, 1, self.pairs[index])  # raises with both sizes
        s = self.scale
        return source, target, target.shape[0] // s * s, target.shape[1] // s * s

    def __getitem__(self, key: ItemKey) -> dict:
        index, rngs = self._rngs(key)
        name = self.pairs[index][2]
        s = self.scale
        source, target, h, w = self._read_sharp(index)
        top, left, size = self._window(h, w, rngs, str(self.pairs[index][1]))
        kernel = self.kernel_for(name, None if rngs is None else rngs.degrade)
        if rngs is not None and self.degrade_on == "gpu":
            kernel = centre_pad_kernel(kernel, kernel_bound(self.kernels))
            window = (top, left, size)
            return sharp_item(
                source[:h, :w],
                target[:h, :w],
                window,
                kernel,
                scale=s,
                augment=self.augment,
                rng=rngs.augment,
                name=name,
            )
        inp = degrade_region(source[:h, :w], top, left, size, kernel=kernel, scale=s)
        if self.downsample_target:
            # Region by region too, so a crop equals the same crop of the downsampled frame.
            target = degrade_region(target[:h, :w], top, left, size, kernel=None, scale=s)
        else:
            target = target[top : top + size[0], left : left + size[1]]
        carried = kernel if rngs is None and s == 1 else None
        return self._finish(inp, target, None, name, rngs, carried)


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
