"""GoPro deblurring dataset (Nah et al. 2017), official ``GOPRO_Large`` layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from torch.utils.data import Dataset

from restoregan.data.datamodule import PairedDataModule, evenly_spaced
from restoregan.data.io import DatasetError
from restoregan.data.pairs import PairedImageDataset, match_by_stem, require_dir

__all__ = ["GOPRO_LAYOUT", "GoProDataModule", "gopro_pairs"]

GOPRO_LAYOUT = """\
  GOPRO_Large/
    train/<sequence>/blur/<frame>.png         (22 sequences, 2,103 frames, 1280x720)
    train/<sequence>/blur_gamma/<frame>.png
    train/<sequence>/sharp/<frame>.png
    test/<sequence>/{blur,blur_gamma,sharp}/<frame>.png   (11 sequences, 1,111 frames)
Set data.root to the GOPRO_Large folder."""

BlurType = Literal["linear", "gamma"]
# linear = frames averaged in linear intensity (most papers evaluate on it); gamma = averaged
# after gamma correction.
_BLUR_DIRS = {"linear": "blur", "gamma": "blur_gamma"}


def gopro_pairs(
    root: str | os.PathLike, split: str, *, blur_type: BlurType = "linear"
) -> list[tuple[Path, Path, str]]:
    """``(blurred, sharp, "<sequence>/<frame>.png")`` for every frame of a split.

    Raises:
        DatasetError: missing root/split/sequence folders (the message shows the layout),
            no sequences, or a blurred frame without its sharp partner.
    """
    if blur_type not in _BLUR_DIRS:
        raise DatasetError(f"blur_type must be 'linear' or 'gamma', got '{blur_type}'.")
    root = require_dir(root, "GoPro root", GOPRO_LAYOUT)
    split_dir = require_dir(root / split, f"GoPro {split} split", GOPRO_LAYOUT)
    sequences = sorted(d for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not sequences:
        raise DatasetError(
            f"No sequence folders in '{split_dir}'. Expected layout:\n{GOPRO_LAYOUT}"
        )
    pairs = []
    for seq in sequences:
        blur_dir = require_dir(
            seq / _BLUR_DIRS[blur_type], "GoPro blurred-frame folder", GOPRO_LAYOUT
        )
        sharp_dir = require_dir(seq / "sharp", "GoPro sharp-frame folder", GOPRO_LAYOUT)
        pairs += match_by_stem(blur_dir, sharp_dir, name_prefix=f"{seq.name}/")
    return pairs


class GoProDataModule(PairedDataModule):
    """GoPro blurred -> sharp pairs.

    Training: random paired ``crop_size`` crops of the train split with the same random
    flips/rotation on both (and optional colour jitter). Validation: at most
    ``val_max_images`` test-split frames spread evenly over its sequences (full frames,
    or centre crops of ``eval_crop``). Test: the whole test split (1,111 frames).

    Args:
        root: the ``GOPRO_Large`` folder.
        blur_type: ``"linear"`` (``blur/``) or ``"gamma"`` (``blur_gamma/``).
        eval_crop: target-side centre crop for validation/test; ``None`` = full frames.
        val_max_images: validation subset size (``None`` = the whole test split).
        hflip, vflip, rot90, color_jitter: training augmentation.
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "deblur"

    def __init__(
        self,
        *,
        root: str,
        blur_type: BlurType = "linear",
        val_max_images: int | None = 16,
        seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(seed=seed, **common)
        self.root = Path(root)
        self.blur_type = blur_type
        self.val_max_images = val_max_images

    def build_train(self) -> Dataset:
        pairs = gopro_pairs(self.root, "train", blur_type=self.blur_type)
        return PairedImageDataset(pairs=pairs, train=True, crop_size=self.crop_size, **self.augment)

    def build_val(self) -> Dataset:
        pairs = gopro_pairs(self.root, "test", blur_type=self.blur_type)
        return PairedImageDataset(
            pairs=evenly_spaced(pairs, self.val_max_images), train=False, eval_crop=self.eval_crop
        )

    def build_test(self) -> Dataset:
        pairs = gopro_pairs(self.root, "test", blur_type=self.blur_type)
        return PairedImageDataset(pairs=pairs, train=False, eval_crop=self.eval_crop)
