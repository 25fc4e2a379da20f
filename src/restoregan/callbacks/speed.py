"""Speed options of a training run, each one config flag (`callbacks.speed.<flag>=true`).

Every flag is off by default: each becomes a default only once a benchmark shows it helps
(README, "Performance"; `benchmarks/bench_step.py` and `benchmarks/gpu_suite.sh` measure
each one). The options that only mean something on CUDA (TF32, cudnn.benchmark, fused
Adam) log one line and do nothing on another device.

Mixed precision is not here: it is the trainer's `precision` (`bf16-mixed`, `16-mixed`);
the gradient penalty runs in float32 with autocast off whatever it is
(`restoregan.losses.adversarial.WGANGP.penalty`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, MutableMapping
from typing import Any

import lightning.pytorch as L
import torch
from torch import nn

log = logging.getLogger("restoregan")

# Optimisers with a fused CUDA implementation (`fused=True`).
_FUSABLE = (torch.optim.Adam, torch.optim.AdamW)


def set_tf32(enabled: bool) -> None:
    """TF32 for float32 matmuls and convolutions on Ampere and later GPUs."""
    precision = "tf32" if enabled else "ieee"
    if hasattr(torch.backends.cudnn, "conv") and hasattr(
        torch.backends.cudnn.conv, "fp32_precision"
    ):
        # torch >= 2.9 replaces allow_tf32 and refuses a mix of the two APIs.
        torch.backends.cuda.matmul.fp32_precision = precision
        torch.backends.cudnn.conv.fp32_precision = precision
    else:
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


def fused_factory(factory: Callable[..., Any], device: torch.device) -> Callable[..., Any]:
    """`factory` with `fused=True` when it builds Adam/AdamW and `device` is CUDA, else as is.

    Fused Adam (one kernel for the whole update) is a CUDA optimisation; on the CPU the
    factory is left alone, so a config never asks a CPU run for it.
    """
    if device.type != "cuda":
        return factory
    target = getattr(factory, "func", factory)
    if target not in _FUSABLE:
        log.info(
            "speed: fused_adam ignored for %s (only Adam/AdamW)",
            getattr(target, "__name__", target),
        )
        return factory
    return functools.partial(factory, fused=True)


def to_channels_last(batch: MutableMapping[str, Any]) -> None:
    """Every 4-D tensor of a batch dict to channels_last, in place (the dict the step sees)."""
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.dim() == 4:
            batch[key] = value.contiguous(memory_format=torch.channels_last)


def is_compiled(module: nn.Module) -> bool:
    """Whether `module.compile()` was called (nn.Module keeps the compiled call privately)."""
    return getattr(module, "_compiled_call_impl", None) is not None


class SpeedOptions(L.Callback):
    """Apply the speed flags at setup, before Lightning builds the optimisers.

    Args:
        channels_last: every 4-D weight (generator, discriminator, the perceptual loss's VGG)
            and every 4-D training batch tensor in channels_last memory format.
        tf32: TF32 matmuls and convolutions (CUDA only).
        cudnn_benchmark: `torch.backends.cudnn.benchmark` (CUDA only; training crops have
            one size, so the search runs once).
        fused_adam: `fused=True` for Adam/AdamW optimisers (CUDA only).
        compile_generator: `generator.compile()` in place (checkpoint keys unchanged). Never
            the discriminator: the gradient penalty differentiates through it twice, which
            compiled graphs do not support.
        compile_mode: `torch.compile`'s mode (None, "reduce-overhead", "max-autotune").
    """

    def __init__(
        self,
        *,
        channels_last: bool = False,
        tf32: bool = False,
        cudnn_benchmark: bool = False,
        fused_adam: bool = False,
        compile_generator: bool = False,
        compile_mode: str | None = None,
    ) -> None:
        self.channels_last = bool(channels_last)
        self.tf32 = bool(tf32)
        self.cudnn_benchmark = bool(cudnn_benchmark)
        self.fused_adam = bool(fused_adam)
        self.compile_generator = bool(compile_generator)
        self.compile_mode = compile_mode

    def enabled(self) -> list[str]:
        names = ("channels_last", "tf32", "cudnn_benchmark", "fused_adam", "compile_generator")
        return [n for n in names if getattr(self, n)]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        device = trainer.strategy.root_device
        cuda = device.type == "cuda"
        cuda_only = [n for n in ("tf32", "cudnn_benchmark", "fused_adam") if getattr(self, n)]
        if cuda_only and not cuda:
            log.info(
                "speed: %s act on CUDA only; %s run, ignored", ", ".join(cuda_only), device.type
            )
        if cuda and self.tf32:
            set_tf32(True)
        if cuda and self.cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        if self.channels_last:
            pl_module.to(memory_format=torch.channels_last)
        if self.fused_adam and cuda:
            for name in ("optimizer_g", "optimizer_d"):
                if getattr(pl_module, name, None) is not None:
                    setattr(pl_module, name, fused_factory(getattr(pl_module, name), device))
        if self.compile_generator and not is_compiled(pl_module.generator):
            pl_module.generator.compile(mode=self.compile_mode)
        if self.enabled():
            log.info("speed: %s (%s)", ", ".join(self.enabled()), device)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        # The batch dict itself is what training_step receives: converting its entries here
        # is the callback's only way to change the step's input.
        if self.channels_last and isinstance(batch, MutableMapping):
            to_channels_last(batch)
