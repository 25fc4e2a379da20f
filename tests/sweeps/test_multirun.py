"""Real `-m` sweeps in a subprocess, as a user runs them: the README's command, a failing
job among good ones, an Optuna search, parallel local jobs; then the report they leave."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra.utils import instantiate

from tests.helpers import PROJECT_ROOT, TINY_MODEL, TINY_TRAIN, compose, make_gopro_tree

# A validation per epoch, no test step: what the report reads, in the fewest steps.
SHORT = ["trainer.num_sanity_val_steps=0", "test_after_fit=false", "callbacks.sample_grid=null"]


def demo_job(demo: Path, *swept: str) -> list[str]:
    """Tiny one-epoch runs on the demo data (2 iterations, 2 validation images), with the
    swept keys given as `key=a,b` taking the place of their tiny settings."""
    keys = tuple(s.split("=")[0] + "=" for s in swept)
    tiny = [o for o in TINY_TRAIN if not o.startswith(keys)] if keys else TINY_TRAIN
    epoch = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=2"]
    return [*swept, *tiny, f"data.root={demo}", *epoch, *SHORT]


def run_train(*args: str, cwd: Path, root: Path | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "1"}
    env.pop("RESTOREGAN_ROOT", None)
    if root is not None:
        env["RESTOREGAN_ROOT"] = str(root)
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "src" / "train.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def only_sweep(root: Path) -> Path:
    (sweep,) = (root / "logs" / "train" / "multiruns").iterdir()
    return sweep


def report_rows(sweep: Path) -> list[dict[str, str]]:
    with open(sweep / "report.csv") as f:
        return list(csv.DictReader(f))


def readme_multirun_command() -> list[str]:
    """The README's multirun example, as a user would paste it (continuation lines joined)."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    match = re.search(r"^python src/train\.py -m .*?(?<!\\)$", readme, flags=re.M | re.S)
    assert match, "README.md has no `python src/train.py -m ...` example"
    words = shlex.split(match.group(0).replace("\\\n", " "))
    assert words[:3] == ["python", "src/train.py", "-m"]
    return words[2:]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    """The tiny demo data, generated once, before any parallel job could race to make it."""
    root = tmp_path_factory.mktemp("sweep_demo") / "demo"
    cfg = compose("train", [*TINY_TRAIN, f"data.root={root}"], root.parent)
    instantiate(cfg.data).prepare_data()
    return root


@pytest.mark.slow
def test_readme_multirun_command_runs_as_written(tmp_path: Path) -> None:
    """It crashed before any job (hydra.sweep.dir could not resolve in the launcher).

    No RESTOREGAN_ROOT and no hydra.sweep.dir: the defaults a new user gets, under cwd.
    """
    gopro = make_gopro_tree(tmp_path / "GOPRO_Large")
    args = [a.replace("/data/GOPRO_Large", str(gopro)) for a in readme_multirun_command()]
    tiny = [
        *TINY_MODEL,
        "data.val_max_images=2",
        "data.val_sequences=1",
        "trainer.max_steps=12",
        *SHORT,
    ]
    run_train(*args, *tiny, cwd=tmp_path, root=None)

    sweep = only_sweep(tmp_path)  # <cwd>/logs/train/multiruns/<time>
    axes = {a.split("=")[0]: a.split("=")[1].split(",") for a in args if "," in a}
    n_jobs = math.prod(len(v) for v in axes.values())
    assert n_jobs >= 4
    rows = report_rows(sweep)
    assert [r["job"] for r in rows] == [str(i) for i in range(n_jobs)]
    assert all(r["status"] == "finished" for r in rows), rows
    assert all(float(r["psnr_best"]) > 0 and r["steps"] == "2" for r in rows)
    for key, values in axes.items():  # one column per swept key, every value present
        assert sorted({r[key] for r in rows}) == sorted(values)
    assert (sweep / "curves.png").is_file() and (sweep / "report.md").is_file()


@pytest.mark.slow
def test_a_failing_job_is_a_row_and_the_sweep_goes_on(tmp_path: Path, demo_data: Path) -> None:
    """2x2: crop 512 is larger than the 96-pixel demo photos, a user error in jobs 1 and 3."""
    run_train(
        "-m",
        *demo_job(demo_data, "generator.ngf=4,8", "data.crop_size=32,512"),
        cwd=tmp_path,
        root=tmp_path,
    )
    sweep = only_sweep(tmp_path)
    rows = report_rows(sweep)
    assert [(r["generator.ngf"], r["data.crop_size"], r["status"]) for r in rows] == [
        ("4", "32", "finished"),
        ("4", "512", "failed"),
        ("8", "32", "finished"),  # ran after a failure: the sweep did not stop
        ("8", "512", "failed"),
    ]
    for row in rows:
        if row["status"] == "failed":
            assert (
                "smaller than the crop 512x512" in row["error"] and "data.crop_size" in row["error"]
            )
            assert row["psnr_best"] == ""
        else:
            assert row["error"] == "" and float(row["psnr_input"]) > 0 and row["steps"] == "2"
    status = json.loads((sweep / "1" / "status.json").read_text())
    assert (
        status["status"] == "failed" and status["error_type"] == "DataCheckError"
    )  # found by the check before training
    md = (sweep / "report.md").read_text()
    assert "4 runs: 2 finished, 2 failed" in md


@pytest.mark.slow
def test_optuna_search_two_trials(tmp_path: Path, demo_data: Path) -> None:
    proc = run_train(
        "hparams_search=deblurgan_losses",  # hydra.mode=MULTIRUN: no -m needed
        "hydra.sweeper.n_trials=2",
        *demo_job(demo_data),
        cwd=tmp_path,
        root=tmp_path,
    )
    assert "Best value" in proc.stdout + proc.stderr
    sweep = only_sweep(tmp_path)
    rows = report_rows(sweep)
    assert len(rows) == 2 and all(r["status"] == "finished" for r in rows)
    # The trials sampled the search space's keys; each is a column of the report.
    space = yaml.safe_load((PROJECT_ROOT / "conf/hparams_search/deblurgan_losses.yaml").read_text())
    for key in space["hydra"]["sweeper"]["params"]:
        assert all(r[key] != "" for r in rows), key
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    values = [json.loads((sweep / r["job"] / "status.json").read_text())["value"] for r in rows]
    assert best["best_value"] == pytest.approx(max(values))
    # What the trials returned is the last val/psnr each one logged.
    assert sorted(values) == pytest.approx(sorted(float(r["psnr_final"]) for r in rows), abs=1e-4)
    assert "Optuna best" in (sweep / "report.md").read_text()


@pytest.mark.slow
def test_parallel_local_launcher(tmp_path: Path, demo_data: Path) -> None:
    run_train(
        "-m",
        "hydra/launcher=local_parallel",
        *demo_job(demo_data, "generator.ngf=4,8"),
        cwd=tmp_path,
        root=tmp_path,
    )
    sweep = only_sweep(tmp_path)
    rows = report_rows(sweep)
    assert [r["status"] for r in rows] == ["finished", "finished"]
    pids = {json.loads((sweep / r["job"] / "status.json").read_text())["pid"] for r in rows}
    assert len(pids) == 2, "both jobs ran in one process: not the joblib launcher"
