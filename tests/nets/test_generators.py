"""Generators: parameter counts of the published layer tables, shapes, ranges, flags."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from restoregan.nets.generators.cnn_baseline import CNNBaseline
from restoregan.nets.generators.convdeconv import ConvDeconvGenerator
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.generators.unet_res import UNetResGenerator
from restoregan.nets.layers import ResidualBlock, SamePad2d, same_padding
from restoregan.nets.summary import count_parameters

KERAS_PORT = {
    "norm": "batch",
    "conv_bias": True,
    "upsample": "resize_conv",
    "down_padding": "same",
    "output": "keras_residual",
}


def _in_range(y: torch.Tensor, low: float, high: float) -> bool:
    return bool(y.min() >= low and y.max() <= high)


# --- parameter counts -----------------------------------------------------------------


def test_deblurgan_2018_generator_has_11_378_179_parameters() -> None:
    assert count_parameters(ResnetGenerator()) == 11_378_179


def test_keras_port_generator_counts() -> None:
    g = ResnetGenerator(**KERAS_PORT)
    assert count_parameters(g, keras=True) == 11_399_171  # Table 2 total
    # Conv weights and biases alone are the same as DeblurGAN 2018's.
    convs = sum(
        p.numel()
        for m in g.modules()
        if isinstance(m, nn.Conv2d)
        for p in m.parameters(recurse=False)
    )
    assert convs == 11_378_179


def test_resnet_patchgan_paper_convdeconv_has_3_102_467_parameters() -> None:
    g = ConvDeconvGenerator()
    assert count_parameters(g, keras=True) == 3_102_467
    assert count_parameters(g) == 3_101_955  # trainable


def test_cnn_baseline_is_within_2_percent_of_17_1m() -> None:
    n = count_parameters(CNNBaseline())
    assert abs(n - 17_100_000) / 17_100_000 < 0.02


# --- shapes and value ranges ----------------------------------------------------------


def test_deblurgan_generator_full_size_forward() -> None:
    g = ResnetGenerator().eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    y = g(x)
    assert y.shape == x.shape
    assert _in_range(y, -1, 1)
    assert (g.value_range, g.scale, g.size_multiple) == ((-1.0, 1.0), 1, 4)


FLAGS = list(
    itertools.product(
        ["instance", "batch", "none"],  # norm
        [True, False],  # use_dropout
        ["deconv", "resize_conv"],  # upsample
        ["symmetric", "same"],  # down_padding
        ["residual_clamp", "keras_residual", "tanh"],  # output
        [None, True, False],  # conv_bias
    )
)


@pytest.mark.parametrize(("norm", "dropout", "upsample", "padding", "output", "bias"), FLAGS)
def test_resnet_every_flag_combination_runs(norm, dropout, upsample, padding, output, bias) -> None:
    g = ResnetGenerator(
        ngf=4,
        n_blocks=1,
        norm=norm,
        use_dropout=dropout,
        upsample=upsample,
        down_padding=padding,
        output=output,
        conv_bias=bias,
    )
    x = torch.rand(2, 3, 16, 12) * 2 - 1
    y = g(x)
    assert y.shape == x.shape
    assert _in_range(y, -1, 1)


def test_resnet_output_modes_follow_their_formulas() -> None:
    torch.manual_seed(1)
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    outs = {}
    for output in ("residual_clamp", "keras_residual", "tanh"):
        torch.manual_seed(2)  # same weights for every mode
        outs[output] = ResnetGenerator(ngf=4, n_blocks=1, output=output).eval()(x)
    g = outs["tanh"]
    torch.testing.assert_close(outs["residual_clamp"], torch.clamp(x + g, -1, 1))
    torch.testing.assert_close(outs["keras_residual"], (g + x) / 2)


def test_resnet_rejects_sizes_that_are_not_multiples() -> None:
    g = ResnetGenerator(ngf=4, n_blocks=1, n_downsampling=3)
    assert g.size_multiple == 8
    with pytest.raises(ValueError, match=r"multiples of 8.*12x16"):
        g(torch.zeros(1, 3, 12, 16))


def test_resnet_rejects_unknown_flag_values() -> None:
    with pytest.raises(ValueError, match="upsample"):
        ResnetGenerator(upsample="bilinear")
    with pytest.raises(ValueError, match="norm"):
        ResnetGenerator(norm="group")


def test_bias_follows_the_2018_rule() -> None:
    assert ResnetGenerator(ngf=4, n_blocks=1).head.conv.bias is not None
    assert ResnetGenerator(ngf=4, n_blocks=1, norm="batch").head.conv.bias is None
    assert ResnetGenerator(ngf=4, n_blocks=1, norm="batch").tail.conv.bias is not None


def test_residual_block_adds_the_identity_once() -> None:
    block = ResidualBlock(channels=4, norm="none", use_dropout=False)
    nn.init.zeros_(block.body.conv2.weight)
    nn.init.zeros_(block.body.conv2.bias)
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(block(x), x)  # zero residual branch -> exactly x, not 2x


@pytest.mark.parametrize(("h", "w"), [(17, 23), (32, 32), (9, 40), (31, 7)])
def test_unet_handles_any_size(h: int, w: int) -> None:
    g = UNetResGenerator(base_channels=4, depth=2, blocks_per_level=1)
    x = torch.rand(2, 3, h, w) * 2 - 1
    y = g(x)
    assert y.shape == x.shape
    assert _in_range(y, -1, 1)
    assert (g.value_range, g.scale, g.size_multiple) == ((-1.0, 1.0), 1, 1)


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
@pytest.mark.parametrize("learn_residual", [True, False])
def test_unet_flags(norm: str, learn_residual: bool) -> None:
    g = UNetResGenerator(base_channels=4, depth=3, blocks_per_level=1, norm=norm,
                         learn_residual=learn_residual)  # fmt: skip
    y = g(torch.rand(1, 3, 21, 19) * 2 - 1)
    assert y.shape == (1, 3, 21, 19)
    assert _in_range(y, -1, 1)


def test_convdeconv_keeps_224_and_outputs_0_1() -> None:
    g = ConvDeconvGenerator(encoder_channels=(4, 8, 8), decoder_channels=(8, 8, 4, 4))
    x = torch.rand(1, 3, 224, 224)
    y = g(x)
    assert y.shape == (1, 3, 224, 224)
    assert _in_range(y, 0, 1)
    assert (g.value_range, g.scale, g.size_multiple) == ((0.0, 1.0), 1, 1)


def test_cnn_baseline_shape_range_and_residual() -> None:
    g = CNNBaseline(width=8, depth=5)
    x = torch.rand(2, 3, 13, 17)
    y = g(x)
    assert y.shape == x.shape
    assert _in_range(y, 0, 1)
    assert (g.value_range, g.scale, g.size_multiple) == ((0.0, 1.0), 1, 1)
    nn.init.zeros_(g.body[-1].weight)
    torch.testing.assert_close(g(x), x)  # zero residual -> identity


def test_same_padding_matches_tensorflow() -> None:
    assert same_padding(256, 3, 2) == (0, 1)  # extra pixel bottom/right
    assert same_padding(256, 4, 2) == (1, 1)
    assert same_padding(16, 4, 1) == (1, 2)
    assert same_padding(7, 3, 2) == (1, 1)
    x = torch.zeros(1, 1, 256, 256)
    conv = nn.Conv2d(1, 1, 3, 2)
    assert conv(SamePad2d(3, 2)(x)).shape[-2:] == (128, 128)


def test_init_schemes() -> None:
    conv = ResnetGenerator().blocks[0].body.conv1  # DeblurGAN: N(0, 0.02), zero bias
    assert abs(conv.weight.std().item() - 0.02) < 1e-3
    assert not conv.bias.any()
    keras = ResnetGenerator(ngf=8, n_blocks=1, init="glorot", **KERAS_PORT)
    w = keras.blocks[0].body.conv1.weight  # Glorot uniform: |w| <= sqrt(6 / (fan_in + fan_out))
    assert w.abs().max() <= (6 / (2 * 32 * 9)) ** 0.5
    assert torch.equal(keras.head.norm.weight, torch.ones(8))
