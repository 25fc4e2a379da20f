"""Super-resolution data: DIV2K for training, Set5/Set14/BSD100 for evaluation.

LR images are read from the ``LR_bicubic/X<scale>`` folders when present, otherwise made
on the fly with :func:`~restoregan.data.degradations.downsample_bicubic` (MATLAB-style
``imresize`` bicubic: Keys a = -0.5, antialiased, symmetric border; it reproduces the
released LR files to within one grey level, not bit-exactly).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from restoregan.data.datamodule import PairedDataModule, evenly_spaced
from restoregan.data.decoded_cache import cached_train_set
from restoregan.data.folders import list_images, match_by_stem, require_dir
from restoregan.data.io import IMAGE_EXTENSIONS, DatasetError
from restoregan.data.pairs import DegradedPairDataset, PairedImageDataset
from restoregan.data.preflight import CheckMode

__all__ = ["DIV2KDataModule", "SRBenchmarkDataModule", "hr_only_pairs", "sr_dataset"]

DIV2K_LAYOUT = """\
  <root>/
    DIV2K_train_HR/0001.png ... 0800.png
    DIV2K_valid_HR/0801.png ... 0900.png
    DIV2K_train_LR_bicubic/X4/0001x4.png ...   (optional: made on the fly when absent)
    DIV2K_valid_LR_bicubic/X4/0801x4.png ...   (optional)
Set data.root to the folder holding DIV2K_train_HR."""

BENCHMARK_LAYOUT = """\
  <root>/<name>/HR/<image>.png                       e.g. Set5/HR/baby.png
  <root>/<name>/LR_bicubic/X<scale>/<image>x<scale>.png   (optional: made on the fly)
