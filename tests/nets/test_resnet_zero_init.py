"""ResnetGenerator(zero_init_last=True): a residual generator that starts as the identity."""

from __future__ import annotations

import torch

from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.summary import count_parameters


def test_starts_as_the_identity_and_then_learns() -> None:
    g = ResnetGenerator(ngf=8, n_blocks=2, zero_init_last=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(g(x), x)  # clamp(x + tanh(0)) = x exactly
    # Not a dead layer: the last conv gets a gradient and the output moves after a step.
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    torch.nn.functional.l1_loss(g(x), target).backward()
    assert g.tail.conv.weight.grad.abs().sum() > 0
    torch.optim.SGD(g.parameters(), lr=0.1).step()
    assert not torch.equal(g(x), x)


def test_default_keeps_the_reference_init_and_the_parameter_count() -> None:
    torch.manual_seed(0)
    reference = ResnetGenerator(ngf=8, n_blocks=2)
    torch.manual_seed(0)
    zero = ResnetGenerator(ngf=8, n_blocks=2, zero_init_last=True)
    assert reference.tail.conv.weight.abs().sum() > 0  # N(0, 0.02), DeblurGAN's init
    assert count_parameters(zero) == count_parameters(reference)
    # Only the last conv differs; everything before it is the same seeded init.
    ref_state, zero_state = reference.state_dict(), zero.state_dict()
    differs = [k for k in ref_state if not torch.equal(ref_state[k], zero_state[k])]
    assert differs == ["tail.conv.weight", "tail.conv.bias"] or differs == ["tail.conv.weight"]
