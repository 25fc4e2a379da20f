"""conf/data/*.yaml: every constructor argument is spelled out, and each file instantiates."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from restoregan.data.datamodule import PairedDataModule

CONF_DATA = Path(__file__).resolve().parents[2] / "conf" / "data"
EXPECTED = {
    "demo": ("deblur", 1, 256),
    "gopro": ("deblur", 1, 256),
    "paired_folder": ("deblur", 1, 256),
    "partial_blur": ("deblur", 1, 256),
    "demo_partial": ("deblur", 1, 256),
    "div2k": ("sr", 4, 128),
    "sr_benchmark": ("sr", 4, None),
    "blur_lr": ("sr", 4, 128),
}


def _load(name: str, tmp_path: Path):
    cfg = OmegaConf.merge(
        {"paths": {"data_dir": str(tmp_path)}}, {"data": OmegaConf.load(CONF_DATA / f"{name}.yaml")}
    )
    for key in list(cfg.data):
        if OmegaConf.is_missing(cfg.data, key):
            cfg.data[key] = str(tmp_path / key)
    return cfg


def test_every_config_is_listed():
    assert sorted(p.stem for p in CONF_DATA.glob("*.yaml")) == sorted(EXPECTED)


def _accepted(cls: type) -> set[str]:
    """Constructor arguments, following `**common` through to PairedDataModule's."""
    params = inspect.signature(cls.__init__).parameters
    names = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD} - {"self"}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        # scale is the subclass's business; eval_batch_size stays 1 (full frames).
        names |= _accepted(PairedDataModule) - {"scale", "eval_batch_size"}
    return names


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_is_explicit_and_instantiates(name, tmp_path):
    raw = OmegaConf.load(CONF_DATA / f"{name}.yaml")
    params = _accepted(get_class(raw._target_))
    assert set(raw) - {"_target_"} == params, "every argument explicit, no extras"
    dm = instantiate(_load(name, tmp_path).data)
    protocol, scale, crop = EXPECTED[name]
    assert (dm.protocol, dm.scale, dm.crop_size) == (protocol, scale, crop)
    if "crop_size" in raw:  # other groups interpolate ${data.crop_size}
        assert raw.crop_size == crop


@pytest.mark.parametrize(
    "name", ["gopro", "div2k", "sr_benchmark", "blur_lr", "paired_folder", "partial_blur"]
)
def test_user_paths_are_mandatory(name):
    raw = OmegaConf.load(CONF_DATA / f"{name}.yaml")
    assert any(OmegaConf.is_missing(raw, k) for k in raw)


def test_demo_config_runs_end_to_end(tmp_path):
    cfg = _load("demo", tmp_path)
    cfg.data.update(
        {"max_side": 64, "train_variants": 1, "val_variants": 1, "crop_size": 32, "num_workers": 0}
    )
    dm = instantiate(cfg.data)
    assert dm.root == tmp_path / "demo"
    dm.prepare_data()
    dm.setup("fit")
    assert len(dm.train_set) == 7 and len(dm.val_set) == 2
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (4, 3, 32, 32)


def test_demo_partial_config_runs_end_to_end(tmp_path):
    cfg = _load("demo_partial", tmp_path)
    cfg.data.update(
        {"max_side": 64, "train_variants": 1, "val_variants": 1, "crop_size": 32, "num_workers": 0}
    )
    cfg.data.gaussian.size = 15
    dm = instantiate(cfg.data)
    assert dm.cache_dir == tmp_path / "demo_partial_gaussian"
    dm.prepare_data()
    dm.setup("fit")
    assert len(dm.train_set) == 7 and len(dm.val_set) == 2
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (4, 3, 32, 32) and batch["mask"].shape == (4, 1, 32, 32)
    assert set(next(iter(dm.val_dataloader()))) == {"input", "target", "name", "mask", "kernel"}
