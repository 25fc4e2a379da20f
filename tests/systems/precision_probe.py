"""Test-only callback: what precision a training run really used.

Records the Trainer's precision, whether a GradScaler exists, and the dtype of the
generator's first convolution's output in training steps (autocast's compute dtype; the
generator's own output may be promoted by a float32 residual) in `SEEN`.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as L
from torch import nn

SEEN: dict[str, Any] = {}


class PrecisionProbe(L.Callback):
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        SEEN.clear()
        SEEN["precision"] = trainer.precision
        SEEN["scaler"] = getattr(trainer.precision_plugin, "scaler", None)
        SEEN["output_dtypes"] = set()

        def hook(module: Any, inputs: Any, output: Any) -> None:
            if module.training:
                SEEN["output_dtypes"].add(output.dtype)

        conv = next(m for m in pl_module.generator.modules() if isinstance(m, nn.Conv2d))
        conv.register_forward_hook(hook)
