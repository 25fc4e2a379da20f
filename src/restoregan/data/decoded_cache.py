"""A decoded cache of training frames: overlapping sub-images, memory-mapped (``data.cache``).

Every training crop of a large-frame dataset otherwise decodes a whole PNG (1280x720 for
GoPro, 2K for DIV2K) to keep a 256^2 crop of it. BasicSR's recipe avoids that: each frame
is cut once into overlapping sub-images (480 px, step 240; the last row and column are
moved in so the border is covered) stored decoded, and random crops are cut from those.
For SR the input sub-images are the LR ones at ``size / scale`` on the same grid, so a
pair stays exactly aligned; a mask is cut with its target.

Store: BasicSR uses LMDB; the ``lmdb`` package is not among this suite's dependencies,
and the issue allows memory-mapped uint8 arrays instead, which numpy reads with no extra
package: ``input.u8``, ``target.u8`` (and ``mask.f32``) are the sub-images back to back,
each item's byte offsets in the manifest. A crop of a memory-mapped sub-image reads only
its own rows from the page cache, and read-only maps are shared by all DataLoader workers.

The cache is a folder built through :func:`restoregan.data.cache.build_cache`: into a
temporary folder renamed into place (a killed build leaves no half cache), with a manifest
of the source (each file's path, byte size and mtime; the sub-image size and step; scale,
resize, how the input is made). A manifest that matches is reused; any change to the
source or the parameters rebuilds. Building decodes every image, so it is also a full
decode check: an unreadable file stops it with a message naming the file.

Training items keep the source's length (one item per frame, so an epoch means what the
papers mean): item ``(epoch, index)`` picks one of frame ``index``'s sub-images and a
random crop inside it from the item's crop stream, then the same
:class:`~restoregan.data.transforms.PairedAugment` as the uncached dataset. Crops that
would straddle two sub-images are never drawn, so positions near the sub-image seams are
slightly favoured over a uniform draw on the frame. Validation and test read the source.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import track
from torch.utils.data import Dataset

from restoregan.data.cache import build_cache, read_manifest
from restoregan.data.io import DatasetError
from restoregan.data.pairs import DegradedPairDataset, PairedImageDataset
from restoregan.data.transforms import (
    ItemKey,
    crop_pair,
    item_rngs,
    random_crop_position,
    split_key,
)

__all__ = [
    "CachedPairDataset",
    "build_subimage_cache",
    "cached_train_set",
    "subimage_starts",
]

#: BasicSR's ``extract_subimages`` settings for DIV2K / GoPro (target-side pixels).
SUB_SIZE, SUB_STEP = 480, 240
#: The store's files, ``kind: (file name, dtype)``; sub-images lie back to back in each.
_FILES = {
    "input": ("input.u8", np.uint8),
    "target": ("target.u8", np.uint8),
    "mask": ("mask.f32", np.float32),
}
_VERSION = 1


def subimage_starts(length: int, size: int, step: int, multiple: int = 1) -> tuple[list[int], int]:
    """Start offsets covering ``[0, length)`` with windows of ``size`` every ``step``, the
    last window moved in to end at the border (BasicSR's rule). Offsets are multiples of
    ``multiple`` (the SR scale); a side shorter than ``size`` is one window of its length.

    Returns:
        ``(starts, window)``.
    """
    window = min(size, length // multiple * multiple)
    starts = list(range(0, length - window + 1, step))
    last = (length - window) // multiple * multiple
    if starts[-1] < last:
        starts.append(last)
    return starts, window


def _stat(path: Path) -> list:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _source_params(source: PairedImageDataset, size: int, step: int) -> dict:
    """Everything that decides the cached pixels: files (with size and mtime) and settings."""
    files: list[Path] = []
    for i, (a, b, _) in enumerate(source.pairs):
        files += [a] if a == b else [a, b]
        if source.masks is not None:
            files.append(source.masks[i])
    try:
        stats = [_stat(p) for p in files]
    except OSError as err:
        raise DatasetError(
            f"Cannot build the decoded cache: the source file '{err.filename}' cannot be read "
            f"({err.strerror}). Check data.root / the input folders."
        ) from None
    degraded = isinstance(source, DegradedPairDataset)
    return {
        "kind": "subimages",
        "version": _VERSION,
        "size": size,
        "step": step,
        "scale": source.scale,
        "resize": None if source.resize is None else list(source.resize),
        "input": "bicubic" if degraded else "files",
        "masks": source.masks is not None,
        "names": [name for _, _, name in source.pairs],
        "files": stats,
    }


def _frames(source: PairedImageDataset, root: Path) -> Iterator[tuple]:
    """Decoded frames in order; decoding runs on a few threads (PIL releases the GIL)."""

    def load(index: int) -> tuple:
        try:
            return source.frame(index)
        except DatasetError as err:
            raise DatasetError(
                f"Building the decoded cache '{root}' stopped at pair "
                f"'{source.pairs[index][2]}': {err} No cache was written; fix or remove the "
                f"file (or set data.cache=null) and run again."
            ) from None

    # A bounded window of futures (pool.map would submit every frame at once and hold all
    # decoded frames in memory).
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for index in range(len(source.pairs)):
            pending.append(pool.submit(load, index))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def build_subimage_cache(
    root: str | os.PathLike,
    source: PairedImageDataset,
    *,
    size: int = SUB_SIZE,
    step: int = SUB_STEP,
    what: str = "decoded",
) -> Path:
    """Build (or reuse) the sub-image cache of ``source``'s frames at ``root``.

    Args:
        source: the training dataset whose frames are cached (its ``frame(i)``).
        size, step: target-side sub-image size and stride (multiples of the scale).

    Returns:
        ``root`` as a Path.

    Raises:
        DatasetError: a source file cannot be read or decoded (the message names it).
    """
    scale = source.scale
    if size % scale or step % scale or not 0 < step <= size:
        raise DatasetError(
            f"Sub-image size {size} and step {step} must be multiples of the scale {scale} "
            f"with 0 < step <= size."
        )
    root = Path(root).expanduser()

    def write(tmp: Path) -> dict:
        items: list[list[int]] = []
        kinds = ["input", "target"] + (["mask"] if source.masks is not None else [])
        offsets = dict.fromkeys(kinds, 0)
        with ExitStack() as files:
            out = {k: files.enter_context(open(tmp / _FILES[k][0], "wb")) for k in kinds}
            frames = track(
                _frames(source, root),
                total=len(source.pairs),
                description=f"Caching {what} sub-images",
            )
            for frame, (inp, target, mask) in enumerate(frames):
                tops, wh = subimage_starts(target.shape[0], size, step, scale)
                lefts, ww = subimage_starts(target.shape[1], size, step, scale)
                for top in tops:
                    for left in lefts:
                        parts = _crop_rect(inp, target, mask, top, left, wh, ww, scale)
                        at = [offsets.get(k, 0) for k in ("input", "target", "mask")]
                        items.append([frame, top, left, wh, ww, *at])
                        for kind, part in zip(kinds, parts, strict=False):
                            data = np.ascontiguousarray(part, _FILES[kind][1]).tobytes()
                            out[kind].write(data)
                            offsets[kind] += len(data)
        return {"items": items, "bytes": offsets}

    return build_cache(root, _source_params(source, size, step), write, what=f"{what} cache")


def _crop_rect(
    inp: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray | None,
    top: int,
    left: int,
    height: int,
    width: int,
    scale: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A ``height x width`` (target-side) window of the pair; :func:`crop_pair` is square."""
    s = scale
    window = (slice(top, top + height), slice(left, left + width))
    lr = (slice(top // s, (top + height) // s), slice(left // s, (left + width) // s))
    return inp[lr], target[window], None if mask is None else mask[window]


class CachedPairDataset(Dataset):
    """Training crops cut from a sub-image cache (see the module docstring).

    Args:
        root: a folder made by :func:`build_subimage_cache` for ``source``.
        source: the uncached training dataset: its pairs (names), scale, crop size, seed
            and augmentation are used as they are.
    """

    def __init__(self, root: str | os.PathLike, source: PairedImageDataset) -> None:
        self.root = Path(root)
        manifest = read_manifest(self.root)
        if manifest is None:
            raise DatasetError(f"'{self.root}' holds no decoded cache; build it first.")
        if not source.crop:
            raise DatasetError(
                "data.cache stores sub-images, so training needs a crop: set data.crop_size "
                "or data.cache=null to train on full frames."
            )
        if source.crop > manifest["params"]["size"]:
            raise DatasetError(
                f"data.crop_size={source.crop} is larger than the cached sub-images "
                f"({manifest['params']['size']} px): lower data.crop_size or set data.cache=null."
            )
        self.source = source
        self.scale = source.scale
        self.items = [tuple(i) for i in manifest["items"]]
        self.by_frame: list[list[int]] = [[] for _ in source.pairs]
        for n, item in enumerate(self.items):
            self.by_frame[item[0]].append(n)
        self.has_mask = bool(manifest["params"]["masks"])
        self._maps: dict[str, np.memmap] | None = None
        self._pid = -1

    def __len__(self) -> int:
        return len(self.source.pairs)

    def __getstate__(self) -> dict:
        # Maps are reopened in each process (a pickled memmap would copy its data).
        return {**self.__dict__, "_maps": None, "_pid": -1}

    def _arrays(self) -> dict[str, np.memmap]:
        if self._maps is None or self._pid != os.getpid():
            kinds = ["input", "target"] + (["mask"] if self.has_mask else [])
            self._maps = {
                k: np.memmap(self.root / _FILES[k][0], dtype=_FILES[k][1], mode="r") for k in kinds
            }
            self._pid = os.getpid()
        return self._maps

    def subimage(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Sub-image ``n``: ``(input, target, mask)`` read-only views of the store; where it
        lies in its frame is ``items[n][:5]`` = ``(frame, top, left, height, width)``,
        target side."""
        _, _, _, h, w, oi, ot, om = self.items[n]
        s, maps = self.scale, self._arrays()
        inp = maps["input"][oi : oi + h * w * 3 // (s * s)].reshape(h // s, w // s, 3)
        target = maps["target"][ot : ot + h * w * 3].reshape(h, w, 3)
        mask = None
        if self.has_mask:
            mask = maps["mask"][om // 4 : om // 4 + h * w].reshape(h, w)
        return inp, target, mask

    def __getitem__(self, key: ItemKey) -> dict[str, Any]:
        epoch, index = split_key(key)
        rngs = item_rngs(self.source.seed, epoch, index)
        subs = self.by_frame[index]
        n = subs[int(rngs.crop.integers(len(subs)))]
        inp, target, mask = self.subimage(n)
        name = self.source.pairs[index][2]
        crop = self.source.crop
        top, left = random_crop_position(
            *target.shape[:2], crop_size=crop, rng=rngs.crop, scale=self.scale, name=name
        )
        inp, target, mask = crop_pair(
            inp, target, mask, top=top, left=left, crop_size=crop, scale=self.scale
        )
        # Albumentations and torch want writable arrays; memory-mapped views are read-only.
        inp, target = inp.copy(), target.copy()
        mask = None if mask is None else mask.copy()
        return self.source._finish(inp, target, mask, name, rngs)


def cached_train_set(
    cache: str | os.PathLike | None, source: PairedImageDataset, *, what: str
) -> Dataset:
    """``source`` itself when ``cache`` is ``None``, else crops from its sub-image cache at
    ``<cache>/<what>-train`` (built on first use, rebuilt when the source changed)."""
    if cache is None:
        return source
    root = build_subimage_cache(Path(cache).expanduser() / f"{what}-train", source, what=what)
    return CachedPairDataset(root, source)
