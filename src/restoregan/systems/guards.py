"""Diverged training stops (or skips the batch) instead of training on NaN.

A GAN that diverges produces a NaN or infinite loss or gradient; one optimiser step with
it turns every weight into NaN, and every checkpoint after that is useless. The systems
ask `NonFiniteGuard` before each backward pass (the losses, every named term) and before
each optimiser step (the gradients):

- ``nonfinite="stop"`` (default): raise `NonFiniteError`, one message naming the
  generator iteration, the term and the last good checkpoint; the weights are still those
  of the step before, and the checkpoint IO plugin never writes non-finite weights.
- ``nonfinite="skip"``: skip the rest of the batch (a non-finite loss) or that optimiser
  step (non-finite gradients), count the batch, and stop once more than
  ``max_skips`` batches were skipped.

Under a GradScaler (16-mixed on a GPU) infinite gradients are routine: the scaler skips
those steps and lowers its scale, so only the losses are checked there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import lightning.pytorch as L
import torch
from torch import Tensor, nn
from torch.optim import Optimizer

log = logging.getLogger("restoregan")

MODES = ("stop", "skip")


class NonFiniteError(RuntimeError):
    """Training met a NaN or infinite loss or gradient (a restoregan error: the scripts
    print its message and exit 1)."""


def _describe(value: Tensor) -> str:
    value = value.detach().float()
    bad = value[~torch.isfinite(value)]
    return str(float(bad.flatten()[0])) if bad.numel() else "finite"


def last_good_checkpoint(trainer: L.Trainer | None) -> str | None:
    """The newest checkpoint file the run's checkpoint callbacks wrote, if any."""
    if trainer is None:
        return None
    paths = {
        Path(p)
        for cb in trainer.checkpoint_callbacks
        for p in (getattr(cb, "last_model_path", ""), getattr(cb, "best_model_path", ""))
        if p
    }
    existing = [p for p in paths if p.is_file()]
    return str(max(existing, key=lambda p: p.stat().st_mtime)) if existing else None


class NonFiniteGuard:
    """Checks losses and gradients for NaN / inf; stops the run or skips the batch.

    Args:
        mode: "stop" (raise `NonFiniteError`) or "skip" (skip and count the batch).
        max_skips: in "skip" mode, the number of skipped batches allowed; one more stops
            the run.
    """

    def __init__(self, mode: str = "stop", max_skips: int = 100) -> None:
        if mode not in MODES:
            raise ValueError(f"model.nonfinite must be one of {MODES}, got {mode!r}")
        if max_skips < 0:
            raise ValueError(f"model.nonfinite_max_skips must be >= 0, got {max_skips}")
        self.mode = mode
        self.max_skips = int(max_skips)
        self.skipped = 0  # batches skipped so far (saved in checkpoints by the system)
        self._skipped_batch: int | None = None

    # ---- checks --------------------------------------------------------------------------
    def losses_ok(self, system: L.LightningModule, values: Mapping[str, Tensor], what: str) -> bool:
        """True when every value is finite. Otherwise raises ("stop") or returns False
        ("skip": the caller skips the rest of the batch). `what` names the network whose
        objective these are ("generator", "discriminator")."""
        values = {k: v.detach() for k, v in values.items()}
        ok = bool(torch.stack([torch.isfinite(v).all() for v in values.values()]).all())
        if _agreed(system, ok):
            return True
        bad = [f"`{k}` = {_describe(v)}" for k, v in values.items() if not torch.isfinite(v).all()]
        found = ", ".join(bad) or "a non-finite value on another process"
        return self._handle(system, f"the {what} loss is not finite ({found})")

    def gradients_ok(self, system: L.LightningModule, optimizer: Optimizer) -> bool:
        """True when the gradients of `optimizer`'s parameters are finite. Otherwise raises
        ("stop") or clears them, so that the optimiser step changes nothing ("skip")."""
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = [p.grad for p in params if p.grad is not None]
        if not grads or _has_grad_scaler(system):
            return True
        ok = bool(torch.isfinite(torch.nn.utils.get_total_norm(grads)))
        if _agreed(system, ok):
            return True
        names = {id(p): n for n, p in system.named_parameters()}
        bad = [names.get(id(p), "?") for p in params if _nonfinite_grad(p)]
        found = f"{bad[0]} and {len(bad) - 1} more" if len(bad) > 1 else (bad or ["?"])[0]
        self._handle(system, f"the gradient is not finite ({found})")
        for p in params:  # reached only in "skip" mode: the step then changes nothing
            p.grad = None
        return False

    # ---- outcome -------------------------------------------------------------------------
    def _handle(self, system: L.LightningModule, problem: str) -> bool:
        trainer = system._trainer  # None outside a Trainer (unit tests)
        where = _where(trainer)
        if self.mode == "stop":
            raise NonFiniteError(
                f"training diverged at {where}: {problem}. The run stopped "
                f"(model.nonfinite=stop) before this step changed any weight. "
                f"{_resume_hint(trainer)} Or set model.nonfinite=skip to skip such batches "
                f"(at most model.nonfinite_max_skips={self.max_skips})."
            )
        batch = trainer.fit_loop.total_batch_idx if trainer is not None else None
        if batch is None or batch != self._skipped_batch:
            self.skipped += 1
            self._skipped_batch = batch
        if self.skipped > self.max_skips:
            raise NonFiniteError(
                f"training diverged: {self.skipped} batches had non-finite values, more than "
                f"model.nonfinite_max_skips={self.max_skips}; the last at {where}: {problem}. "
                f"{_resume_hint(trainer)}"
            )
        log.warning(
            "skipped at %s: %s (%d of at most %d skipped batches, model.nonfinite=skip)",
            where,
            problem,
            self.skipped,
            self.max_skips,
        )
        if trainer is not None:
            system.log("train/nonfinite_skips", float(self.skipped), reduce_fx="max")
        return False


def _agreed(system: L.LightningModule, ok: bool) -> bool:
    # Every process must take the same branch: a rank that skips a backward pass while the
    # others run theirs would hang DDP's gradient all-reduce.
    trainer = system._trainer
    return bool(trainer.strategy.reduce_boolean_decision(ok, all=True)) if trainer else ok


def _has_grad_scaler(system: L.LightningModule) -> bool:
    trainer = system._trainer
    return trainer is not None and getattr(trainer.precision_plugin, "scaler", None) is not None


def _nonfinite_grad(p: nn.Parameter) -> bool:
    return p.grad is not None and not bool(torch.isfinite(p.grad).all())


def _where(trainer: L.Trainer | None) -> str:
    if trainer is None:
        return "a training step"
    iteration = trainer.fit_loop.total_batch_idx + 1
    return (
        f"generator iteration {iteration} (global step {trainer.global_step}, "
        f"epoch {trainer.current_epoch})"
    )


def _resume_hint(trainer: L.Trainer | None) -> str:
    path = last_good_checkpoint(trainer)
    if path is None:
        return (
            "No checkpoint was written before it (callbacks.last_checkpoint.every_n_iterations "
            "and every_minutes set how often last.ckpt is written)."
        )
    return (
        f"The last good checkpoint is '{path}': resume with ckpt_path={path} and a lower "
        "learning rate or gradient clipping (model.grad_clip_g / model.grad_clip_d)."
    )
