"""GoPro deblurring dataset (Nah et al. 2017), official ``GOPRO_Large`` layout.

Model selection must not see test frames, so by default validation holds out whole
TRAIN sequences (neighbouring frames of one sequence are near duplicates: holding out
frames would leak). Three choices, ``val_source``:

- ``"train_sequences"`` (default): ``val_sequences`` train sequences (a count, spread
  evenly over the sorted names, or a list of names) are validation and are not trained
  on; test is the whole test split.
- ``"test"``: validation frames come from the test split, as the DeblurGAN and
  DeblurGAN Keras port reference codes do; training uses all 22 train sequences.
- ``"unet_patchgan"``: the U-Net/PatchGAN paper's random 1600/300/313 split of "2,213
  pairs". GoPro has 2,103 train + 1,111 test pairs and the paper does not say how its
  2,213 were formed, so the pool here is all 2,103 train pairs plus 110 test pairs spread
  evenly over the test split; the pool is shuffled with ``seed`` and cut into
  ``split_sizes`` (train, validation, test). The split is by frame, so one sequence
  lands in all three parts, as it must have in the paper: its test numbers are optimistic.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torch.utils.data import Dataset

from restoregan.data.datamodule import PairedDataModule, evenly_spaced
from restoregan.data.decoded_cache import cached_train_set
from restoregan.data.folders import Pair, match_by_stem, require_dir
from restoregan.data.io import DatasetError
from restoregan.data.pairs import PairedImageDataset

__all__ = [
    "GOPRO_LAYOUT",
    "GoProDataModule",
    "GoProSplit",
    "gopro_pairs",
    "gopro_sequences",
    "gopro_split",
]

GOPRO_LAYOUT = """\
  GOPRO_Large/
    train/<sequence>/blur/<frame>.png         (22 sequences, 2,103 frames, 1280x720)
    train/<sequence>/blur_gamma/<frame>.png
    train/<sequence>/sharp/<frame>.png
    test/<sequence>/{blur,blur_gamma,sharp}/<frame>.png   (11 sequences, 1,111 frames)
