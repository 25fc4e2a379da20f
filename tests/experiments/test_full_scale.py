"""Full scale needs the datasets and a GPU: without them a run stops at once, one message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from experiments.multistage import PreflightError, run_multistage
from tests.helpers import PROJECT_ROOT, compose


def _must_not_train(cfg):
    raise AssertionError("a stage started although its data is missing")


@pytest.mark.parametrize(
    ("experiment", "stages"),
    [
        ("table_keras_deblurgan", ["deblurgan_keras"]),
        ("table_unet_patchgan", ["unet_patchgan", "deblurgan", "deblurgan_640"]),
    ],
)
def test_missing_gopro_is_listed_before_anything_trains(
    experiment: str, stages: list[str], tmp_path: Path
) -> None:
    cfg = compose("train", [f"experiment={experiment}", "tables.trainer=cpu"], tmp_path)
    with pytest.raises(PreflightError) as err:
        run_multistage(cfg, compose=lambda o: compose("train", o, tmp_path), fit=_must_not_train)
    message = str(err.value)
    assert "nothing was trained" in message and "GOPRO_Large.zip" in message
    assert f"stage '{stages[0]}'" in message and "evaluation set 'gopro'" in message
    for later in stages[1:]:  # the same folder again: named, not repeated in full
        assert f"stage '{later}': the same data as stage '{stages[0]}'" in message
    if not torch.cuda.is_available():
        assert "a CUDA GPU" in message and "SCALE=smoke" in message


@pytest.mark.slow  # a fresh process imports torch and Lightning: 10-20 s, minutes on a busy machine
def test_make_target_fails_with_one_message(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT / 'src'}{os.pathsep}{PROJECT_ROOT}"}
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "table_keras_deblurgan",
         f"--root=GOPRO={tmp_path / 'GOPRO_Large'}", f"paths.log_dir={tmp_path / 'logs'}",
         f"paths.data_dir={tmp_path / 'data'}", "tables.trainer=cpu"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "GOPRO_Large.zip" in proc.stderr and "nothing was trained" in proc.stderr
    assert str(tmp_path / "GOPRO_Large") in proc.stderr  # the folder it looked in


def test_unknown_entry_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "table_nope", "--scale", "smoke"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "no reproduction entry 'table_nope'" in proc.stderr and "table_dualgan" in proc.stderr
