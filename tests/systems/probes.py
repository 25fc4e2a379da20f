"""Test-only callback: what the monitored ModelCheckpoint knows when training (re)starts."""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as L
from lightning.pytorch.callbacks import ModelCheckpoint


class BestScoreProbe(L.Callback):
    """Writes `{"score", "best_k", "dirpath"}` of the monitored ModelCheckpoint to `path` at
    `on_train_start`, after Lightning restored the callbacks from `ckpt_path`."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        (best,) = [c for c in trainer.callbacks if isinstance(c, ModelCheckpoint) and c.monitor]
        score = best.best_model_score
        record = {
            "score": None if score is None else float(score),
            "best_k": sorted(best.best_k_models),
            "dirpath": best.dirpath,
        }
        self.path.write_text(json.dumps(record))
