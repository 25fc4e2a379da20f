"""Adversarial strategies against hand-computed values.

Shared scores: d_real = [2, 0] (mean 1), d_fake = [-1, 2] (mean 0.5).
BCE with logits: target 1 -> softplus(-x), target 0 -> softplus(x), softplus(x) = log(1 + e^x).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from restoregan.losses.adversarial import (
    LSGAN,
    WGAN,
    WGANGP,
    AdversarialLoss,
    Hinge,
    RaGAN,
    RaLSGAN,
    Vanilla,
)

D_REAL = torch.tensor([2.0, 0.0])
D_FAKE = torch.tensor([-1.0, 2.0])


def sp(x: float) -> float:
    return math.log1p(math.exp(x))


# Each row: strategy, discriminator loss, generator loss, worked out by hand.
CASES = [
    # discriminator: mean(sp(-2), sp(0)) + mean(sp(-1), sp(2)) = 0.410038 + 1.220095
    # generator: mean(sp(1), sp(-2)) = 0.720095
    (Vanilla(), (sp(-2) + sp(0)) / 2 + (sp(-1) + sp(2)) / 2, (sp(1) + sp(-2)) / 2),
    # discriminator: mean((2-1)^2, (0-1)^2) + mean(1, 4) = 1 + 2.5; generator: mean(4, 1) = 2.5
    (LSGAN(), 3.5, 2.5),
    # discriminator: 0.5 - 1; generator: -0.5
    (WGAN(), -0.5, -0.5),
    (WGANGP(), -0.5, -0.5),
    # discriminator: mean(relu(-1), relu(1)) + mean(relu(0), relu(3)) = 0.5 + 1.5; generator: -0.5
    (Hinge(), 2.0, -0.5),
    # r = d_real - 0.5 = [1.5, -0.5], f = d_fake - 1 = [-2, 1]
    # discriminator: (mean(sp(-1.5), sp(0.5)) + mean(sp(-2), sp(1))) / 2 = (0.587745 + 0.720095) / 2
    # generator: (mean(sp(1.5), sp(-0.5)) + mean(sp(2), sp(-1))) / 2 = (1.087745 + 1.220095) / 2
    (
        RaGAN(),
        ((sp(-1.5) + sp(0.5)) / 2 + (sp(-2) + sp(1)) / 2) / 2,
        ((sp(1.5) + sp(-0.5)) / 2 + (sp(2) + sp(-1)) / 2) / 2,
    ),
    # discriminator: (mean((r-1)^2) + mean((f+1)^2)) / 2 = (mean(0.25, 2.25) + mean(1, 4)) / 2
    # generator: (mean((r+1)^2) + mean((f-1)^2)) / 2 = (mean(6.25, 0.25) + mean(9, 0)) / 2
    (RaLSGAN(), (1.25 + 2.5) / 2, (3.25 + 4.5) / 2),
]


@pytest.mark.parametrize(
    ("loss", "discriminator", "generator"), CASES, ids=[type(c[0]).__name__ for c in CASES]
)
def test_hand_computed_values(
    loss: AdversarialLoss, discriminator: float, generator: float
) -> None:
    assert loss.discriminator_loss(D_REAL, D_FAKE).item() == pytest.approx(discriminator, abs=1e-6)
    assert loss.generator_loss(D_REAL, D_FAKE).item() == pytest.approx(generator, abs=1e-6)
    # Any score shape (B, ...): a PatchGAN-like (B, 1, h, w) layout gives the same means.
    patch_real, patch_fake = D_REAL.view(1, 1, 1, 2), D_FAKE.view(1, 1, 2, 1)
    assert loss.discriminator_loss(patch_real, patch_fake).item() == pytest.approx(
        discriminator, abs=1e-6
    )


def test_attributes() -> None:
    assert WGAN().clip_value == 0.01
    assert WGAN(clip_value=None).clip_value is None
    assert all(s.clip_value is None for s in (Vanilla(), LSGAN(), WGANGP(), Hinge(), RaGAN()))
    assert RaGAN().needs_real_for_generator and RaLSGAN().needs_real_for_generator
    assert not any(s.needs_real_for_generator for s in (Vanilla(), LSGAN(), WGAN(), Hinge()))
    discriminator = nn.Linear(4, 1)
    x = torch.zeros(2, 4)
    assert all(s.penalty(discriminator, x, x) is None for s in (Vanilla(), WGAN(), RaLSGAN()))
    assert repr(WGANGP()) == "WGANGP(lambda_gp=10.0, reference_quirk=False)"


@pytest.mark.parametrize("loss", [RaGAN(), RaLSGAN()])
def test_relativistic_generator_needs_real(loss: AdversarialLoss) -> None:
    with pytest.raises(ValueError, match="needs d_real"):
        loss.generator_loss(None, D_FAKE)


def test_wgan_rejects_non_positive_clip() -> None:
    with pytest.raises(ValueError, match="clip_value"):
        WGAN(clip_value=0.0)


def linear_discriminator(w: Tensor):
    """D(x) = sum(w * x) per sample: its gradient is w at every point."""
    return lambda x: (x * w).flatten(1).sum(1)


def test_gp_linear_discriminator_exact() -> None:
    # ||w|| = 3 over a whole (3, 4, 4) sample -> GP = 10 * (3 - 1)^2 = 40, for any alpha.
    w = torch.full((3, 4, 4), 3.0 / math.sqrt(48))
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    assert WGANGP().penalty(linear_discriminator(w), real, fake).item() == pytest.approx(
        40.0, rel=1e-5
    )
    # The reference's per-pixel norm over 3 channels is sqrt(3) * 3 / sqrt(48) = 0.75
    # -> 10 * (0.75 - 1)^2 = 0.625: the quirk is a different penalty.
    quirk = WGANGP(reference_quirk=True).penalty(linear_discriminator(w), real, fake)
    assert quirk.item() == pytest.approx(0.625, rel=1e-5)


def test_gp_per_sample_norm_and_one_weight_per_sample() -> None:
    # D(x) = 0.5 * sum(x^2) has gradient x: the norm at the interpolate is ||x_i||, which
    # differs per sample. With fake = 0 the interpolate is alpha_i * real_i.
    seen: list[Tensor] = []

    def discriminator(x: Tensor) -> Tensor:
        seen.append(x.detach().clone())
        return 0.5 * (x**2).flatten(1).sum(1)

    real = torch.arange(1.0, 5.0).view(4, 1, 1, 1) * torch.rand(4, 3, 5, 5).add(0.5)
    fake = torch.zeros_like(real)
    gp = WGANGP(lambda_gp=10.0).penalty(discriminator, real, fake)

    (mixed,) = seen
    alpha = mixed / real  # (B, C, H, W): must be constant within each sample
    per_sample = alpha.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-6)
    assert per_sample[:, 0].unique().numel() == 4  # one independent draw per sample
    expected = 10.0 * ((mixed.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gp_float32_under_bf16_autocast_and_graph_to_discriminator_only() -> None:
    conv = nn.Conv2d(3, 1, 3, padding=1)
    dtypes: list[torch.dtype] = []

    def discriminator(x: Tensor) -> Tensor:
        out = conv(x)
        dtypes.append(out.dtype)
        return out

    real = torch.rand(2, 3, 8, 8)
    fake = torch.rand(2, 3, 8, 8, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv(real).dtype == torch.bfloat16  # autocast is really on out here
        gp = WGANGP().penalty(discriminator, real.bfloat16(), fake)
    assert gp.dtype == torch.float32 and torch.isfinite(gp)
    assert dtypes[-1] == torch.float32
    gp.backward()  # create_graph: the penalty trains the discriminator...
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()
    assert fake.grad is None  # ...and never reaches the generator
