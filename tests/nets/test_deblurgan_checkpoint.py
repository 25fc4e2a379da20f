"""Round trip of the DeblurGAN 2018 generator layout through `load_weights`.

The reference below is written independently of `ResnetGenerator`: it rebuilds the 2018
``model`` nn.Sequential in its original order, so the ``model.N`` keys come from the
structure itself rather than from the loader's index arithmetic. Matching outputs guard
against block-structure slips (a misplaced identity, swapped convs, off-by-one indices).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from restoregan.nets import load_weights
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.weights.core import CheckpointError


def _norm(channels: int) -> nn.InstanceNorm2d:
    # PyTorch 0.3 saved running buffers for InstanceNorm; reproduce them in the state dict.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=True)


class _Block2018(nn.Module):
    def __init__(self, dim: int, dropout: bool) -> None:
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class _Generator2018(nn.Module):
    """``ResnetGenerator`` of DeblurGAN 2018 with ``learn_residual``, instance norm."""

    def __init__(self, ngf: int, n_blocks: int, n_down: int = 2, dropout: bool = True) -> None:
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), _norm(ngf), nn.ReLU(True)]
        for i in range(n_down):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), _norm(2 * c), nn.ReLU(True)]
        layers += [_Block2018(ngf * 2**n_down, dropout) for _ in range(n_blocks)]
        for i in range(n_down):
            c = ngf * 2 ** (n_down - i)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                _norm(c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x + self.model(x), -1, 1)


def _reference(ngf: int = 8, n_blocks: int = 2, **kwargs) -> _Generator2018:
    ref = _Generator2018(ngf, n_blocks, **kwargs)
    with torch.no_grad():
        for name, buf in ref.named_buffers():
            if "running" in name:
                buf.normal_(5.0, 3.0)  # garbage: must be dropped, never used
        for p in ref.parameters():
            p.mul_(3.0)  # larger than default init so every layer visibly matters
    return ref


def _reference_output(ref: _Generator2018, x: torch.Tensor) -> torch.Tensor:
    # PyTorch 0.3 normalised with per-image statistics even in eval mode.
    for m in ref.modules():
        if isinstance(m, nn.InstanceNorm2d):
            m.track_running_stats = False
    with torch.no_grad():
        return ref.eval()(x)


def test_reference_layout_has_the_documented_indices() -> None:
    keys = _reference(ngf=64, n_blocks=9).state_dict()
    for key in ["model.1.weight", "model.4.weight", "model.7.weight", "model.19.weight",
                "model.22.weight", "model.26.weight", "model.10.conv_block.1.weight",
                "model.18.conv_block.6.weight", "model.2.running_mean"]:  # fmt: skip
        assert key in keys


@pytest.mark.parametrize(
    ("ngf", "n_blocks", "kwargs"),
    [(64, 9, {}), (8, 3, {"n_down": 3}), (8, 2, {"dropout": False})],
)
def test_2018_state_dict_round_trip(ngf: int, n_blocks: int, kwargs: dict) -> None:
    ref = _reference(ngf, n_blocks, **kwargs)
    state = ref.state_dict()
    g = ResnetGenerator(ngf=ngf, n_blocks=n_blocks, n_downsampling=kwargs.get("n_down", 2))
    assert load_weights(g, state) == "deblurgan2018:<state dict>"
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        ours = g.eval()(x)
    expected = _reference_output(ref, x)
    assert (expected.abs() < 1).float().mean() > 0.5  # not saturated: the test has teeth
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=1e-6)


def test_dataparallel_file_round_trip(tmp_path: Path) -> None:
    ref = _reference()
    path = tmp_path / "latest_net_G.pth"
    torch.save({f"module.{k}": v for k, v in ref.state_dict().items()}, path)
    g = ResnetGenerator(ngf=8, n_blocks=2)
    assert load_weights(g, path) == f"deblurgan2018:{path}"
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(g.eval()(x), _reference_output(ref, x), atol=1e-6, rtol=1e-6)


def test_own_layout_is_accepted() -> None:
    source = ResnetGenerator(ngf=8, n_blocks=2)
    g = ResnetGenerator(ngf=8, n_blocks=2)
    load_weights(g, source.state_dict())
    for a, b in zip(g.state_dict().values(), source.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_config_mismatch_names_both_configs(tmp_path: Path) -> None:
    path = tmp_path / "latest_net_G.pth"
    torch.save(_reference(ngf=8, n_blocks=2).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"latest_net_G\.pth.*'ngf': 8.*'ngf': 16"):
        load_weights(ResnetGenerator(ngf=16, n_blocks=2), path)
    with pytest.raises(CheckpointError, match=r"'n_blocks': 2.*'n_blocks': 3"):
        load_weights(ResnetGenerator(ngf=8, n_blocks=3), path)


def test_incompatible_generator_flags_are_rejected() -> None:
    state = _reference().state_dict()
    with pytest.raises(CheckpointError, match="norm"):
        load_weights(ResnetGenerator(ngf=8, n_blocks=2, norm="batch"), state)
    with pytest.raises(CheckpointError, match="output"):
        load_weights(ResnetGenerator(ngf=8, n_blocks=2, output="tanh"), state)


def test_missing_unexpected_and_mismatched_keys_are_listed() -> None:
    state = _reference().state_dict()
    del state["model.19.bias"]  # last conv at ngf 8, 2 blocks: 4 + 2 * 3 + 2 + 2 * 3 + 1
    state["model.2.weight"] = torch.ones(8)  # affine norm: not in DeblurGAN 2018
    state["model.4.weight"] = torch.zeros(16, 8, 5, 5)
    with pytest.raises(CheckpointError) as info:
        load_weights(ResnetGenerator(ngf=8, n_blocks=2), state)
    message = str(info.value)
    assert "tail.conv.bias" in message  # missing, in our names
    assert "model.2.weight" in message  # unexpected
    assert "down.0.conv.weight: checkpoint (16, 8, 5, 5) vs network (16, 8, 3, 3)" in message


def test_unreadable_or_absent_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"nope\.pth"):
        load_weights(ResnetGenerator(ngf=8, n_blocks=2), tmp_path / "nope.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"bad\.pth"):
        load_weights(ResnetGenerator(ngf=8, n_blocks=2), bad)
    assert issubclass(CheckpointError, ValueError)


def test_own_layout_keeps_batchnorm_buffers() -> None:
    keras = {"norm": "batch", "conv_bias": True, "ngf": 4, "n_blocks": 1}
    source = ResnetGenerator(**keras)
    source.head.norm.running_mean.fill_(0.5)
    g = ResnetGenerator(**keras)
    load_weights(g, source.state_dict())
    assert torch.equal(g.head.norm.running_mean, source.head.norm.running_mean)