Set data.root to the folder holding Set5/, Set14/, BSD100/ and data.name to one of them."""


def hr_only_pairs(hr_dir: Path) -> list[tuple[Path, Path, str]]:
    """``(hr, hr, name)`` for every image of a folder: pairs for on-the-fly degradation."""
    images = list_images(hr_dir)
    if not images:
        raise DatasetError(
            f"No images found in '{hr_dir}' (looked for "
            f"{', '.join('*' + e for e in IMAGE_EXTENSIONS)})."
        )
    return [(p, p, p.name) for p in images.values()]


def sr_dataset(
    hr_dir: Path,
    lr_dir: Path,
    *,
    scale: int,
    train: bool,
    crop_size: int | None = None,
    eval_crop: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    **augment,
) -> PairedImageDataset:
    """LR/HR pairs from ``lr_dir/<stem>x<scale>.*`` when that folder exists, else bicubic LR
    made on the fly from ``hr_dir``. ``limit`` keeps that many pairs spread evenly."""
    common = {"scale": scale, "train": train, "crop_size": crop_size, "eval_crop": eval_crop}
    if lr_dir.is_dir():
        pairs = match_by_stem(lr_dir, hr_dir, input_suffix=f"x{scale}")
        return PairedImageDataset(pairs=evenly_spaced(pairs, limit), seed=seed, **common, **augment)
    pairs = evenly_spaced(hr_only_pairs(hr_dir), limit)
    return DegradedPairDataset(pairs=pairs, kernels=None, seed=seed, **common, **augment)


class DIV2KDataModule(PairedDataModule):
    """DIV2K bicubic x``scale`` super-resolution (800 train / 100 valid 2K images).

    Training: random HR ``crop_size`` crops (LR ``crop_size / scale`` at the matching
    position) with the same flips/rotation on both. Validation: ``val_max_images``
    valid images spread evenly; test: all 100. LR from ``DIV2K_*_LR_bicubic/X<scale>``
    when present, else on the fly (see the module docstring).

    Args:
        root: folder holding ``DIV2K_train_HR`` and ``DIV2K_valid_HR``.
        scale: 4 (the papers' setting) or 2.
        crop_size: HR training crop (128 in ESRGAN -> LR 32 at x4).
        eval_crop: HR centre crop for validation/test; ``None`` = full images.
        val_max_images: validation subset size (``None`` = all 100).
        cache: folder of the decoded training cache (:mod:`restoregan.data.decoded_cache`:
            HR sub-images with their LR ones), built on first use; ``None`` = off.
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "sr"

    def __init__(
        self,
        *,
        root: str,
        scale: int = 4,
        val_max_images: int | None = 10,
        cache: str | None = None,
        seed: int = 0,
        **common: Any,
    ) -> None:
        if scale not in (2, 4):
            raise DatasetError(f"DIV2K scale must be 2 or 4, got {scale}.")
        super().__init__(seed=seed, scale=scale, **{"crop_size": 128, **common})
        self.cache = cache
        self.root = Path(root)
        self.val_max_images = val_max_images

    def _dirs(self, split: str) -> tuple[Path, Path]:
        root = require_dir(self.root, "DIV2K root", DIV2K_LAYOUT)
        hr = require_dir(root / f"DIV2K_{split}_HR", f"DIV2K {split} HR folder", DIV2K_LAYOUT)
        return hr, root / f"DIV2K_{split}_LR_bicubic" / f"X{self.scale}"

    def prepare_data(self) -> None:
        # Lightning runs this once per node before every rank's setup: one cache build.
        if self.cache is not None:
            self.build_train()

    def build_train(self) -> Dataset:
        source = sr_dataset(
            *self._dirs("train"),
            scale=self.scale,
            train=True,
            crop_size=self.crop_size,
            seed=self.seed,
            **self.augment,
        )
        return cached_train_set(self.cache, source, what=f"div2k-x{self.scale}")

    def build_val(self) -> Dataset:
        return sr_dataset(
            *self._dirs("valid"),
            scale=self.scale,
            train=False,
            eval_crop=self.eval_crop,
            limit=self.val_max_images,
            seed=self.seed,
        )

    def build_test(self) -> Dataset:
        return sr_dataset(
            *self._dirs("valid"),
            scale=self.scale,
            train=False,
            eval_crop=self.eval_crop,
            seed=self.seed,
        )


class SRBenchmarkDataModule(PairedDataModule):
    """An SR benchmark set (Set5, Set14, BSD100, ...), evaluation only.

    Validation and test loaders both give the whole set, full images, batch 1. HR
    images larger than ``scale x LR`` are cropped to fit (HR "mod-crop").

    Args:
        root: folder holding ``<name>/HR`` and ``<name>/LR_bicubic/X<scale>``.
        name: which set, e.g. ``"Set5"``.
        scale: the LR factor (4 in the shipped sets).
        batch_size, crop_size: not used (there is no training loader); accepted so that
            model recipes setting ``data.batch_size`` / ``data.crop_size`` compose with
            this set.
        check, check_cache: the check of every pair before use (:class:`PairedDataModule`).
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "sr"

    def __init__(
        self,
        *,
        root: str,
        name: str = "Set5",
        scale: int = 4,
        batch_size: int = 1,
        crop_size: int | None = None,
        num_workers: int = 0,
        seed: int = 0,
        pin_memory: bool | None = None,
        check: CheckMode = "full",
        check_cache: str | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            num_workers=num_workers,
            crop_size=crop_size,
            seed=seed,
            pin_memory=pin_memory,
            scale=scale,
            check=check,
            check_cache=check_cache,
        )
        self.root = Path(root)
        self.name = name

    def build_train(self) -> Dataset:
        raise DatasetError(
            f"SR benchmark '{self.name}' is evaluation-only: use it for validate/test "
            f"(src/eval.py), and train on data=div2k or data=blur_lr."
        )

    def build_val(self) -> Dataset:
        root = require_dir(self.root, "SR benchmark root", BENCHMARK_LAYOUT)
        set_dir = require_dir(root / self.name, f"SR benchmark '{self.name}'", BENCHMARK_LAYOUT)
        hr = require_dir(set_dir / "HR", f"SR benchmark '{self.name}' HR folder", BENCHMARK_LAYOUT)
        lr = set_dir / "LR_bicubic" / f"X{self.scale}"
        return sr_dataset(hr, lr, scale=self.scale, train=False, seed=self.seed)

    def build_test(self) -> Dataset:
        return self.build_val()
