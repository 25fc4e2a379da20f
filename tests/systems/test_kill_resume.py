"""A training process killed (SIGKILL) mid-epoch and resumed from its last periodic
checkpoint continues that epoch at its next batch, in its own run folder, and logs exactly
the losses of an uninterrupted run (CPU, bit for bit)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import PROJECT_ROOT, TINY_TRAIN, read_metrics

# DeblurGAN with one critic step (2 optimiser steps per batch), last.ckpt every 2 batches;
# 3 batches an epoch (the tiny demo set has 3 full batches), 2 epochs.
RUN = [
    *TINY_TRAIN,
    "model.d_steps=1",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "test_after_fit=false",
    "callbacks.sample_grid=null",
    # The shipped periodic last.ckpt: every 2 generator iterations (batches).
    "callbacks.last_checkpoint.every_n_iterations=2",
]
KEYS = ("epoch", "step", "train/g_loss", "train/d_loss", "train/gp")


def _train(root: Path, *args: str) -> subprocess.Popen:
    pythonpath = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "RESTOREGAN_ROOT": str(root),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": pythonpath,  # tests.systems.stall
    }
    env.pop("HYDRA_FULL_ERROR", None)
    root.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "src" / "train.py"), *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]


def _only_run(root: Path) -> Path:
    (run,) = (root / "logs" / "train" / "runs").iterdir()
    return run


def _losses(run: Path) -> dict[str, tuple[str, ...]]:
    rows = [r for r in read_metrics(run) if r["train/g_loss"]]
    assert len({r["step"] for r in rows}) == len(rows), "a step logged twice"
    return {r["step"]: tuple(r[k] for k in KEYS) for r in rows}


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_the_uninterrupted_run(
    tmp_path: Path, demo_root: Path
) -> None:
    run = [*RUN, f"data.root={demo_root}"]
    whole = _train(tmp_path / "whole", *run)
    _finish(whole)  # also generates the demo data, before the two others read it

    marker = tmp_path / "stalled"
    killed = _train(
        tmp_path / "killed",
        *run,
        "+callbacks.stall._target_=tests.systems.stall.StallAt",
        "+callbacks.stall.step=4",  # at batch 2 of epoch 0: the checkpoint of batch 1 exists
        f"+callbacks.stall.marker={marker}",
    )
    deadline = time.monotonic() + 600
    while not marker.exists():
        assert killed.poll() is None, killed.communicate()[0][-4000:]
        assert time.monotonic() < deadline
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert marker.read_text().split() == ["0", "2", "4"]  # epoch, batch, global step

    folder = _only_run(tmp_path / "killed")
    original_overrides = (folder / ".hydra" / "overrides.yaml").read_text()
    ckpt = folder / "checkpoints" / "last.ckpt"  # written after batch 1, mid-epoch
    resumed = _train(tmp_path / "killed", *run, f"ckpt_path={ckpt}")
    _finish(resumed)

    # The resumed run continued the killed run's folder: one folder, the original config kept.
    assert _only_run(tmp_path / "killed") == folder
    assert (folder / ".hydra" / "overrides.yaml").read_text() == original_overrides
    (resumed_cfg,) = (folder / ".hydra" / "resumed").glob("*/overrides.yaml")
    assert f"ckpt_path={ckpt}" in yaml.safe_load(resumed_cfg.read_text())

    expected = _losses(_only_run(tmp_path / "whole"))
    got = _losses(folder)
    assert len(expected) == 2 * 3
    # Steps 0-1 (batches 0-1 of epoch 0) came before the checkpoint: their rows are the
    # killed process's, if its CSV was flushed before the kill. Every later step, batch 2 of
    # epoch 0 on, was trained by the resumed process, and appears once.
    assert set(expected) - set(got) <= {"0", "1"}
    assert got == {s: expected[s] for s in got}
