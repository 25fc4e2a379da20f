"""Base LightningDataModule shared by every dataset of the suite.

Subclasses build their datasets in ``build_train`` / ``build_val`` / ``build_test``;
this class owns the loaders. The training loader's :class:`~restoregan.data.sampling.EpochSampler`
yields ``(epoch, index)`` keys in a per-epoch order from ``(seed, epoch)``, one share per
DDP rank, and drops the last partial batch. What each item looks like (crop, flips,
synthetic kernels) is a function of ``(seed, epoch, index)`` inside the dataset (see
:mod:`restoregan.data.transforms`), not of any global RNG; the sampler's position is the
datamodule's checkpoint state, so a mid-epoch checkpoint resumes at its next batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from restoregan.data.io import DatasetError
from restoregan.data.preflight import CHECK_MODES, CheckMode, check_datasets
from restoregan.data.sampling import EpochSampler
from restoregan.data.transforms import PairedColorJitter

__all__ = ["PairedDataModule", "evenly_spaced"]

T = TypeVar("T")


def evenly_spaced(items: Sequence[T], limit: int | None) -> list[T]:
    """At most ``limit`` items spread evenly over ``items`` (all when ``limit`` is None).

    Used for cheap validation subsets: spreading over the sorted list samples every
    sequence/scene instead of the first one only, and needs no random state.
    """
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]


def _check_sizes(**sizes: int | None) -> None:
    """Sizes must be positive integers (crops may be None): a zero crop or a negative
    batch would otherwise fail deep inside a DataLoader, or silently train on full frames."""
    for name, value in sizes.items():
        if value is None and name in ("crop_size", "eval_crop"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            full = "null (full frames) or " if name in ("crop_size", "eval_crop") else ""
            raise DatasetError(
                f"data.{name} must be {full}a positive integer, got {value!r}; "
                f"set e.g. data.{name}={256 if 'crop' in name else 1}"
            )


class PairedDataModule(L.LightningDataModule):
    """Loaders over paired datasets; subclasses say where the pairs come from.

    Attributes (the contract the systems read):
        crop_size: target-side training crop, ``None`` when training on full frames.
        scale: 1 for deblurring, 2/4 for super-resolution.
        protocol: ``"deblur"`` or ``"sr"``: the evaluation protocol in ``restoregan.metrics``.

    Args:
        batch_size: training batch size (per process under DDP).
        num_workers: DataLoader worker processes (0 = load in the main process).
        crop_size: see above.
        seed: fixes what the data *is* (synthesis, kernels, splits) and, with each item's
            ``(epoch, index)``, its training augmentation.
        pin_memory: ``None`` = on when CUDA is available.
        eval_crop: target-side centre crop for validation/test; ``None`` = full frames.
        hflip, vflip, rot90: random flips and 90-degree rotations of training pairs.
        color_jitter: photometric jitter applied identically to both images (the ResNet/PatchGAN paper).
        eval_batch_size: validation/test batch size; 1 because full frames of
            different sizes cannot be stacked.
        scale: see above.
        check: what :mod:`restoregan.data.preflight` checks of every pair of the splits
            ``setup`` builds, before any step: ``full`` (decode every file once; cached),
            ``headers`` (sizes only) or ``off``.
        check_cache: folder of the check's cache (``None``: ``~/.cache/restoregan/checks``).
    """

    protocol: str = "deblur"
    #: How validation was chosen, e.g. ``{"val_source": "train_sequences", ...}``: logged as
    #: hyper-parameters at setup, so a run records it beside its resolved config.
    split_info: dict[str, str]

    def __init__(
        self,
        *,
        batch_size: int = 16,
        num_workers: int = 4,
        crop_size: int | None = 256,
        seed: int = 0,
        pin_memory: bool | None = None,
        eval_crop: int | None = None,
        hflip: bool = True,
        vflip: bool = True,
        rot90: bool = True,
        color_jitter: PairedColorJitter | None = None,
        eval_batch_size: int = 1,
        scale: int = 1,
        check: CheckMode = "full",
        check_cache: str | None = None,
    ) -> None:
        super().__init__()
        if check not in CHECK_MODES:
            raise DatasetError(
                f"data.check must be one of {', '.join(CHECK_MODES)}, got {check!r}; "
                "e.g. data.check=headers to skip the decode pass."
            )
        _check_sizes(
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            crop_size=crop_size,
            eval_crop=eval_crop,
            scale=scale,
        )
        # Which data a run saw is recorded by the resolved run config that every
        # checkpoint carries (restoregan.callbacks.run_config); hparams here would pickle
        # config objects that Lightning's weights-only checkpoint loading rejects.
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.crop_size = crop_size
        self.seed = seed
        self.pin_memory = pin_memory
        self.eval_crop = eval_crop
        # Training-time augmentation, the same transform on both images of a pair, drawn
        # from the item's (seed, epoch, index): datasets also get `seed`.
        self.augment = {
            "hflip": hflip,
            "vflip": vflip,
            "rot90": rot90,
            "color_jitter": color_jitter,
        }
        self.eval_batch_size = eval_batch_size
        self.scale = scale
        self.check = check
        self.check_cache = check_cache
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.split_info = {}
        self._train_sampler: EpochSampler | None = None
        self._sampler_state: dict[str, Any] | None = None  # from a checkpoint, see load_state_dict

    def build_train(self) -> Dataset:
        raise NotImplementedError

    def build_val(self) -> Dataset:
        raise NotImplementedError

    def build_test(self) -> Dataset:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        built: dict[str, Dataset] = {}
        if stage in (None, "fit"):
            self.train_set = self.build_train()
            if len(self.train_set) < self.batch_size:
                raise DatasetError(
                    f"{type(self).__name__}: {len(self.train_set)} training pairs are fewer than "
                    f"batch_size={self.batch_size}, so no full batch exists; lower data.batch_size."
                )
            built["train"] = self.train_set
        if stage in (None, "fit", "validate"):
            self.val_set = self.build_val()
            self._log_split()
            built["val"] = self.val_set
        if stage in (None, "test", "predict"):
            self.test_set = self.build_test()
            built["test"] = self.test_set
        # Before any step: a broken file is found now, not when a crop first reads it.
        before = "training" if "train" in built else "evaluation"
        check_datasets(built, mode=self.check, cache_dir=self.check_cache, before=before)

    def _log_split(self) -> None:
        trainer = getattr(self, "trainer", None)
        if not self.split_info or trainer is None:
            return
        for logger in trainer.loggers:
            logger.log_hyperparams({f"data/{k}": v for k, v in self.split_info.items()})

    def _loader(self, dataset: Dataset | None, stage: str, *, train: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}.setup('{stage}') has not been called.")
        pin = torch.cuda.is_available() if self.pin_memory is None else self.pin_memory
        sampler = self._make_train_sampler(dataset) if train else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            sampler=sampler,
            drop_last=train,
            num_workers=self.num_workers,
            pin_memory=pin,
            persistent_workers=train and self.num_workers > 0,
        )

    def _make_train_sampler(self, dataset: Dataset) -> EpochSampler:
        trainer = getattr(self, "trainer", None)
        sampler = EpochSampler(
            dataset,  # type: ignore[arg-type]  # every training set is sized
            seed=self.seed,
            batch_size=self.batch_size,
            num_replicas=trainer.world_size if trainer is not None else 1,
            rank=trainer.global_rank if trainer is not None else 0,
        )
        if self._sampler_state is not None:
            sampler.load_state_dict(self._sampler_state)
            self._sampler_state = None  # a later reload starts where training is then
        self._train_sampler = sampler
        return sampler

    def state_dict(self) -> dict[str, Any]:
        """The training sampler's position, saved in every checkpoint (Lightning's hook).

        Counted from the trainer's progress, not from the loader: workers and prefetching
        read ahead of the batches that were actually trained.
        """
        trainer = getattr(self, "trainer", None)
        if self._train_sampler is None or trainer is None:
            return {}
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        finished = done >= trainer.num_training_batches
        return {"train_sampler": self._train_sampler.state_dict(done, epoch_finished=finished)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Lightning restores the datamodule before it builds the training loader.
        self._sampler_state = state_dict.get("train_sampler")

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, "fit", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, "validate", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, "test", train=False)
