"""In a `-m` sweep every job is its own W&B run (the second job used to log into the
first's), all in one group named after the sweep folder. Offline: no network, no account."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate

from tests.helpers import TINY_TRAIN, compose
from tests.sweeps.test_multirun import demo_job, only_sweep, run_train
from tests.wandb_records import run_info


@pytest.mark.slow
def test_each_sweep_job_is_its_own_wandb_run_grouped_by_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = tmp_path / "demo"
    instantiate(compose("train", [*TINY_TRAIN, f"data.root={demo}"], tmp_path).data).prepare_data()
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_train(
        "-m", *demo_job(demo, "generator.ngf=4,8", "logger=wandb"), cwd=tmp_path, root=tmp_path
    )

    sweep = only_sweep(tmp_path)
    ids = []
    for job in ("0", "1"):
        (folder,) = (sweep / job / "wandb").glob("offline-run-*")
        info = run_info(folder)
        assert info["id"] == (sweep / job / "wandb_id.txt").read_text().strip()
        assert info["group"] == sweep.name
        assert any("val/psnr" in row for row in info["history"])  # this job's own metrics
        ids.append(info["id"])
    assert ids[0] != ids[1]