Set data.root to the GOPRO_Large folder."""

BlurType = Literal["linear", "gamma"]
ValSource = Literal["train_sequences", "test", "unet_patchgan"]
VAL_SOURCES = ("train_sequences", "test", "unet_patchgan")
# linear = frames averaged in linear intensity (most papers evaluate on it); gamma = averaged
# after gamma correction.
_BLUR_DIRS = {"linear": "blur", "gamma": "blur_gamma"}


def gopro_sequences(root: str | os.PathLike, split: str) -> list[str]:
    """Sorted sequence folder names of a split (``train`` or ``test``)."""
    root = require_dir(root, "GoPro root", GOPRO_LAYOUT)
    split_dir = require_dir(root / split, f"GoPro {split} split", GOPRO_LAYOUT)
    names = sorted(d.name for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not names:
        raise DatasetError(
            f"No sequence folders in '{split_dir}'. Expected layout:\n{GOPRO_LAYOUT}"
        )
    return names


def gopro_pairs(
    root: str | os.PathLike,
    split: str,
    *,
    blur_type: BlurType = "linear",
    sequences: Sequence[str] | None = None,
) -> list[Pair]:
    """``(blurred, sharp, "<sequence>/<frame>.png")`` for every frame of a split.

    Args:
        sequences: only these sequences (default: all of the split).

    Raises:
        DatasetError: missing root/split/sequence folders (the message shows the layout),
            no sequences, or a blurred frame without its sharp partner.
    """
    if blur_type not in _BLUR_DIRS:
        raise DatasetError(f"blur_type must be 'linear' or 'gamma', got '{blur_type}'.")
    split_dir = Path(root).expanduser() / split
    pairs = []
    for name in gopro_sequences(root, split) if sequences is None else sequences:
        seq = split_dir / name
        blur_dir = require_dir(
            seq / _BLUR_DIRS[blur_type], "GoPro blurred-frame folder", GOPRO_LAYOUT
        )
        sharp_dir = require_dir(seq / "sharp", "GoPro sharp-frame folder", GOPRO_LAYOUT)
        pairs += match_by_stem(blur_dir, sharp_dir, name_prefix=f"{name}/")
    return pairs


@dataclass(frozen=True)
class GoProSplit:
    """Train / validation / test pairs, and how validation was chosen (``info``)."""

    train: list[Pair]
    val: list[Pair]
    test: list[Pair]
    info: dict[str, str] = field(default_factory=dict)


def _held_out(all_sequences: list[str], val_sequences: int | Sequence[str]) -> list[str]:
    if isinstance(val_sequences, int):
        if not 1 <= val_sequences < len(all_sequences):
            raise DatasetError(
                f"data.val_sequences={val_sequences}: the GoPro train split has "
                f"{len(all_sequences)} sequences; hold out at least 1 and keep at least 1 "
                f"for training (or set data.val_source=test)."
            )
        return evenly_spaced(all_sequences, val_sequences)
    names = [str(n) for n in val_sequences]
    unknown = sorted(set(names) - set(all_sequences))
    if unknown or not names or set(names) == set(all_sequences):
        raise DatasetError(
            f"data.val_sequences {names} must name some, not all, train sequences of GoPro; "
            f"unknown: {unknown}; the train sequences are {', '.join(all_sequences)}."
        )
    return sorted(set(names))


def gopro_split(
    root: str | os.PathLike,
    *,
    blur_type: BlurType = "linear",
    val_source: ValSource = "train_sequences",
    val_sequences: int | Sequence[str] = 2,
    split_sizes: Sequence[int] = (1600, 300, 313),
    seed: int = 0,
) -> GoProSplit:
    """The three parts for ``val_source`` (see the module docstring); validation unlimited."""
    if val_source not in VAL_SOURCES:
        raise DatasetError(
            f"data.val_source must be one of {', '.join(VAL_SOURCES)}, got '{val_source}'."
        )
    test = gopro_pairs(root, "test", blur_type=blur_type)
    if val_source == "test":
        train = gopro_pairs(root, "train", blur_type=blur_type)
        return GoProSplit(train, test, test, {"val_source": "test"})
    if val_source == "train_sequences":
        sequences = gopro_sequences(root, "train")
        held = _held_out(sequences, val_sequences)
        kept = [s for s in sequences if s not in held]
        train = gopro_pairs(root, "train", blur_type=blur_type, sequences=kept)
        val = gopro_pairs(root, "train", blur_type=blur_type, sequences=held)
        info = {"val_source": "train_sequences", "val_sequences": ",".join(held)}
        return GoProSplit(train, val, test, info)
    sizes = [int(n) for n in split_sizes]
    train_all = gopro_pairs(root, "train", blur_type=blur_type)
    extra = max(0, sum(sizes) - len(train_all))
    if len(sizes) != 3 or min(sizes) < 1 or extra > len(test):
        raise DatasetError(
            f"data.split_sizes {sizes} must be 3 positive counts (train, val, test) summing to "
            f"at most the {len(train_all)} + {len(test)} GoPro pairs found."
        )
    pool = train_all + (evenly_spaced(test, extra) if extra else [])
    order = np.random.default_rng(seed).permutation(len(pool))
    parts = np.split(order, np.cumsum(sizes)[:2])
    train, val, test_part = (
        [pool[i] for i in sorted(part[:n])] for part, n in zip(parts, sizes, strict=True)
    )
    info = {
        "val_source": "unet_patchgan",
        "split_sizes": "/".join(map(str, sizes)),
        "test_pairs_in_pool": str(extra),
    }
    return GoProSplit(train, val, test_part, info)


class GoProDataModule(PairedDataModule):
    """GoPro blurred -> sharp pairs.

    Training: random paired ``crop_size`` crops with the same random flips/rotation on
    both (and optional colour jitter). Validation: at most ``val_max_images`` frames of
    the validation part (see ``val_source``), spread evenly (full frames, or centre crops
    of ``eval_crop``). Test: the test part (the whole test split, 1,111 frames, unless
    ``val_source="unet_patchgan"``).

    Args:
        root: the ``GOPRO_Large`` folder.
        blur_type: ``"linear"`` (``blur/``) or ``"gamma"`` (``blur_gamma/``).
        val_source, val_sequences, split_sizes: where validation comes from (module
            docstring); the choice is logged as ``data/val_source`` (and the held-out
            sequence names) at setup.
        val_max_images: validation subset size (``None`` = the whole validation part).
        resize: ``[width, height]`` every training frame is resized to before cropping
            (PIL bicubic); DeblurGAN's loader uses ``[640, 360]``.
        resize_eval: resize validation/test frames too (DeblurGAN's protocol: its
            published numbers are at 640x360, not 1280x720).
        cache: folder of the decoded training cache (:mod:`restoregan.data.decoded_cache`),
            built on first use; ``None`` decodes PNGs for every crop.
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "deblur"

    def __init__(
        self,
        *,
        root: str,
        blur_type: BlurType = "linear",
        val_source: ValSource = "train_sequences",
        val_sequences: int | Sequence[str] = 2,
        split_sizes: Sequence[int] = (1600, 300, 313),
        val_max_images: int | None = 16,
        resize: Sequence[int] | None = None,
        resize_eval: bool = False,
        cache: str | None = None,
        seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(seed=seed, **common)
        self.cache = cache
        if val_source not in VAL_SOURCES:
            raise DatasetError(
                f"data.val_source must be one of {', '.join(VAL_SOURCES)}, got '{val_source}'."
            )
        self.root = Path(root)
        self.blur_type = blur_type
        self.val_max_images = val_max_images
        # Hydra hands lists over as ListConfig: plain values keep the split JSON-able.
        self.split_options = {
            "blur_type": blur_type,
            "val_source": val_source,
            "val_sequences": val_sequences
            if isinstance(val_sequences, int)
            else [str(s) for s in val_sequences],
            "split_sizes": [int(n) for n in split_sizes],
            "seed": seed,
        }
        self.resize = None if resize is None else [int(v) for v in resize]
        self.resize_eval = resize_eval
        self._split: GoProSplit | None = None

    def split(self) -> GoProSplit:
        """The train/val/test pairs (scanned once), recording the choice in ``split_info``."""
        if self._split is None:
            self._split = gopro_split(self.root, **self.split_options)
            info = dict(self._split.info)
            if self.resize is not None:
                info["resize"] = "x".join(map(str, self.resize)) + (
                    " (train+eval)" if self.resize_eval else " (train)"
                )
            self.split_info = info
        return self._split

    def _eval_set(self, pairs: list[Pair]) -> Dataset:
        resize = self.resize if self.resize_eval else None
        return PairedImageDataset(pairs=pairs, train=False, eval_crop=self.eval_crop, resize=resize)

    def prepare_data(self) -> None:
        # Lightning runs this once per node before every rank's setup: one cache build.
        if self.cache is not None:
            self.build_train()

    def build_train(self) -> Dataset:
        source = PairedImageDataset(
            pairs=self.split().train,
            train=True,
            crop_size=self.crop_size,
            seed=self.seed,
            resize=self.resize,
            **self.augment,
        )
        return cached_train_set(self.cache, source, what="gopro")

    def build_val(self) -> Dataset:
        return self._eval_set(evenly_spaced(self.split().val, self.val_max_images))

    def build_test(self) -> Dataset:
        if self.split_options["val_source"] != "unet_patchgan":
            # The test split whatever validation holds out: evaluating a checkpoint needs
            # no valid validation setting.
            return self._eval_set(gopro_pairs(self.root, "test", blur_type=self.blur_type))
        return self._eval_set(self.split().test)
