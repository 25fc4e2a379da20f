"""DeblurGAN's training step as a plain PyTorch loop, for `bench_step.py` to compare with.

Ordered as the 2018 DeblurGAN code orders it (`ConditionalGAN.optimize_parameters`): the
generator runs once; then, 5 times, zero the discriminator's gradients, score the detached
restored image and the sharp one, add the gradient penalty, backward, step; then zero the
generator's gradients, -D(fake) + 100 x VGG19 conv3_3 MSE, backward, step.

``reference=True`` keeps that code's wasted work: the discriminator and the VGG stay
trainable during the generator step (their weight gradients are computed and thrown away),
the sharp image's VGG features are computed with a graph and then detached, and the
discriminator's backward retains the graph. ``reference=False`` drops it, which leaves
exactly the arithmetic of `AdversarialSystem`. Both use the penalty in its correct form
(one interpolation weight per sample, the norm over each sample), as the recipe does.

Mixed precision follows PyTorch's AMP recipe: autocast around each forward pass (with its
weight-cast cache), backward outside it, one GradScaler for 16-mixed. Lightning instead
keeps the whole training step in one autocast context with the cache off (the weights
change between the discriminator steps inside it); the ratio measures that too.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def d_steps(system: nn.Module) -> int:
    """Discriminator steps per generator step."""
    return int(system.d_steps)


class PlainLoop:
    """One DeblurGAN training step per call, on copies of a system's networks."""

    def __init__(self, system: nn.Module, args: argparse.Namespace, *, reference: bool) -> None:
        self.G = copy.deepcopy(system.generator)
        self.D = copy.deepcopy(system.discriminator)
        self.vgg = copy.deepcopy(system.loss.terms.perceptual.vgg)
        self.weight = float(system.loss.weights["perceptual"])
        self.lambda_gp = float(system.loss.adversarial.lambda_gp)
        self.steps_d = d_steps(system)
        self.low, self.high = system.generator.value_range
        self.reference = reference
        if reference:  # the 2018 code never freezes its VGG
            self.vgg.requires_grad_(True)
        # The same options as ours: fused Adam (CUDA only), the generator compiled in place.
        fused = True if args.fused_adam and args.device.type == "cuda" else None
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-4, betas=(0.5, 0.999), fused=fused)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.5, 0.999), fused=fused)
        if args.compile:
            self.G.compile()  # never D: the gradient penalty's double backward
        self.device_type = args.device.type
        self.amp_dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(
            args.precision
        )
        self.scaler = (
            torch.amp.GradScaler(self.device_type) if args.precision == "16-mixed" else None
        )
        mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        self.mean, self.std = mean.to(args.device), std.to(args.device)

    def to(self, device: torch.device, memory_format: torch.memory_format) -> PlainLoop:
        for net in (self.G, self.D, self.vgg):
            net.to(device, memory_format=memory_format)
        return self

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.amp_dtype)

    def backward(self, loss: Tensor, **kwargs: Any) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward(**kwargs)

    def step(self, opt: torch.optim.Optimizer) -> None:
        if self.scaler:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()

    def gradient_penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        """WGAN-GP (one weight per sample, norm over each sample), float32, autocast off."""
        with torch.autocast(self.device_type, enabled=False):
            real, fake = real.detach().float(), fake.detach().float()
            alpha = torch.rand((real.shape[0], 1, 1, 1), device=real.device)
            mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(self.D(mixed).float().sum(), mixed, create_graph=True)
            return self.lambda_gp * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    def perceptual(self, fake: Tensor, real: Tensor) -> Tensor:
        def features(x: Tensor) -> Tensor:
            x01 = (x - self.low) / (self.high - self.low)
            return self.vgg((x01 - self.mean) / self.std)["conv3_3"]

        f_fake = features(fake)
        if self.reference:
            f_real = features(real).detach()
        else:
            with torch.no_grad():
                f_real = features(real)
        return F.mse_loss(f_fake, f_real)

    def __call__(self, batch: dict[str, Any]) -> dict[str, float]:
        blurred = batch["input"] * (self.high - self.low) + self.low
        real = batch["target"] * (self.high - self.low) + self.low
        with self.autocast():
            fake = self.G(blurred)
        for _ in range(self.steps_d):
            self.opt_d.zero_grad()
            with self.autocast():
                loss_d = self.D(fake.detach()).mean() - self.D(real).mean()
            gp = self.gradient_penalty(real, fake)
            loss_d = loss_d + gp
            self.backward(loss_d, retain_graph=self.reference)
            self.step(self.opt_d)

        self.opt_g.zero_grad()
        if not self.reference:
            self.D.requires_grad_(False)
        with self.autocast():
            adv = -self.D(fake).mean()
            perceptual = self.perceptual(fake, real)
            loss_g = adv + self.weight * perceptual
        self.backward(loss_g)
        self.step(self.opt_g)
        if not self.reference:
            self.D.requires_grad_(True)
        return {"d_loss": loss_d, "g_loss": loss_g, "perceptual": perceptual, "adv": adv}
