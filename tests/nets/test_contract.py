"""The generator / discriminator contract: every network states it, and bad values fail."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from restoregan.nets.contract import Discriminator, Generator, require
from restoregan.nets.layers import pad_to_multiple
from tests.helpers import CONF_DIR


def _group(name: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / name).glob("*.yaml"))


def _build(group: str, option: str):
    cfg = OmegaConf.load(CONF_DIR / group / f"{option}.yaml")
    cfg = OmegaConf.merge(
        *(
            OmegaConf.load(CONF_DIR / group / f"{d}.yaml")
            for d in cfg.get("defaults", [])
            if d != "_self_"
        ),
        cfg,
    )
    cfg.pop("defaults", None)
    if "input_size" in cfg:
        cfg.input_size = 128  # `${data.crop_size}` in the group file
    return instantiate(cfg)


@pytest.mark.parametrize("option", _group("generator"))
def test_every_generator_config_states_the_contract(option: str) -> None:
    g = _build("generator", option)
    assert isinstance(g, Generator)
    low, high = g.value_range
    assert isinstance(low, float) and high > low
    assert g.scale >= 1 and g.size_multiple >= 1


@pytest.mark.parametrize("option", _group("discriminator"))
def test_every_discriminator_config_states_the_contract(option: str) -> None:
    d = _build("discriminator", option)
    assert isinstance(d, Discriminator)
    assert d.input_size is None or d.input_size == 128


def test_contract_rejects_impossible_values() -> None:
    with pytest.raises(ValueError, match="high > low"):
        Generator(value_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="size_multiple"):
        Generator(value_range=(0.0, 1.0), size_multiple=0)
    with pytest.raises(ValueError, match="input_size"):
        Discriminator(input_size=0)
    with pytest.raises(TypeError, match=r"generator must subclass .*Generator .*value_range"):
        require(torch.nn.Conv2d(3, 3, 1), Generator, "generator")
    require(Discriminator(), Discriminator, "discriminator")


def test_pad_to_multiple_reflects_and_replicates_tiny_inputs() -> None:
    x = torch.arange(12.0).view(1, 1, 3, 4)
    y = pad_to_multiple(x, 4)
    assert y.shape == (1, 1, 4, 4)
    torch.testing.assert_close(y[..., 3, :], x[..., 1, :])  # reflected about the last row
    assert pad_to_multiple(x, 1) is x
    tiny = pad_to_multiple(torch.ones(1, 1, 1, 2), 8)  # pad >= side: replicate
    assert tiny.shape == (1, 1, 8, 8) and torch.equal(tiny, torch.ones(1, 1, 8, 8))
