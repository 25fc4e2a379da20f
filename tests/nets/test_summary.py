"""Parameter counting conventions and layer tables."""

from __future__ import annotations

import torch
from torch import nn

from restoregan.nets.discriminators.global_discriminator import GlobalDiscriminator
from restoregan.nets.discriminators.patchgan import PatchGANDiscriminator
from restoregan.nets.generators.convdeconv import ConvDeconvGenerator
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.summary import count_parameters, format_table, layer_table


def test_keras_counting_adds_batchnorm_moving_statistics_only() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3),  # 224
        nn.BatchNorm2d(8),  # 16 params + 16 moving stats (+ num_batches_tracked, never)
        nn.InstanceNorm2d(8, affine=True, track_running_stats=True),  # 16 params, no extras
    )
    assert count_parameters(net) == 224 + 16 + 16
    assert count_parameters(net, keras=True) == 224 + 16 + 16 + 16


def test_count_parameters_includes_frozen_and_counts_shared_once() -> None:
    conv = nn.Conv2d(1, 1, 1)
    net = nn.Sequential(conv, conv, nn.Linear(2, 2))
    net[2].requires_grad_(False)
    assert count_parameters(net) == 2 + 6


def test_layer_table_of_the_keras_port_discriminator_reproduces_table_3() -> None:
    rows = layer_table(GlobalDiscriminator(input_size=256), keras=True)
    convs = [r for r in rows if r["type"] == "Conv2d"]
    assert [r["params"] for r in convs] == [3136, 65600, 131200, 524544, 2097664, 8193]
    assert [r["kernel"] for r in convs] == [(4, 4)] * 6
    assert [r["stride"][0] for r in convs] == [2, 2, 2, 2, 1, 1]
    assert [(r["in_channels"], r["out_channels"]) for r in convs] == [
        (3, 64), (64, 64), (64, 128), (128, 256), (256, 512), (512, 1),
    ]  # fmt: skip
    assert convs[-1]["output_shape"] == (1, 1, 16, 16)
    assert sum(r["params"] for r in rows) == 3_098_370


def test_layer_table_of_the_convdeconv_generator_reproduces_its_summary() -> None:
    rows = layer_table(ConvDeconvGenerator(), input_shape=(1, 3, 32, 32), keras=True)
    assert [r["params"] for r in rows] == [
        1792, 73856, 295168, 1024, 1180160, 1179904, 295040, 73792, 1731,
    ]  # fmt: skip
    assert [r["type"] for r in rows][3:5] == ["BatchNorm2d", "ConvTranspose2d"]
    assert rows[-1]["output_shape"] == (1, 3, 32, 32)


def test_layer_table_of_deblurgan_matches_the_count_and_keeps_the_mode() -> None:
    g = ResnetGenerator()
    g.train()
    rows = layer_table(g, input_shape=(1, 3, 32, 32))
    assert g.training
    assert sum(r["params"] for r in rows) == 11_378_179
    assert len(rows) == 1 + 2 + 18 + 2 + 1  # convs only: InstanceNorm has no parameters
    assert rows[0]["name"] == "head.conv"
    assert rows[-1]["output_shape"] == (1, 3, 32, 32)


def test_layer_table_leaves_batchnorm_statistics_untouched() -> None:
    g = ResnetGenerator(ngf=4, n_blocks=1, norm="batch")
    before = g.head.norm.running_mean.clone()
    layer_table(g, input_shape=(1, 3, 16, 16))
    torch.testing.assert_close(g.head.norm.running_mean, before)


def test_layer_table_counts_spectral_norm_weights() -> None:
    rows = layer_table(PatchGANDiscriminator(norm="spectral"), input_shape=(1, 3, 64, 64))
    assert len(rows) == 5
    assert sum(r["params"] for r in rows) == 2_764_737


def test_format_table_prints_every_layer_and_the_total() -> None:
    rows = layer_table(GlobalDiscriminator(input_size=256), keras=True)
    text = format_table(rows)
    lines = text.splitlines()
    assert len(lines) == len(rows) + 4  # header, rule, rows, rule, total
    assert "3,098,370" in lines[-1]
    assert "2,097,664" in text
    assert "4x4" in text
