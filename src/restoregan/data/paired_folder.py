"""Any pair of folders of blurred and sharp images, matched by file stem, with optional
blur masks (real local-blur datasets such as ReLoBlur)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from restoregan.data.datamodule import PairedDataModule
from restoregan.data.decoded_cache import cached_train_set
from restoregan.data.folders import Pair, match_by_stem, match_masks, require_dir
from restoregan.data.io import DatasetError
from restoregan.data.pairs import PairedImageDataset

__all__ = ["PairedFolderDataModule"]

_LAYOUT = """\
  <input_dir>/<stem>.<png|jpg|...>    blurred images
  <target_dir>/<stem>.<png|jpg|...>   sharp images, same stems (extensions may differ)
  <mask_dir>/<stem><mask_suffix>.png  optional single-channel blur masks (white = blurred)
  optional val_input_dir / val_target_dir / val_mask_dir in the same form"""

Split = list[tuple[Pair, Path | None]]


class PairedFolderDataModule(PairedDataModule):
    """Blurred -> sharp pairs from ``input_dir`` and ``target_dir``, matched by file stem.

    Validation uses ``val_input_dir``/``val_target_dir`` when given, otherwise a
    ``val_fraction`` of the pairs chosen with ``seed`` (a split by image, fixed for a
    seed). Test uses the validation pairs. Training crops and augmentation as GoPro.

    With ``mask_dir``, every item carries its ``mask`` (``(1, H, W)`` in [0, 1], cropped
    and flipped with the pair); a mask of another size than its pair, or not
    single-channel, is an error naming the file. Masks in ``mask_dir`` cover the pairs of
    ``input_dir`` (and the split held out from them); separate validation folders take
    theirs from ``val_mask_dir``. Masks are matched by the sharp image's stem plus
    ``mask_suffix``; extra masks are ignored.

    Args:
        input_dir, target_dir: training folders (also the source of the split).
        val_input_dir, val_target_dir: optional separate validation folders.
        mask_dir, val_mask_dir, mask_suffix: optional blur masks (see above).
        val_fraction: share of pairs held out when no validation folders are given.
        eval_crop: target-side centre crop for validation/test; ``None`` = full frames.
        cache: folder of the decoded training cache (:mod:`restoregan.data.decoded_cache`:
            sub-images of pair and mask), built on first use; ``None`` = off.
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
        mask_dir: str | None = None,
        val_mask_dir: str | None = None,
        mask_suffix: str = "",
        val_fraction: float = 0.1,
        cache: str | None = None,
        seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(seed=seed, **common)
        self.cache = cache
        if (val_input_dir is None) != (val_target_dir is None):
            raise DatasetError("Give both val_input_dir and val_target_dir, or neither.")
        if val_input_dir is None and not 0.0 < val_fraction < 1.0:
            raise DatasetError(f"val_fraction must be in (0, 1), got {val_fraction}.")
        if val_mask_dir is not None and val_input_dir is None:
            raise DatasetError(
                "data.val_mask_dir needs data.val_input_dir / data.val_target_dir; without "
                "them validation is held out from input_dir and uses data.mask_dir."
            )
        self.dirs = (input_dir, target_dir)
        self.val_dirs = None if val_input_dir is None else (val_input_dir, val_target_dir)
        self.mask_dirs = (mask_dir, val_mask_dir)
        self.mask_suffix = mask_suffix
        self.val_fraction = val_fraction

    def _items(self, input_dir: str, target_dir: str, mask_dir: str | None) -> Split:
        pairs = match_by_stem(
            require_dir(input_dir, "Blurred-image folder (input_dir)", _LAYOUT),
            require_dir(target_dir, "Sharp-image folder (target_dir)", _LAYOUT),
        )
        if mask_dir is None:
            return [(p, None) for p in pairs]
        masks = match_masks(pairs, Path(mask_dir).expanduser(), suffix=self.mask_suffix)
        return list(zip(pairs, masks, strict=True))

    def _split(self) -> tuple[Split, Split]:
        items = self._items(*self.dirs, self.mask_dirs[0])
        if self.val_dirs is not None:
            return items, self._items(*self.val_dirs, self.mask_dirs[1])
        n_val = max(1, round(self.val_fraction * len(items)))
        if n_val >= len(items):
            raise DatasetError(
                f"{len(items)} pair(s) in '{self.dirs[0]}' are too few to hold out "
                f"val_fraction={self.val_fraction} and keep a training set; add images or "
                f"give val_input_dir/val_target_dir."
            )
        # A private generator: the split depends on `seed` only, not on the global RNG.
        order = torch.randperm(len(items), generator=torch.Generator().manual_seed(self.seed))
        held_out = set(order[:n_val].tolist())
        train = [p for i, p in enumerate(items) if i not in held_out]
        val = [p for i, p in enumerate(items) if i in held_out]
        return train, val

    @staticmethod
    def _files(items: Split) -> dict[str, Any]:
        masks = [m for _, m in items]
        return {"pairs": [p for p, _ in items], "masks": None if None in masks else masks}

    def prepare_data(self) -> None:
        # Lightning runs this once per node before every rank's setup: one cache build.
        if self.cache is not None:
            self.build_train()

    def build_train(self) -> Dataset:
        train, _ = self._split()
        source = PairedImageDataset(
            **self._files(train),
            train=True,
            crop_size=self.crop_size,
            seed=self.seed,
            **self.augment,
        )
        return cached_train_set(self.cache, source, what="paired-folder")

    def build_val(self) -> Dataset:
        _, val = self._split()
        return PairedImageDataset(**self._files(val), train=False, eval_crop=self.eval_crop)

    def build_test(self) -> Dataset:
        return self.build_val()
