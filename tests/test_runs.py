"""Run folders: unique per run, the original one for a resumed run; W&B run identities."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.conf import HydraConf
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from restoregan.runs import WANDB_ID_FILE, prepare_loggers, resumed_run_folder, run_stamp
from tests.helpers import PROJECT_ROOT


def test_stamps_are_readable_and_unique_within_one_second() -> None:
    stamps = [run_stamp() for _ in range(50)]
    assert len(set(stamps)) == 50
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d{6}-\d+", s) for s in stamps)


def _run_folder(tmp_path: Path, ckpt: str) -> tuple[str, str]:
    cfg = OmegaConf.create(
        {
            "ckpt_path": ckpt,
            "dir": "${run_dir:" + str(tmp_path / "runs") + ",${ckpt_path}}",
            "sub": "${config_subdir:${dir},${ckpt_path}}",
        }
    )
    return cfg.dir, cfg.sub


def test_a_checkpoint_of_a_run_folder_resumes_into_that_folder(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "2026-01-01_00-00-00_000001-1"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    ckpt = run / "checkpoints" / "last.ckpt"
    assert resumed_run_folder(ckpt) == run
    folder, subdir = _run_folder(tmp_path, str(ckpt))
    assert folder == str(run)
    assert re.fullmatch(r"\.hydra/resumed/\d{4}-.*", subdir)  # the original .hydra is kept

    # A fresh run, or a checkpoint outside any run folder: a new folder and plain .hydra.
    elsewhere = tmp_path / "downloads" / "last.ckpt"
    for ckpt_path in ("null", str(elsewhere)):
        folder, subdir = _run_folder(tmp_path, ckpt_path)
        assert Path(folder).parent == tmp_path / "runs" and Path(folder) != run
        assert subdir == ".hydra"


@pytest.mark.slow
def test_two_runs_started_at_once_get_different_folders(tmp_path: Path) -> None:
    """Both stop at a user error (batch size 0) right after Hydra made their folders."""
    env = {"RESTOREGAN_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        str(PROJECT_ROOT / "src" / "train.py"),
        "logger=csv",
        "data.batch_size=0",
    ]
    procs = [
        subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(2)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 1 and b"batch_size" in out, out[-2000:]
    runs = sorted((tmp_path / "logs" / "train" / "runs").iterdir())
    assert len(runs) == 2
    assert all((run / ".hydra" / "config.yaml").is_file() for run in runs)


def _wandb_cfg(out: Path):
    return OmegaConf.create(
        {
            "task_name": "train",
            "paths": {"output_dir": str(out)},
            "logger": {
                "wandb": {
                    "_target_": "lightning.pytorch.loggers.wandb.WandbLogger",
                    "name": "train",
                    "id": None,
                    "group": None,
                }
            },
        }
    )


def test_the_wandb_id_belongs_to_the_run_folder(tmp_path: Path) -> None:
    first, again = _wandb_cfg(tmp_path), _wandb_cfg(tmp_path)
    prepare_loggers(first)
    prepare_loggers(again)  # a resumed run in the same folder
    assert first.logger.wandb.id == again.logger.wandb.id
    assert (tmp_path / WANDB_ID_FILE).read_text().strip() == first.logger.wandb.id
    assert first.logger.wandb.resume == "allow" and first.logger.wandb.group is None
    other = _wandb_cfg(tmp_path / "other")
    prepare_loggers(other)
    assert other.logger.wandb.id != first.logger.wandb.id


def test_sweep_jobs_are_their_own_wandb_runs_grouped_by_the_sweep(tmp_path: Path) -> None:
    ids = []
    try:
        for num in (0, 1):
            hydra_cfg = OmegaConf.create({"hydra": OmegaConf.structured(HydraConf)})
            hydra_cfg.hydra.mode = RunMode.MULTIRUN
            hydra_cfg.hydra.sweep.dir = str(tmp_path / "multiruns" / "2026-01-01_00-00-00_000001-7")
            hydra_cfg.hydra.job.num = num
            HydraConfig.instance().set_config(hydra_cfg)
            cfg = _wandb_cfg(tmp_path / "multiruns" / str(num))
            prepare_loggers(cfg)
            assert cfg.logger.wandb.group == "2026-01-01_00-00-00_000001-7"
            assert cfg.logger.wandb.name == f"train-{num}"
            ids.append(cfg.logger.wandb.id)
    finally:
        HydraConfig.instance().cfg = None
    assert ids[0] != ids[1]
