"""`restoregan.restore.restore`: one padded pass, tiles, the x8 self-ensemble, tiny images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from restoregan.export import export_torchscript, load_exported
from restoregan.nets.generators.cnn_baseline import CNNBaseline
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.generators.srgn import SRGNGenerator
from restoregan.nets.layers import pad_to_multiple
from restoregan.restore import InferenceSettingError, from_range, restore, to_range
from tests.helpers import CONF_DIR

# Widths small enough for a CPU test; every other setting is the config file's.
_TINY = {"ngf": 8, "n_blocks": 2, "base_channels": 8, "nf": 8, "width": 8, "depth": 3}
TINY_SIZES = [(1, 1), (1, 9), (3, 5), (15, 2)]


def tiny_generator(name: str) -> torch.nn.Module:
    cfg = OmegaConf.load(CONF_DIR / "generator" / f"{name}.yaml")
    for key, value in _TINY.items():
        if key in cfg:
            cfg[key] = value
    if "n_blocks" in cfg and "growth" in cfg:  # RRDB
        cfg.n_blocks, cfg.growth = 1, 4
    return instantiate(cfg).eval()


@pytest.mark.parametrize(
    "name", ["resnet", "resnet_keras", "unet_res", "convdeconv", "cnn_baseline", "rrdb"]
)
def test_every_generator_restores_images_smaller_than_its_minimum(name: str) -> None:
    generator = tiny_generator(name)
    for h, w in TINY_SIZES:
        out = restore(generator, torch.rand(1, 3, h, w))
        s = generator.scale
        assert out.shape == (1, 3, h * s, w * s) and torch.isfinite(out).all()


def test_srgn_and_exported_files_restore_a_1x1_image(tmp_path: Path) -> None:
    srgn = SRGNGenerator(ngf=8, n_blocks=2).eval()
    assert restore(srgn, torch.rand(1, 3, 1, 1)).shape == (1, 3, 1, 1)
    # The exported graph pads to the network's multiple itself; restore pads to min_side.
    exported = load_exported(
        export_torchscript(ResnetGenerator(ngf=8, n_blocks=2), tmp_path / "g.pt")
    )
    assert exported.size_multiple == 1
    assert restore(exported, torch.rand(1, 3, 1, 2)).shape == (1, 3, 1, 2)


@pytest.mark.parametrize(
    ("name", "size"), [("resnet", (37, 53)), ("resnet", (5, 6)), ("rrdb", (3, 4))]
)
def test_sizes_the_network_takes_get_only_the_size_multiple_padding(name, size) -> None:
    # ResNet-9 runs at 5x6 (padded to 8x8) and RRDB at any size: no min_side padding, so
    # results do not change for any size that ran before.
    generator = tiny_generator(name)
    x = torch.rand(1, 3, *size)
    rng, m, s = generator.value_range, generator.size_multiple, generator.scale
    with torch.no_grad():
        expected = from_range(generator(to_range(pad_to_multiple(x, m), rng)), rng)
    expected = expected[..., : size[0] * s, : size[1] * s].clamp(0, 1)
    assert torch.equal(restore(generator, x), expected)


def test_tiles_of_a_local_network_equal_the_whole_image() -> None:
    # Three 3x3 convs: receptive-field radius 3 <= overlap / 4.
    generator = CNNBaseline(width=8, depth=3).eval()
    x = torch.rand(2, 3, 70, 45)
    whole = restore(generator, x)
    tiled = restore(generator, x, tile=24, overlap=16)
    assert (tiled - whole).abs().max() < 1e-4


def test_x8_self_ensemble_equals_eight_explicit_passes() -> None:
    generator = ResnetGenerator(ngf=8, n_blocks=2).eval()
    x = torch.rand(1, 3, 21, 30)
    passes = []
    for k in range(4):
        for flip in (False, True):
            t = torch.rot90(x, k, dims=(-2, -1))
            t = t.flip(-1) if flip else t
            y = restore(generator, t)
            y = y.flip(-1) if flip else y
            passes.append(torch.rot90(y, -k, dims=(-2, -1)))
    expected = torch.stack(passes).mean(0)
    assert (restore(generator, x, tta="x8") - expected).abs().max() < 1e-6
    assert (restore(generator, x) - expected).abs().max() > 1e-3  # it does change the result


def test_tiles_and_self_ensemble_compose() -> None:
    generator = CNNBaseline(width=8, depth=3).eval()
    x = torch.rand(1, 3, 50, 41)
    both = restore(generator, x, tile=24, overlap=16, tta="x8")
    assert (both - restore(generator, x, tta="x8")).abs().max() < 1e-4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tta": "x4"}, "tta='x4' is not a self-ensemble"),
        ({"tile": 32, "overlap": 32}, "larger than an overlap"),
        ({"tile": 0}, "expected a tile side"),
        ({"tile": 64, "overlap": -1}, "overlap >= 0"),
    ],
)
def test_bad_settings_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InferenceSettingError, match=match):
        restore(CNNBaseline(width=8, depth=3).eval(), torch.rand(1, 3, 8, 8), **kwargs)
