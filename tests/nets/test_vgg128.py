"""VGGStyleDiscriminator (ESRGAN's VGG-128 discriminator): size, shapes, the input-size contract."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from restoregan.nets.discriminators.vgg128 import VGGStyleDiscriminator


def test_parameter_count_and_layout() -> None:
    net = VGGStyleDiscriminator()
    # convs 13,674,240 (bias only on the first; BatchNorm supplies the others' shift)
    # + BatchNorm affine 5,760 + dense 819,401.
    assert sum(p.numel() for p in net.parameters()) == 14_499_401
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2] * 5
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 9
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512 * 4 * 4, 100), (100, 1)]


@pytest.mark.parametrize("size", [32, 64, 128])
def test_output_shape(size: int) -> None:
    net = VGGStyleDiscriminator(nf=8, input_size=size)
    assert net.input_size == size
    assert net(torch.rand(2, 3, size, size)).shape == (2, 1)
    assert net.head[1].in_features == 64 * (size // 32) ** 2


def test_wrong_input_size_names_both_sizes() -> None:
    net = VGGStyleDiscriminator(nf=8, input_size=64)
    with pytest.raises(ValueError, match=r"built for 64x64.*got 96x64"):
        net(torch.rand(1, 3, 96, 64))


@pytest.mark.parametrize("size", [0, 100, 48])
def test_input_size_must_be_a_multiple_of_32(size: int) -> None:
    with pytest.raises(ValueError, match=f"multiple of 32.*got {size}"):
        VGGStyleDiscriminator(input_size=size)
