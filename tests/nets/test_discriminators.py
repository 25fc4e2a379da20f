"""Critics: parameter counts, receptive field, output shapes, size errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from restoregan.nets.discriminators.global_critic import GlobalCritic
from restoregan.nets.discriminators.patchgan import PatchGANCritic, receptive_field
from restoregan.nets.params import count_parameters


def test_deblurgan_patchgan_has_2_764_737_parameters() -> None:
    assert count_parameters(PatchGANCritic()) == 2_764_737


def test_patchgan_layout_follows_deblurgan_2018() -> None:
    convs = [m for m in PatchGANCritic().modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.padding == (2, 2) and c.kernel_size == (4, 4) for c in convs)
    norms = [m for m in PatchGANCritic().modules() if isinstance(m, nn.InstanceNorm2d)]
    assert [n.num_features for n in norms] == [128, 256, 512]  # none after the first conv


def test_patchgan_receptive_field_is_70() -> None:
    assert PatchGANCritic().receptive_field == 70
    assert PatchGANCritic(padding=1).receptive_field == 70  # padding does not change it
    assert PatchGANCritic(n_layers=1).receptive_field == 16
    assert PatchGANCritic(n_layers=5).receptive_field == 286


def test_receptive_field_of_a_plain_chain() -> None:
    chain = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, 2), nn.Conv2d(1, 1, 3))
    assert receptive_field(chain) == 1 + 2 + 2 + 2 * 2


def test_receptive_field_matches_the_gradient_footprint() -> None:
    # Empirical check: one output score depends on exactly a 70x70 input window.
    critic = PatchGANCritic(ndf=4, norm="none", padding=0)
    x = torch.randn(1, 3, 96, 96, requires_grad=True)
    critic(x)[0, 0, 0, 0].backward()
    rows, cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1)), as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)


@pytest.mark.parametrize("norm", ["instance", "batch", "none", "spectral"])
def test_patchgan_norms_run(norm: str) -> None:
    critic = PatchGANCritic(ndf=8, norm=norm)
    y = critic(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert y.shape == (2, 1, 11, 11)  # padding 2 enlarges DeblurGAN's map vs pix2pix
    assert critic.input_size is None


def test_patchgan_spectral_norm_keeps_the_count() -> None:
    critic = PatchGANCritic(norm="spectral")
    assert count_parameters(critic) == 2_764_737
    assert not any(isinstance(m, nn.InstanceNorm2d | nn.BatchNorm2d) for m in critic.modules())


def test_patchgan_bias_only_when_not_batch_norm() -> None:
    convs = [m for m in PatchGANCritic(norm="batch").modules() if isinstance(m, nn.Conv2d)]
    assert [c.bias is not None for c in convs] == [True, False, False, False, True]


def test_global_critic_has_3_098_370_keras_parameters_at_256() -> None:
    critic = GlobalCritic(input_size=256)
    assert count_parameters(critic, keras=True) == 3_098_370
    convs = sum(
        p.numel() for m in critic.modules() if isinstance(m, nn.Conv2d) for p in m.parameters()
    )
    dense = sum(
        p.numel() for m in critic.modules() if isinstance(m, nn.Linear) for p in m.parameters()
    )
    assert (convs, dense) == (2_830_337, 264_193)


@pytest.mark.parametrize("output_activation", ["sigmoid", "none"])
def test_global_critic_forward(output_activation: str) -> None:
    critic = GlobalCritic(input_size=32, ndf=4, output_activation=output_activation)
    y = critic(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert y.shape == (2, 1)
    assert critic.input_size == 32
    if output_activation == "sigmoid":
        assert bool(((y > 0) & (y < 1)).all())


@pytest.mark.parametrize("norm", ["instance", "none", "spectral"])
def test_global_critic_norm_variants(norm: str) -> None:
    critic = GlobalCritic(input_size=32, ndf=4, norm=norm)
    assert critic(torch.rand(2, 3, 32, 32)).shape == (2, 1)


def test_global_critic_wrong_size_is_a_clear_error() -> None:
    critic = GlobalCritic(input_size=32, ndf=4)
    with pytest.raises(ValueError, match=r"32x32.*48x48"):
        critic(torch.rand(1, 3, 48, 48))
    with pytest.raises(ValueError, match=r"32x40"):
        critic(torch.rand(1, 3, 32, 40))


def test_global_critic_uses_keras_same_padding() -> None:
    critic = GlobalCritic(input_size=256)
    shapes = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[-2:])))
        for m in critic.modules()
        if isinstance(m, nn.Conv2d)
    ]
    critic.eval()(torch.zeros(1, 3, 256, 256))
    for hook in hooks:
        hook.remove()
    assert shapes == [(128, 128), (64, 64), (32, 32), (16, 16), (16, 16), (16, 16)]
