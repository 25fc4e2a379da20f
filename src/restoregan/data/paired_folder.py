"""Any pair of folders of blurred and sharp images, matched by file stem."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from restoregan.data.datamodule import PairedDataModule
from restoregan.data.io import DatasetError
from restoregan.data.pairs import PairedImageDataset, match_by_stem, require_dir

__all__ = ["PairedFolderDataModule"]

_LAYOUT = """\
  <input_dir>/<stem>.<png|jpg|...>    blurred images
  <target_dir>/<stem>.<png|jpg|...>   sharp images, same stems (extensions may differ)
  optional val_input_dir / val_target_dir in the same form"""


class PairedFolderDataModule(PairedDataModule):
    """Blurred -> sharp pairs from ``input_dir`` and ``target_dir``, matched by file stem.

    Validation uses ``val_input_dir``/``val_target_dir`` when given, otherwise a
    ``val_fraction`` of the pairs chosen with ``seed`` (a split by image, fixed for a
    seed). Test uses the validation pairs. Training crops and augmentation as GoPro.

    Args:
        input_dir, target_dir: training folders (also the source of the split).
        val_input_dir, val_target_dir: optional separate validation folders.
        val_fraction: share of pairs held out when no validation folders are given.
        eval_crop: target-side centre crop for validation/test; ``None`` = full frames.
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "deblur"

    def __init__(
        self,
        *,
        input_dir: str,
        target_dir: str,
        val_input_dir: str | None = None,
        val_target_dir: str | None = None,
        val_fraction: float = 0.1,
        seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(seed=seed, **common)
        if (val_input_dir is None) != (val_target_dir is None):
            raise DatasetError("Give both val_input_dir and val_target_dir, or neither.")
        if val_input_dir is None and not 0.0 < val_fraction < 1.0:
            raise DatasetError(f"val_fraction must be in (0, 1), got {val_fraction}.")
        self.dirs = (input_dir, target_dir)
        self.val_dirs = None if val_input_dir is None else (val_input_dir, val_target_dir)
        self.val_fraction = val_fraction

    @staticmethod
    def _pairs(input_dir: str, target_dir: str) -> list:
        return match_by_stem(
            require_dir(input_dir, "Blurred-image folder (input_dir)", _LAYOUT),
            require_dir(target_dir, "Sharp-image folder (target_dir)", _LAYOUT),
        )

    def _split(self) -> tuple[list, list]:
        pairs = self._pairs(*self.dirs)
        if self.val_dirs is not None:
            return pairs, self._pairs(*self.val_dirs)
        n_val = max(1, round(self.val_fraction * len(pairs)))
        if n_val >= len(pairs):
            raise DatasetError(
                f"{len(pairs)} pair(s) in '{self.dirs[0]}' are too few to hold out "
                f"val_fraction={self.val_fraction} and keep a training set; add images or "
                f"give val_input_dir/val_target_dir."
            )
        # A private generator: the split depends on `seed` only, not on the global RNG.
        order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(self.seed))
        held_out = set(order[:n_val].tolist())
        train = [p for i, p in enumerate(pairs) if i not in held_out]
        val = [p for i, p in enumerate(pairs) if i in held_out]
        return train, val

    def build_train(self) -> Dataset:
        train, _ = self._split()
        return PairedImageDataset(pairs=train, train=True, crop_size=self.crop_size, **self.augment)

    def build_val(self) -> Dataset:
        _, val = self._split()
        return PairedImageDataset(pairs=val, train=False, eval_crop=self.eval_crop)

    def build_test(self) -> Dataset:
        return self.build_val()
