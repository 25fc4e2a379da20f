"""Every deblurring recipe (model=...) trains for a few steps on the demo data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tests.helpers import TINY_RECIPES, compose, read_metrics
from train import train

GAN_KEYS = ("train/d_loss", "train/g_loss", "train/adv")
# The D(real) - D(fake) gap is logged as a Wasserstein estimate only under the WGAN losses.
WASSERSTEIN_LOSSES = {f"restoregan.losses.adversarial.{name}" for name in ("WGAN", "WGANGP")}


def recipe_overrides(model: str, demo_root: Path, *extra: str) -> list[str]:
    return [
        *TINY_RECIPES[model],
        f"data.root={demo_root}",
        "test_after_fit=false",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        *extra,
    ]


@pytest.mark.parametrize("model", sorted(TINY_RECIPES))
def test_recipe_trains_on_demo(model: str, tmp_path: Path, demo_root: Path) -> None:
    cfg = compose("train", recipe_overrides(model, demo_root), tmp_path)
    metrics = train(cfg)
    assert math.isfinite(metrics["val/psnr"])
    logged = {k for row in read_metrics(tmp_path / "out") for k, v in row.items() if v}
    adversarial = "discriminator" in cfg.model
    for key in GAN_KEYS if adversarial else ("train/g_loss",):
        assert key in logged, key
    if adversarial:
        wgan = cfg.loss.adversarial._target_ in WASSERSTEIN_LOSSES
        gap = "train/wasserstein" if wgan else "train/d_gap"
        assert logged & {"train/wasserstein", "train/d_gap"} == {gap}
    ckpt = torch.load(tmp_path / "out" / "checkpoints" / "last.ckpt", weights_only=False)
    assert any(k.startswith("discriminator.") for k in ckpt["state_dict"]) == adversarial
    # The generator that the checkpoint rebuilds is the recipe's.
    assert ckpt["restoregan"]["generator"]["_target_"] == cfg.generator._target_


def test_cnn_baseline_reduces_lr_on_plateau(tmp_path: Path, demo_root: Path) -> None:
    # With patience 0 and an improvement threshold no PSNR can meet, every epoch after the
    # first is a plateau: the schedule, stepped by Lightning on val/psnr, cuts 3 times.
    cfg = compose(
        "train",
        recipe_overrides(
            "cnn_baseline",
            demo_root,
            "trainer.max_epochs=4",
            "model.scheduler_g.patience=0",
            "+model.scheduler_g.threshold=1e9",
        ),
        tmp_path,
    )
    train(cfg)
    ckpt = torch.load(tmp_path / "out" / "checkpoints" / "last.ckpt", weights_only=False)
    lr = ckpt["optimizer_states"][0]["param_groups"][0]["lr"]
    assert lr == pytest.approx(1e-3 * 0.1**1.5, rel=1e-9)
    # last.ckpt is rewritten at every validation, also when val/psnr did not improve.
    assert ckpt["epoch"] == 3
