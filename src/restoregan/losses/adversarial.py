"""Adversarial losses as strategy objects.

Every strategy works on RAW discriminator scores (no sigmoid applied): ``d_real = D(real)`` and
``d_fake = D(fake)`` of any shape ``(B, ...)`` (``(B, 1)`` for a global discriminator,
``(B, 1, h, w)`` for PatchGAN); means run over every element. The system calls

- ``discriminator_loss(d_real, d_fake) + penalty(discriminator, real, fake)`` on the discriminator step,
  with ``d_fake`` computed from a detached restored image;
- after each discriminator step, clamps the discriminator weights to ``[-clip_value, clip_value]``
  when ``clip_value`` is not None;
- ``generator_loss(d_real, d_fake)`` on the generator step; ``d_real`` may be None unless
  ``needs_real_for_generator`` (relativistic losses).

Constant factors on a discriminator loss are irrelevant under Adam (scale-invariant); on the
generator loss they matter because it is weighted against the content terms, so the
relativistic losses keep the /2 of the code their weights were tuned with.

The suite says "discriminator" throughout; WGAN's critic is the same network, trained
with the Wasserstein loss (``estimates_wasserstein``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _require_real(d_real: Tensor | None, name: str) -> Tensor:
    if d_real is None:
        raise ValueError(f"{name}.generator_loss needs d_real = D(real) (relativistic loss)")
    return d_real


class AdversarialLoss(nn.Module, ABC):
    """Common interface; subclasses define the two losses and optionally a penalty."""

    clip_value: float | None = None
    needs_real_for_generator: bool = False
    # Whether mean(D(real)) - mean(D(fake)) estimates a Wasserstein distance (the WGAN
    # losses), so the system may log it under that name.
    estimates_wasserstein: bool = False

    @abstractmethod
    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        """Scalar loss the discriminator minimises."""

    @abstractmethod
    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        """Scalar loss the generator minimises (``d_fake`` must carry the generator's graph)."""

    def penalty(
        self, discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor
    ) -> Tensor | None:
        """Extra discriminator term (gradient penalty), or None when the loss has none."""
        return None

    def hparams(self) -> dict[str, float | bool | None]:
        """Constructor arguments, for hyper-parameter logging."""
        return {}

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.hparams().items())


class Vanilla(AdversarialLoss):
    """Goodfellow et al. 2014 with the non-saturating generator loss, on logits.

    discriminator: BCE(D(real), 1) + BCE(D(fake), 0); generator: BCE(D(fake), 1).
    """

    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return _bce(d_real, 1.0) + _bce(d_fake, 0.0)

    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        return _bce(d_fake, 1.0)


class LSGAN(AdversarialLoss):
    """Least squares (Mao et al. 2017), targets 1 (real) and 0 (fake).

    discriminator: mean((D(real) - 1)^2) + mean(D(fake)^2); generator: mean((D(fake) - 1)^2).
    """

    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return ((d_real - 1.0) ** 2).mean() + (d_fake**2).mean()

    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        return ((d_fake - 1.0) ** 2).mean()


class WGAN(AdversarialLoss):
    """Wasserstein loss (Arjovsky et al. 2017) with weight clipping.

    discriminator: mean(D(fake)) - mean(D(real)); generator: -mean(D(fake)). The system clamps the
    discriminator's weights to ``[-clip_value, clip_value]`` after each discriminator step;
    ``clip_value=None`` disables clipping (as in the DeblurGAN Keras port, whose discriminator
    ends in a sigmoid instead).
    """

    estimates_wasserstein = True

    def __init__(self, *, clip_value: float | None = 0.01) -> None:
        super().__init__()
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be positive or None, got {clip_value}")
        self.clip_value = None if clip_value is None else float(clip_value)

    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return d_fake.mean() - d_real.mean()

    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        return -d_fake.mean()

    def hparams(self) -> dict[str, float | bool | None]:
        return {"clip_value": self.clip_value}


