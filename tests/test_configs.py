"""Every file of every config group composes and instantiates, so a rename fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.helpers import CONF_DIR, compose

# Groups whose files are plain values (no _target_) are composed but not instantiated.
PLAIN_GROUPS = {"paths"}
# Where an option lives in the composed config when it is not at its group path.
NODE_FOR_GROUP = {
    "experiment": None,
    "hparams_search": None,
    "model": "model",
    "loss/content": "loss.terms.probe",
}


def _options() -> list[tuple[str, str]]:
    out = []
    for path in sorted(CONF_DIR.rglob("*.yaml")):
        rel = path.relative_to(CONF_DIR)
        if len(rel.parts) < 2:
            continue  # primary configs (train.yaml, eval.yaml, ...) are tested by the scripts
        if rel.parts[0] == "hydra":
            continue  # Hydra's own groups (launchers): tests/sweeps/test_launcher_configs.py
        out.append(("/".join(rel.parts[:-1]), rel.stem))
    return out


def _mandatory_values(group: str, option: str) -> list[str]:
    # Mandatory paths (`???`) only need a value to instantiate: constructors do not touch
    # the filesystem; their setup() does, and tests/data checks those errors.
    cfg = OmegaConf.load(CONF_DIR / group / f"{option}.yaml")
    return [f"{group}.{k}=/nonexistent/{k}" for k in cfg if OmegaConf.is_missing(cfg, k)]


@pytest.mark.parametrize(("group", "option"), _options(), ids=lambda v: str(v))
def test_config_instantiates(group: str, option: str, tmp_path: Path, fake_vgg_cache: Path) -> None:
    overrides = [f"{group}={option}", "logger=csv"]
    if group == "data":
        overrides += _mandatory_values(group, option)
    if group == "loss/content":
        # Content terms only exist under a name in a recipe: probe one as an extra term.
        overrides = [f"+loss/content@loss.terms.probe={option}", "logger=csv"]
    if group == "trainer" and not torch.cuda.is_available():
        overrides.append("trainer.accelerator=cpu")  # same file, minus the missing GPU
    cfg = compose("train", overrides, tmp_path)
    OmegaConf.resolve(cfg)  # every interpolation resolves
    if group in PLAIN_GROUPS:
        return
    node = NODE_FOR_GROUP.get(group, group.replace("/", "."))
    targets = [node] if node else ["model", "data"]
    for key in targets:
        sub = OmegaConf.select(cfg, key)
        assert sub is not None, f"{group}={option}: nothing at {key}"
        if "_target_" in sub:
            obj = instantiate(sub)
            assert obj is not None
        else:  # dict-of-configs groups: callbacks, logger
            objs = [instantiate(v) for v in sub.values() if v is not None and "_target_" in v]
            assert objs, f"{group}={option} instantiates nothing"


# What each recipe sets outside its own `model` node must survive composition: the group
# defaults (trainer/default.yaml: 300 epochs) once silently overrode the recipes' lengths.
RECIPE_VALUES = {
    "deblurgan": {"trainer.max_epochs": 300, "data.batch_size": 1, "model.d_steps": 5},
    "deblurgan_keras": {"trainer.max_epochs": 40, "data.batch_size": 16, "data.crop_size": 256},
    "unet_patchgan": {"trainer.max_epochs": 100, "data.batch_size": 16},
    "resnet_patchgan": {"trainer.max_epochs": 200, "discriminator.padding": 1},
    "convdeconv_gan": {
        "trainer.max_epochs": 100,
        "data.crop_size": 224,
        "discriminator.input_size": 224,
    },
    "cnn_baseline": {"trainer.max_epochs": 100, "model.scheduler_monitor": "val/psnr"},
    "esrgan": {"callbacks.ema.decay": 0.999, "discriminator.input_size": 128},
    # SR-GN: the values the paper leaves out are DeblurGAN's; its data is partial blur.
    "srgn": {
        "trainer.max_epochs": 300,
        "data.batch_size": 1,
        "data.crop_size": 256,
        "model.d_steps": 5,
        "model.optimizer_g.lr": 1.0e-4,
        "loss.content_weight": 100.0,
        "data._target_": "restoregan.data.partial_blur_data.PartialBlurDataModule",
    },
}


@pytest.mark.parametrize("model", sorted(RECIPE_VALUES))
def test_recipe_values_win_over_group_defaults(model: str, tmp_path: Path) -> None:
    cfg = compose("train", [f"model={model}"], tmp_path)
    for key, expected in RECIPE_VALUES[model].items():
        assert OmegaConf.select(cfg, key) == expected, key
    # ...and the command line wins over the recipe.
    cfg = compose("train", [f"model={model}", "trainer.max_epochs=7"], tmp_path)
    assert cfg.trainer.max_epochs == 7
