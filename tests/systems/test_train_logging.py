"""Training values are logged only on the steps Lightning logs (trainer.log_every_n_steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as L
import pytest
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from tests.helpers import TINY_RECIPES, compose


@pytest.mark.parametrize(
    ("model", "keys"),
    [
        ("deblurgan", {"train/d_loss", "train/gp", "train/wasserstein", "train/adv"}),
        ("cnn_baseline", set()),
    ],
)
def test_train_values_logged_every_n_steps_only(model: str, keys: set[str], tmp_path: Path) -> None:
    system = instantiate(compose("train", TINY_RECIPES[model], tmp_path).model)
    calls: list[tuple[int, dict[str, Any]]] = []
    log_dict = system.log_dict

    def counting(values: dict[str, Any], **kwargs: Any) -> None:
        calls.append((system.trainer.fit_loop.epoch_loop._batches_that_stepped, dict(values)))
        log_dict(values, **kwargs)

    system.log_dict = counting
    g = torch.Generator().manual_seed(0)
    batches = [
        {
            "input": torch.rand(1, 3, 32, 32, generator=g),
            "target": torch.rand(1, 3, 32, 32, generator=g),
        }
        for _ in range(5)
    ]
    trainer = L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_epochs=1,
        limit_val_batches=0,
        log_every_n_steps=2,
    )
    trainer.fit(system, train_dataloaders=DataLoader(batches, batch_size=None))
    # Batches 2 and 4 (indices 1 and 3) are logging steps; two log_dict calls on each (values,
    # then the progress-bar value), none on batches 1, 3 and 5.
    assert [step for step, _ in calls] == [1, 1, 3, 3]
    logged = set().union(*(v for _, v in calls))
    assert {"train/g_loss"} | keys <= logged
    assert calls[1][1].keys() == {"train/g_loss"}
    assert all(not v.requires_grad for _, values in calls for v in values.values())
    assert "train/g_loss" in trainer.progress_bar_metrics
