"""Sample grids (input | restored | target) every N iterations, to the logger and as PNGs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor

from restoregan.data.io import write_image
from restoregan.restore import restore


def _centre_crop(x: Tensor, size: int) -> Tensor:
    h, w = x.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return x[..., top : top + size, left : left + size]


def _take(loader: Any, n_images: int) -> Iterator[dict[str, Any]]:
    """Batches from `loader` until `n_images` images have been seen."""
    seen = 0
    for batch in loader:
        yield batch
        seen += len(batch["target"])
        if seen >= n_images:
            return


def make_grid(
    inputs: Tensor, restored: Tensor, targets: Tensor, *, max_size: int = 256, gap: int = 2
) -> np.ndarray:
    """Rows of `input | restored | target` from (B, 3, *, *) tensors in [0, 1] -> HxWx3 uint8.

    SR inputs are upsampled (nearest, so the pixels stay visible) to the target size, and
    every panel is centre-cropped to `max_size` so full GoPro frames stay viewable.
    """
    size = targets.shape[-2:]
    if inputs.shape[-2:] != size:
        inputs = F.interpolate(inputs, size=size, mode="nearest")
    rows = []
    for i in range(targets.shape[0]):
        panels = [_centre_crop(t[i], max_size) for t in (inputs, restored, targets)]
        sep = torch.ones(3, panels[0].shape[1], gap)
        rows.append(torch.cat([panels[0], sep, panels[1], sep, panels[2]], dim=2))
        rows.append(torch.ones(3, gap, rows[-1].shape[2]))
    grid = torch.cat(rows[:-1], dim=1).clamp(0, 1)
    return (grid.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


class SampleGrid(L.Callback):
    """Every `every_n_steps` generator iterations (batches), restore a fixed validation batch.

    Writes `<dirpath>/step_<iteration>.png` and, if the logger can show images (W&B), logs
    it under `samples`. The fixed batch is the first `max_images` validation images.
    """

    def __init__(
        self, *, dirpath: str, every_n_steps: int = 100, max_images: int = 4, max_size: int = 256
    ) -> None:
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.max_images = max_images
        self.max_size = max_size
        self._batch: dict[str, Tensor] | None = None

    def _fixed_batch(self, trainer: L.Trainer) -> dict[str, Tensor] | None:
        if self._batch is None:
            dm = trainer.datamodule
            if dm is None:
                return None
            inputs, targets = [], []
            # A loader iterator draws its seed from the global RNG; forking keeps the
            # training stream identical whether or not (and when) a grid is made.
            with torch.random.fork_rng(devices=[]):
                batches = list(_take(dm.val_dataloader(), self.max_images))
            for batch in batches:
                inputs.extend(batch["input"])
                targets.extend(batch["target"])
            # Crop before restoring so a grid costs the same on full GoPro frames; the input
            # crop keeps the target/input scale (SR). Only same-size crops can be stacked.
            pairs = []
            for x, y in zip(inputs[: self.max_images], targets[: self.max_images], strict=True):
                scale = y.shape[-1] // x.shape[-1]
                size = min(self.max_size, *y.shape[-2:]) // scale
                pairs.append((_centre_crop(x, size), _centre_crop(y, size * scale)))
            pairs = [p for p in pairs if p[1].shape == pairs[0][1].shape]
            self._batch = {
                "input": torch.stack([p[0] for p in pairs]),
                "target": torch.stack([p[1] for p in pairs]),
            }
        return self._batch

    @rank_zero_only
    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        iteration = trainer.fit_loop.total_batch_idx + 1
        if iteration % self.every_n_steps == 0:
            self.write(trainer, pl_module, iteration)

    @rank_zero_only
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        iteration = trainer.fit_loop.total_batch_idx + 1
        if iteration % self.every_n_steps != 0:
            self.write(trainer, pl_module, iteration)

    def write(
        self, trainer: L.Trainer, pl_module: L.LightningModule, iteration: int
    ) -> Path | None:
        batch = self._fixed_batch(trainer)
        if batch is None:
            return None
        generator = pl_module.generator
        was_training = generator.training
        generator.eval()
        try:
            x = batch["input"].to(pl_module.device)
            restored = restore(generator, x).float().cpu()
        finally:
            generator.train(was_training)
        grid = make_grid(batch["input"], restored, batch["target"], max_size=self.max_size)
        path = self.dirpath / f"step_{iteration:07d}.png"
        write_image(path, grid)
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image(
                    key="samples",
                    images=[grid],
                    caption=["input | restored | target"],
                    step=trainer.global_step,
                )
        return path
