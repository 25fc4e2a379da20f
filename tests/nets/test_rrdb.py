"""RRDBNet (ESRGAN generator): size, shapes at every scale, ESRGAN's init, contracts."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from restoregan.nets.generators.rrdb import RRDBNet

SMALL = {"nf": 8, "n_blocks": 2, "growth": 4}


def test_parameter_count_matches_esrgan() -> None:
    # 16,697,987: the published RRDBNet (nf 64, 23 blocks, growth 32) at x4. Built on the
    # meta device: only shapes are needed, and initialising 16.7M weights takes seconds.
    with torch.device("meta"):
        net = RRDBNet()
    assert sum(p.numel() for p in net.parameters()) == 16_697_987
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


@pytest.mark.parametrize(("scale", "first_in", "multiple"), [(4, 3, 1), (2, 12, 2), (1, 48, 4)])
def test_shapes_and_attributes(scale: int, first_in: int, multiple: int) -> None:
    net = RRDBNet(scale=scale, **SMALL)
    assert net.value_range == (0.0, 1.0)
    assert net.scale == scale
    assert net.size_multiple == multiple
    assert net.conv_first.in_channels == first_in  # pixel-unshuffled input
    x = torch.rand(2, 3, 12, 16)  # (B, 3, h, w), sides divisible by every size_multiple
    assert net(x).shape == (2, 3, 12 * scale, 16 * scale)


def test_lower_scales_differ_from_x4_only_in_the_first_conv() -> None:
    # x2 / x1 reuse the x4 architecture; only conv_first widens, as in BasicSR's releases.
    with torch.device("meta"):
        n4 = sum(p.numel() for p in RRDBNet(scale=4).parameters())
        n2 = sum(p.numel() for p in RRDBNet(scale=2).parameters())
    assert n2 - n4 == (12 - 3) * 64 * 9


def test_dense_block_convs_are_kaiming_scaled_by_a_tenth() -> None:
    net = RRDBNet(nf=64, n_blocks=2, growth=32)
    conv = net.body[0].rdb1.conv5  # fan_in = (64 + 4*32) * 9
    kaiming_std = math.sqrt(2.0 / conv.weight[0].numel())
    assert conv.weight.std().item() == pytest.approx(0.1 * kaiming_std, rel=0.05)
    assert torch.count_nonzero(conv.bias) == 0
    # Convs outside the dense blocks keep PyTorch's default init, which is much larger.
    assert net.conv_body.weight.std().item() > 3 * 0.1 * math.sqrt(2.0 / 576)


def test_every_dense_conv_is_scaled() -> None:
    net = RRDBNet(**SMALL)
    for name, module in net.body.named_modules():
        if isinstance(module, nn.Conv2d):
            fresh = math.sqrt(2.0 / module.weight[0].numel())
            assert module.weight.std().item() < 0.2 * fresh, name


def test_gradients_reach_the_input_and_every_parameter() -> None:
    net = RRDBNet(**SMALL)
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    net(x).mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in net.parameters())


def test_bad_scale_and_bad_input_size_raise() -> None:
    with pytest.raises(ValueError, match="scale 4, 2 or 1"):
        RRDBNet(scale=3)
    with pytest.raises(ValueError, match="multiples of 4; got 10x12"):
        RRDBNet(scale=1, **SMALL)(torch.rand(1, 3, 10, 12))
