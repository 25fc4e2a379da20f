"""The launcher configs in conf/hydra/launcher compose with a recipe and build their launcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from tests.helpers import CONF_DIR

LAUNCHERS = sorted(p.stem for p in (CONF_DIR / "hydra" / "launcher").glob("*.yaml"))


def _hydra_cfg(overrides: list[str]):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize("name", LAUNCHERS)
def test_launcher_config_instantiates(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RESTOREGAN_ROOT", str(tmp_path))
    cfg = _hydra_cfg([f"hydra/launcher={name}", "logger=csv"])
    launcher = instantiate(cfg.hydra.launcher)
    assert type(launcher).__name__ in {"JoblibLauncher", "SlurmLauncher"}


def test_slurm_allocation_follows_the_trainer(tmp_path: Path, monkeypatch) -> None:
    """nodes x tasks per node must equal Lightning's num_nodes x devices, or DDP hangs."""
    monkeypatch.setenv("RESTOREGAN_ROOT", str(tmp_path))
    cfg = _hydra_cfg(
        ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=3"]
    )
    launcher = cfg.hydra.launcher
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (3, 4, 4)
    assert launcher.max_num_timeout == 0
    assert str(launcher.submitit_folder).startswith(str(tmp_path / "logs" / "train" / "multiruns"))


def test_sweep_dir_resolves_before_any_job(tmp_path: Path, monkeypatch) -> None:
    """What the launcher reads first; ${hydra:...} would raise here (HydraConfig not set)."""
    monkeypatch.delenv("RESTOREGAN_ROOT", raising=False)
    cfg = _hydra_cfg(["logger=csv"])
    assert str(cfg.hydra.sweep.dir).startswith(f"{cfg.hydra.runtime.cwd}/logs/train/multiruns/")
    monkeypatch.setenv("RESTOREGAN_ROOT", str(tmp_path))
    assert str(_hydra_cfg([]).hydra.sweep.dir).startswith(f"{tmp_path}/logs/train/multiruns/")
