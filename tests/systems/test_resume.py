"""A run stopped after epoch k and resumed from last.ckpt matches an uninterrupted run.

Both regimes, with dropout in the generator, GP interpolation weights, random crops and
flips, sample grids and epoch-interval LR schedules all active, over two epochs after the
stop: the losses of every step and the final weights and optimiser states are identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers import TINY_TRAIN, compose, read_metrics
from train import train

REGIMES = {
    # DeblurGAN: WGAN-GP, 5 discriminator steps, dropout, constant-then-linear epoch schedule.
    "adversarial": [
        "model.scheduler_g.constant=1",
        "model.scheduler_g.decay=3",
        "model.scheduler_d.constant=1",
        "model.scheduler_d.decay=3",
    ],
    # Supervised regime on the same dropout ResNet, with the plateau schedule on val/psnr.
    "supervised": ["model=cnn_baseline", "generator=resnet", "loss=l1"],
}


def _run(root: Path, demo_root: Path, regime: str, *extra: str) -> Path:
    # The supervised recipes have no discriminator (and no perceptual term) to shrink.
    supervised_skip = ("loss.", "discriminator.")
    tiny = [o for o in TINY_TRAIN if regime == "adversarial" or not o.startswith(supervised_skip)]
    overrides = [
        *tiny,
        f"data.root={demo_root}",
        *REGIMES[regime],
        "test_after_fit=false",
        "trainer.limit_train_batches=3",
        "trainer.limit_val_batches=1",
        *extra,
    ]
    train(compose("train", overrides, root))
    return root / "out"


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_resumed_run_matches_uninterrupted_run(
    regime: str, tmp_path: Path, demo_root: Path
) -> None:
    whole = _run(tmp_path / "whole", demo_root, regime, "trainer.max_epochs=3")
    first = _run(tmp_path / "first", demo_root, regime, "trainer.max_epochs=1")
    resumed = _run(
        tmp_path / "resumed",
        demo_root,
        regime,
        "trainer.max_epochs=3",
        f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}",
    )

    def losses(out: Path) -> list[tuple[str, ...]]:
        keys = ("epoch", "step", "train/g_loss", "train/d_loss", "train/gp")
        return [
            tuple(r.get(k, "") for k in keys)
            for r in read_metrics(out)
            if r["train/g_loss"] and r["epoch"] != "0"
        ]

    assert len(losses(whole)) == 2 * 3
    assert losses(resumed) == losses(whole)
    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=False)
    b = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=False)
    assert a["global_step"] == b["global_step"]
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    assert a["lr_schedulers"] == b["lr_schedulers"]
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for state_a, state_b in zip(opt_a["state"].values(), opt_b["state"].values(), strict=True):
            assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
