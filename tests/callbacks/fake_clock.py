"""A test-only clock for `LastCheckpoint`'s time trigger: `AdvanceClock` moves `NOW` on by
`minutes` at the start of every training batch; tests point the callback's `monotonic`
at `monotonic` below."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as L

NOW = [0.0]


def monotonic() -> float:
    return NOW[0]


class AdvanceClock(L.Callback):
    def __init__(self, minutes: float) -> None:
        self.seconds = 60.0 * minutes

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        NOW[0] += self.seconds
