"""Discriminators: parameter counts, receptive field, output shapes, size errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from restoregan.nets.discriminators.global_discriminator import GlobalDiscriminator
from restoregan.nets.discriminators.patchgan import PatchGANDiscriminator, receptive_field
from restoregan.nets.summary import count_parameters


def test_deblurgan_patchgan_has_2_764_737_parameters() -> None:
    assert count_parameters(PatchGANDiscriminator()) == 2_764_737


def test_patchgan_layout_follows_deblurgan_2018() -> None:
    convs = [m for m in PatchGANDiscriminator().modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.padding == (2, 2) and c.kernel_size == (4, 4) for c in convs)
    norms = [m for m in PatchGANDiscriminator().modules() if isinstance(m, nn.InstanceNorm2d)]
    assert [n.num_features for n in norms] == [128, 256, 512]  # none after the first conv


def test_patchgan_receptive_field_is_70() -> None:
    assert PatchGANDiscriminator().receptive_field == 70
    assert PatchGANDiscriminator(padding=1).receptive_field == 70  # padding does not change it
    assert PatchGANDiscriminator(n_layers=1).receptive_field == 16
    assert PatchGANDiscriminator(n_layers=5).receptive_field == 286


def test_receptive_field_of_a_plain_chain() -> None:
    chain = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, 2), nn.Conv2d(1, 1, 3))
    assert receptive_field(chain) == 1 + 2 + 2 + 2 * 2


def test_receptive_field_matches_the_gradient_footprint() -> None:
    # Empirical check: one output score depends on exactly a 70x70 input window.
    discriminator = PatchGANDiscriminator(ndf=4, norm="none", padding=0)
    x = torch.randn(1, 3, 96, 96, requires_grad=True)
    discriminator(x)[0, 0, 0, 0].backward()
    rows, cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1)), as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)


@pytest.mark.parametrize("norm", ["instance", "batch", "none", "spectral"])
def test_patchgan_norms_run(norm: str) -> None:
    discriminator = PatchGANDiscriminator(ndf=8, norm=norm)
    y = discriminator(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert y.shape == (2, 1, 11, 11)  # padding 2 enlarges DeblurGAN's map vs pix2pix
    assert discriminator.input_size is None


def test_patchgan_spectral_norm_keeps_the_count() -> None:
    discriminator = PatchGANDiscriminator(norm="spectral")
    assert count_parameters(discriminator) == 2_764_737
    assert not any(
        isinstance(m, nn.InstanceNorm2d | nn.BatchNorm2d) for m in discriminator.modules()
    )


def test_patchgan_bias_only_when_not_batch_norm() -> None:
    convs = [m for m in PatchGANDiscriminator(norm="batch").modules() if isinstance(m, nn.Conv2d)]
    assert [c.bias is not None for c in convs] == [True, False, False, False, True]


def test_global_discriminator_has_3_098_370_keras_parameters_at_256() -> None:
    discriminator = GlobalDiscriminator(input_size=256)
    assert count_parameters(discriminator, keras=True) == 3_098_370
    convs = sum(
        p.numel()
        for m in discriminator.modules()
        if isinstance(m, nn.Conv2d)
        for p in m.parameters()
    )
    dense = sum(
        p.numel()
        for m in discriminator.modules()
        if isinstance(m, nn.Linear)
        for p in m.parameters()
    )
    assert (convs, dense) == (2_830_337, 264_193)


@pytest.mark.parametrize("output_activation", ["sigmoid", "none"])
def test_global_discriminator_forward(output_activation: str) -> None:
    discriminator = GlobalDiscriminator(input_size=32, ndf=4, output_activation=output_activation)
    y = discriminator(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert y.shape == (2, 1)
    assert discriminator.input_size == 32
    if output_activation == "sigmoid":
        assert bool(((y > 0) & (y < 1)).all())


@pytest.mark.parametrize("norm", ["instance", "none", "spectral"])
def test_global_discriminator_norm_variants(norm: str) -> None:
    discriminator = GlobalDiscriminator(input_size=32, ndf=4, norm=norm)
    assert discriminator(torch.rand(2, 3, 32, 32)).shape == (2, 1)


def test_global_discriminator_wrong_size_is_a_clear_error() -> None:
    discriminator = GlobalDiscriminator(input_size=32, ndf=4)
    with pytest.raises(ValueError, match=r"32x32.*48x48"):
        discriminator(torch.rand(1, 3, 48, 48))
    with pytest.raises(ValueError, match=r"32x40"):
        discriminator(torch.rand(1, 3, 32, 40))


def test_global_discriminator_uses_keras_same_padding() -> None:
    discriminator = GlobalDiscriminator(input_size=256)
    shapes = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[-2:])))
        for m in discriminator.modules()
        if isinstance(m, nn.Conv2d)
    ]
    discriminator.eval()(torch.zeros(1, 3, 256, 256))
    for hook in hooks:
        hook.remove()
    assert shapes == [(128, 128), (64, 64), (32, 32), (16, 16), (16, 16), (16, 16)]


def test_patchgan_spectral_norm_option_keeps_the_norm_layers() -> None:
    from torch.nn.utils import parametrize

    plain = PatchGANDiscriminator(ndf=8)
    spectral = PatchGANDiscriminator(ndf=8, spectral_norm=True)
    convs = [m for m in spectral.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in spectral.modules())
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())
    count = sum(p.numel() for p in plain.parameters())
    assert sum(p.numel() for p in spectral.parameters()) == count
    # Every conv's largest singular value is ~1 after some power iterations (one per
    # training forward; the vectors registered before the N(0, 0.02) init start off).
    spectral.train()
    x = torch.randn(1, 3, 16, 16)
    for _ in range(30):
        spectral(x)
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert abs(float(sigma) - 1.0) < 0.05
