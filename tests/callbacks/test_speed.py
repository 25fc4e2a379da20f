"""Speed options (restoregan.callbacks.speed): each flag takes effect, and only where it should."""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import Any, ClassVar

import lightning.pytorch as L
import pytest
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from restoregan.callbacks.speed import SpeedOptions, fused_factory, is_compiled
from tests.helpers import TINY_MODEL, TINY_TRAIN, compose, read_metrics
from train import train

CL = torch.channels_last


def _system(tmp_path: Path, *extra: str) -> L.LightningModule:
    cfg = compose("train", [*TINY_MODEL, *extra], tmp_path)
    return instantiate(cfg.model)


def _trainer(**kwargs: Any) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def _conv_weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in net.parameters() if p.dim() == 4]


def test_channels_last_converts_generator_and_discriminator(tmp_path: Path) -> None:
    system = _system(tmp_path)
    nets = (system.generator, system.discriminator, system.loss.terms.perceptual.vgg)
    # Before: plain contiguous weights (a 3x3 kernel is not channels_last by accident).
    assert not all(p.is_contiguous(memory_format=CL) for p in _conv_weights(system.generator))
    SpeedOptions(channels_last=True).setup(_trainer(), system, "fit")
    for net in nets:
        weights = _conv_weights(net)
        assert weights and all(p.is_contiguous(memory_format=CL) for p in weights)


def test_compile_wraps_only_the_generator(tmp_path: Path) -> None:
    system = _system(tmp_path)
    keys = list(system.state_dict())
    SpeedOptions(compile_generator=True).setup(_trainer(), system, "fit")
    assert is_compiled(system.generator)
    # Never the discriminator (the gradient penalty's double backward) nor anything else.
    others = [m for n, m in system.named_modules() if not n.startswith("generator")]
    assert others and not any(is_compiled(m) for m in others)
    assert not any(is_compiled(m) for m in system.generator.modules() if m is not system.generator)
    # In place: checkpoints keep their keys (torch.compile(module) would add `_orig_mod.`).
    assert list(system.state_dict()) == keys
    SpeedOptions(compile_generator=True).setup(_trainer(), system, "test")  # idempotent
    assert is_compiled(system.generator)


def test_fused_adam_only_requested_on_cuda(tmp_path: Path) -> None:
    adam = functools.partial(torch.optim.Adam, lr=1e-3)
    cuda = fused_factory(adam, torch.device("cuda"))
    assert cuda.keywords == {"lr": 1e-3, "fused": True} and cuda.func is torch.optim.Adam
    assert fused_factory(adam, torch.device("cpu")) is adam
    sgd = functools.partial(torch.optim.SGD, lr=1e-3)
    assert fused_factory(sgd, torch.device("cuda")) is sgd  # no fused SGD requested

    # Through the callback on a CPU trainer: the optimisers are built unfused.
    system = _system(tmp_path)
    before = (system.optimizer_g, system.optimizer_d)
    SpeedOptions(fused_adam=True).setup(_trainer(), system, "fit")
    assert (system.optimizer_g, system.optimizer_d) == before
    opt_g = system.optimizer_g(system.generator.parameters())
    assert not opt_g.defaults.get("fused")


def test_cuda_flags_are_noops_with_a_log_line_on_cpu(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    system = _system(tmp_path)
    benchmark = torch.backends.cudnn.benchmark
    with caplog.at_level(logging.INFO, logger="restoregan"):
        SpeedOptions(tf32=True, cudnn_benchmark=True).setup(_trainer(), system, "fit")
    assert torch.backends.cudnn.benchmark == benchmark
    assert "tf32, cudnn_benchmark act on CUDA only; cpu run, ignored" in caplog.text


def _batches(n: int, size: int = 32) -> list[dict[str, Any]]:
    g = torch.Generator().manual_seed(0)
    shape = (2, 3, size, size)
    return [
        {"input": torch.rand(shape, generator=g), "target": torch.rand(shape, generator=g)}
        for _ in range(n)
    ]


def test_bf16_gradient_penalty_runs_in_float32_inside_the_system(tmp_path: Path) -> None:
    system = _system(tmp_path)
    first_conv = next(m for m in system.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    seen: list[tuple[bool, torch.dtype, torch.dtype]] = []

    def record(module: torch.nn.Module, args: tuple, out: torch.Tensor) -> None:
        # The penalty's input is the only leaf that requires a gradient: the mixed images.
        x = args[0]
        seen.append((x.is_leaf and x.requires_grad, x.dtype, out.dtype))

    first_conv.register_forward_hook(record)
    trainer = _trainer(
        precision="bf16-mixed", max_steps=6, limit_val_batches=0, log_every_n_steps=1
    )
    trainer.fit(system, train_dataloaders=DataLoader(_batches(1), batch_size=None))
    penalty = [(i, o) for gp, i, o in seen if gp]
    others = [(i, o) for gp, i, o in seen if not gp]
    assert len(penalty) == system.d_steps  # one penalty per discriminator step
    assert all(i == o == torch.float32 for i, o in penalty)
    # Autocast really ran in bf16 around it (the discriminator's other passes).
    assert others and all(o == torch.bfloat16 for _, o in others)
    assert math.isfinite(float(trainer.callback_metrics["train/gp"]))


class FormatProbe(L.Callback):
    """Records, at every training batch, whether the batch and the weights are channels_last."""

    seen: ClassVar[list[tuple[bool, bool, bool]]] = []

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, i: int) -> None:
        FormatProbe.seen.append(
            (
                batch["input"].is_contiguous(memory_format=CL),
                batch["target"].is_contiguous(memory_format=CL),
                all(p.is_contiguous(memory_format=CL) for p in _conv_weights(pl_module)),
            )
        )


def test_tiny_training_run_with_channels_last_on_cpu(tmp_path: Path, demo_root: Path) -> None:
    FormatProbe.seen = []
    overrides = [
        *TINY_TRAIN,
        f"data.root={demo_root}",
        "callbacks.speed.channels_last=true",
        # After `speed` in the callbacks dict, so it sees the converted batch.
        "+callbacks.probe._target_=tests.callbacks.test_speed.FormatProbe",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "test_after_fit=false",
    ]
    metrics = train(compose("train", overrides, tmp_path))
    assert FormatProbe.seen == [(True, True, True)] * 2
    assert math.isfinite(metrics["val/psnr"])
    rows = [r for r in read_metrics(tmp_path / "out") if r.get("train/g_loss")]
    assert len(rows) == 2 and all(math.isfinite(float(r["train/g_loss"])) for r in rows)
