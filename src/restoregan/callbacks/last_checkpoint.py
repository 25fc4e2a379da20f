"""`last.ckpt`: at every validation, every N generator iterations / T minutes, and at the end.

A killed run then loses minutes, not epochs, and a run shorter than its validation
interval still leaves a checkpoint to resume or evaluate.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from time import monotonic
from typing import Any

import lightning.pytorch as L
from lightning.pytorch.callbacks import ModelCheckpoint

from restoregan.files import remove_stale_temporaries

log = logging.getLogger("restoregan")


class LastCheckpoint(ModelCheckpoint):
    """Lightning's `ModelCheckpoint` for one rolling file (`<dirpath>/<filename>.ckpt`).

    Written, as an ordinary Lightning checkpoint (same contents and hooks, so a resume
    from a mid-epoch one works like Lightning's own `every_n_train_steps` files):

    - at the end of every validation epoch (or training epoch), as a plain
      `ModelCheckpoint(monitor=None)` does;
    - every `every_n_iterations` generator iterations (training batches; skipped
      non-finite batches count), when the iteration count is a multiple of it;
    - when `every_minutes` of training have passed since it was last written;
    - at the end of `fit`, if the last step is not in it yet.

    Why not `every_n_train_steps` / `train_time_interval`: under manual optimisation
    (the GAN systems) Lightning counts `global_step` in optimiser steps (`d_steps + 1` per
    batch), ignores `train_time_interval`, and the two cannot be combined with saving at
    each epoch.

    Mid-epoch saves skip a batch that ends an epoch: the epoch-end save follows it, after
    validation. At setup, temporary files a killed checkpoint write left in `dirpath` are
    removed (global rank 0).

    Args:
        every_n_iterations: generator iterations between saves, or None.
        every_minutes: minutes of training between saves, or None (default 10).
        kwargs: `ModelCheckpoint` arguments (`dirpath`, `filename`, ...).
    """

    def __init__(
        self,
        *,
        every_n_iterations: int | None = None,
        every_minutes: float | None = 10.0,
        **kwargs: Any,
    ) -> None:
        if every_n_iterations is not None and every_n_iterations < 1:
            raise ValueError(
                f"callbacks.last_checkpoint.every_n_iterations must be >= 1 or null, "
                f"got {every_n_iterations}"
            )
        if every_minutes is not None and every_minutes < 0:
            raise ValueError(
                f"callbacks.last_checkpoint.every_minutes must be >= 0 or null, got {every_minutes}"
            )
        kwargs.setdefault("monitor", None)
        kwargs.setdefault("save_top_k", 1)
        # One file under one name: never `last-v1.ckpt` beside an older `last.ckpt`.
        kwargs.setdefault("enable_version_counter", False)
        super().__init__(**kwargs)
        self.every_n_iterations = every_n_iterations
        self.interval = None if every_minutes is None else timedelta(minutes=every_minutes)
        self._written_at = monotonic()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage == "fit" and trainer.is_global_zero and self.dirpath:
            for path in remove_stale_temporaries(self.dirpath, suffix=self.FILE_EXTENSION):
                log.info("removed %s, left by a checkpoint write that was killed", path)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._written_at = monotonic()  # the clock starts with training

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        # Not super(): ModelCheckpoint's step/time triggers are off here (see the class doc).
        if self._should_skip_saving_checkpoint(trainer):
            return
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            return  # the epoch-end save, after validation, writes this step
        iteration = trainer.fit_loop.total_batch_idx + 1
        due = bool(self.every_n_iterations) and iteration % self.every_n_iterations == 0
        if self.interval is not None:
            due = due or monotonic() - self._written_at >= self.interval.total_seconds()
        # Rank 0 decides: clocks differ between processes, and saving is collective.
        if trainer.strategy.broadcast(due):
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        # A run that ends before its first validation (or between two) still leaves its
        # last step on disk.
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        self._written_at = monotonic()  # every write, whatever triggered it
