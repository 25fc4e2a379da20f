"""Test-only callback: stop a training process in its tracks, mid-epoch, for a SIGKILL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L


class StallAt(L.Callback):
    """At the start of the batch after global step `step` (every callback of the previous
    batch, its checkpoint included, has run), write `marker` and sleep until killed."""

    def __init__(self, step: int, marker: str) -> None:
        self.step = step
        self.marker = Path(marker)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step >= self.step:
            self.marker.write_text(f"{trainer.current_epoch} {batch_idx} {trainer.global_step}\n")
            time.sleep(600)  # the test kills the process; the timeout is only a backstop
