"""Adversarial regime: `d_steps` discriminator steps, then one generator step, per batch.

Manual optimisation, as in Lightning's GAN example. One module holds both networks, so
DDP needs `find_unused_parameters=True` (conf/trainer/ddp.yaml): the discriminator step does
not touch the generator and vice versa.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau

from restoregan.losses.adversarial import AdversarialLoss
from restoregan.nets.contract import Discriminator, require
from restoregan.systems.base import OptimizerFactory, RestorationSystem, SchedulerFactory


class AdversarialSystem(RestorationSystem):
    """Conditional GAN training for restoration.

    The discriminator sees only restored or sharp images (never the blurred input), as in
    DeblurGAN. Each batch: the generator runs once; the discriminator takes `d_steps` steps on
    that detached output (the DeblurGAN reference reuses the batch for all discriminator steps);
    then the generator takes one step on the loss's objective, given the discriminator's scores
    (`GeneratorLoss` adds the weighted adversarial term to the content terms).

    Note: Lightning's `global_step` counts every optimiser step, so one batch advances it
    by `d_steps + 1`; `trainer.max_steps` is in those units.

    Args (beyond `RestorationSystem`):
        discriminator: the discriminator; raw scores out (see DEVELOPERS.md).
        optimizer_d / scheduler_d: partials for the discriminator, like the generator's.
        d_steps: discriminator steps per generator step (5 for WGAN-GP in DeblurGAN).
        grad_clip_g / grad_clip_d: max gradient norm, or None for no clipping.
    """

    def __init__(
        self,
        *,
        discriminator: Discriminator,
        optimizer_d: OptimizerFactory,
        scheduler_d: SchedulerFactory | None = None,
        d_steps: int = 1,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if getattr(self.loss, "adversarial", None) is None:
            raise ValueError("AdversarialSystem needs a loss recipe with an `adversarial` term")
        if d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}")
        require(discriminator, Discriminator, "discriminator")
        self.automatic_optimization = False
        self.discriminator = discriminator
        self.optimizer_d = optimizer_d
        self.scheduler_d = scheduler_d
        self.d_steps = d_steps
        self.grad_clip = {"g": grad_clip_g, "d": grad_clip_d}
        self.hparams.update(
            discriminator=type(discriminator).__name__,
            discriminator_params=sum(p.numel() for p in discriminator.parameters()),
            d_steps=d_steps,
            grad_clip_g=grad_clip_g,
            grad_clip_d=grad_clip_d,
        )

    @property
    def adversarial(self) -> AdversarialLoss:
        """The GAN loss strategy; the system uses it for the discriminator step."""
        return self.loss.adversarial

    def on_fit_start(self) -> None:
        # A discriminator with dense layers needs one input size; fail now rather than after an
        # epoch of data loading when the first discriminator step hits a shape error.
        size = self.discriminator.input_size
        crop = getattr(getattr(self.trainer, "datamodule", None), "crop_size", None)
        if size is not None and crop is not None and int(size) != int(crop):
            raise ValueError(
                f"{type(self.discriminator).__name__} is built for {size}x{size} inputs but the "
                f"training crop is {crop}x{crop} (data.crop_size). Set discriminator.input_size="
                f"{crop} or data.crop_size={size}; the discriminator's dense layer depends on it."
            )

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        with self.step_rng():
            self._adversarial_step(batch)

    def _adversarial_step(self, batch: dict[str, Any]) -> None:
        opt_g, opt_d = self.optimizers()
        real = self.to_net(batch["target"])
        fake, extras = self.generate(batch)  # extras: the blur mask (and SR-GN's logits)
        bs = real.shape[0]

        self.toggle_optimizer(opt_d)
        for _ in range(self.d_steps):
            d_loss, stats = self._discriminator_loss(real, fake.detach())
            if not self.guard.losses_ok(self, {"d_loss": d_loss, **stats}, "discriminator"):
                self.untoggle_optimizer(opt_d)
                return  # model.nonfinite=skip: the rest of the batch is skipped
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            opt_d.step()
            if self.adversarial.clip_value is not None:
                self._clip_discriminator_weights(self.adversarial.clip_value)
        self.untoggle_optimizer(opt_d)

        self.toggle_optimizer(opt_g)
        d_real = (
            self.discriminator(real).detach() if self.adversarial.needs_real_for_generator else None
        )
        g_loss, terms = self.loss(
            fake, real, d_fake=self.discriminator(fake), d_real=d_real, **extras
        )
        if not self.guard.losses_ok(self, {**terms, "g_loss": g_loss}, "generator"):
            self.untoggle_optimizer(opt_g)
            return
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        if self.scheduler_interval == "step":
            self._step_schedulers()
        logs = {"train/d_loss": d_loss, "train/g_loss": g_loss, **stats}
        logs.update({f"train/{k}": v for k, v in terms.items()})
        self.log_train(logs, batch_size=bs)

    def _discriminator_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        d_real, d_fake = self.discriminator(real), self.discriminator(fake)
        loss = self.adversarial.discriminator_loss(d_real, d_fake)
        # The same gap for every loss, named for what it means: a Wasserstein estimate
        # only for the WGAN losses, the plain score gap otherwise.
        gap = "train/wasserstein" if self.adversarial.estimates_wasserstein else "train/d_gap"
        stats = {gap: (d_real.mean() - d_fake.mean()).detach()}
        gp = self.adversarial.penalty(self.discriminator, real, fake)
        if gp is not None:
            loss = loss + gp
            stats["train/gp"] = gp.detach()
        return loss, stats

    @torch.no_grad()
    def _clip_discriminator_weights(self, value: float) -> None:
        # WGAN (Arjovsky et al.): clip discriminator weights to a box after every discriminator step.
        for p in self.discriminator.parameters():
            p.clamp_(-value, value)

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        # Runs after AMP has unscaled the gradients, so the clip threshold means the same
        # thing in 32-bit, bf16-mixed and 16-mixed runs.
        super().on_before_optimizer_step(optimizer)  # the non-finite gradient guard
        opt_g, _ = self.optimizers()
        which, net = (
            ("g", self.generator) if optimizer is opt_g.optimizer else ("d", self.discriminator)
        )
        if self.grad_clip[which] is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), self.grad_clip[which])

    def _schedulers(self) -> list[Any]:
        # Plateau schedules are stepped on validation results (RestorationSystem).
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return []
        schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
        return [s for s in schedulers if not isinstance(s, ReduceLROnPlateau)]

    def _step_schedulers(self) -> None:
        for sched in self._schedulers():
            sched.step()

    def on_train_epoch_start(self) -> None:
        # Epoch schedules catch up to the epoch count instead of stepping at epoch end:
        # last.ckpt is written at validation end, before any epoch-end hook, so a resumed
        # run would otherwise be one step behind an uninterrupted one.
        if self.scheduler_interval == "epoch":
            for sched in self._schedulers():
                while sched.last_epoch < self.current_epoch:
                    sched.step()

    def configure_optimizers(self) -> list[dict[str, Any]]:
        return [
            self._build_optimizer(self.optimizer_g, self.generator.parameters(), self.scheduler_g),
            self._build_optimizer(
                self.optimizer_d, self.discriminator.parameters(), self.scheduler_d
            ),
        ]