class WGANGP(WGAN):
    """Wasserstein loss with gradient penalty (Gulrajani et al. 2017); DeblurGAN's loss.

    ``penalty`` = ``lambda_gp * mean_i (||grad_x D(x_i)||_2 - 1)^2`` at
    ``x_i = a_i * real_i + (1 - a_i) * fake_i`` with one ``a_i ~ U(0, 1)`` per sample and
    the norm over each whole sample (C, H, W). It runs in float32 with autocast off: a
    second-order gradient under fp16 autocast overflows to NaN. It needs a float32 discriminator
    (mixed precision, not ``*-true`` precision) and an uncompiled discriminator (``torch.compile``
    has no double backward).

    ``reference_quirk=True`` reproduces the DeblurGAN reference instead: one ``a`` for the
    whole batch and the norm taken per pixel over channels, averaged over pixels.
    """

    def __init__(self, *, lambda_gp: float = 10.0, reference_quirk: bool = False) -> None:
        super().__init__(clip_value=None)
        self.lambda_gp = float(lambda_gp)
        self.reference_quirk = bool(reference_quirk)

    def penalty(
        self, discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor
    ) -> Tensor:
        """``real``, ``fake``: ``(B, C, H, W)`` discriminator inputs -> float32 scalar."""
        with torch.autocast(device_type=real.device.type, enabled=False):
            real = real.detach().float()
            fake = fake.detach().float()
            batch = 1 if self.reference_quirk else real.shape[0]
            alpha = torch.rand(
                (batch,) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype
            )
            mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
            scores = discriminator(mixed).float()
            # The gradient of the summed scores is each sample's own gradient as long as
            # the discriminator treats samples independently (instance/no norm, as WGAN-GP
            # advises); a train-mode BatchNorm discriminator couples them.
            (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
            # Quirk: (B, H, W) norms per pixel over channels. Correct: (B,) per whole sample.
            norms = grad.norm(2, dim=1) if self.reference_quirk else grad.flatten(1).norm(2, dim=1)
            return self.lambda_gp * ((norms - 1.0) ** 2).mean()

    def hparams(self) -> dict[str, float | bool | None]:
        return {"lambda_gp": self.lambda_gp, "reference_quirk": self.reference_quirk}


class Hinge(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN).

    discriminator: mean(relu(1 - D(real))) + mean(relu(1 + D(fake))); generator: -mean(D(fake)).
    """

    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()

    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        return -d_fake.mean()


class RaGAN(AdversarialLoss):
    """Relativistic average GAN (Jolicoeur-Martineau 2018), ESRGAN's form.

    With ``r = D(real) - mean(D(fake))`` and ``f = D(fake) - mean(D(real))``:
    discriminator ``(BCE(r, 1) + BCE(f, 0)) / 2``; generator ``(BCE(r, 0) + BCE(f, 1)) / 2``.
    The /2 follows the ESRGAN code, whose generator weight 5e-3 was tuned with it.
    """

    needs_real_for_generator = True

    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        r, f = d_real - d_fake.mean(), d_fake - d_real.mean()
        return (_bce(r, 1.0) + _bce(f, 0.0)) / 2

    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        d_real = _require_real(d_real, type(self).__name__)
        r, f = d_real - d_fake.mean(), d_fake - d_real.mean()
        return (_bce(r, 0.0) + _bce(f, 1.0)) / 2


class RaLSGAN(AdversarialLoss):
    """Relativistic average least squares: DeblurGAN-v2's ``ragan-ls``.

    With ``r = D(real) - mean(D(fake))`` and ``f = D(fake) - mean(D(real))``:
    discriminator ``(mean((r - 1)^2) + mean((f + 1)^2)) / 2``;
    generator ``(mean((r + 1)^2) + mean((f - 1)^2)) / 2``.
    Form of ``RelativisticDiscLossLS`` in github.com/VITA-Group/DeblurGANv2
    (``models/losses.py``). That code takes the means over an ``ImagePool(50)`` of past
    discriminator outputs; here they are the current batch's, so no state is kept between steps.
    """

    needs_real_for_generator = True

    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        r, f = d_real - d_fake.mean(), d_fake - d_real.mean()
        return (((r - 1.0) ** 2).mean() + ((f + 1.0) ** 2).mean()) / 2

    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        d_real = _require_real(d_real, type(self).__name__)
        r, f = d_real - d_fake.mean(), d_fake - d_real.mean()
        return (((r + 1.0) ** 2).mean() + ((f - 1.0) ** 2).mean()) / 2
