"""Exponential moving average of the generator weights (ESRGAN / BasicSR practice)."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as L
import torch
from torch import Tensor


class GeneratorEMA(L.Callback):
    """Keep `ema = decay * ema + (1 - decay) * weights` after every generator iteration.

    The EMA weights are swapped in for validation and test (so `val/psnr`, and therefore
    the best checkpoint, score them) and saved as `checkpoint["generator_ema"]`, which
    `restoregan.nets.load_weights` prefers when it loads a generator. Buffers are copied, not
    averaged. The average is kept in float32 whatever the training precision.
    """

    def __init__(self, *, decay: float = 0.999) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.ema: dict[str, Tensor] | None = None
        self._backup: dict[str, Tensor] | None = None

    def _init(self, pl_module: L.LightningModule) -> None:
        if self.ema is None:
            self.ema = {
                k: v.detach().clone().float() for k, v in pl_module.generator.state_dict().items()
            }

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._init(pl_module)
        self.ema = {k: v.to(pl_module.device) for k, v in self.ema.items()}

    @torch.no_grad()
    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        params = dict(pl_module.generator.named_parameters())
        for name, value in pl_module.generator.state_dict().items():
            if name in params and value.is_floating_point():
                self.ema[name].mul_(self.decay).add_(value.float(), alpha=1.0 - self.decay)
            else:
                self.ema[name].copy_(value)

    def _swap_in(self, pl_module: L.LightningModule) -> None:
        self._init(pl_module)
        gen = pl_module.generator
        self._backup = {k: v.detach().clone() for k, v in gen.state_dict().items()}
        gen.load_state_dict({k: v.to(self._backup[k].dtype) for k, v in self.ema.items()})

    def _swap_out(self, pl_module: L.LightningModule) -> None:
        if self._backup is not None:
            pl_module.generator.load_state_dict(self._backup)
            self._backup = None

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._swap_in(pl_module)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._swap_out(pl_module)

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._swap_in(pl_module)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._swap_out(pl_module)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self.ema is not None:
            checkpoint["generator_ema"] = {k: v.detach().cpu().clone() for k, v in self.ema.items()}

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if "generator_ema" in checkpoint:
            self.ema = {k: v.clone().float() for k, v in checkpoint["generator_ema"].items()}
