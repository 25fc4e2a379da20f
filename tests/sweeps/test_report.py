"""The sweep report on run folders written the way train.py writes them (no training here)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from restoregan.sweeps.records import SweepReportError, find_runs, swept_keys
from restoregan.sweeps.report import table_rows, write_report
from restoregan.sweeps.status import read_status, write_status
from tests.helpers import PROJECT_ROOT

METRIC_COLUMNS = [
    "epoch",
    "step",
    "train/g_loss",
    "val/psnr",
    "val/psnr_input",
    "val/ssim",
    "val/ssim_input",
]


def make_run(
    root: Path,
    job: str,
    overrides: list[str],
    val: list[tuple[int, float, float]],
    *,
    status: dict | None,
    train_steps: int = 0,
) -> Path:
    """A job folder: .hydra/overrides.yaml, csv/metrics.csv (Lightning's layout), status.json."""
    run = root / job
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (run / "csv").mkdir()
    with open(run / "csv" / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=METRIC_COLUMNS)
        w.writeheader()
        for step in range(train_steps):
            w.writerow({"epoch": 0, "step": step, "train/g_loss": 1.0})
        for step, psnr, ssim in val:
            w.writerow(
                {
                    "epoch": 0,
                    "step": step,
                    "val/psnr": psnr,
                    "val/psnr_input": 25.0,
                    "val/ssim": ssim,
                    "val/ssim_input": 0.7,
                }
            )
    if status is not None:
        write_status(run, **status)
    return run


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A 2x2 sweep: finished, finished, failed (before any validation), killed mid-run."""
    root = tmp_path / "multirun"
    root.mkdir()
    (root / "multirun.yaml").write_text("hydra: {}\n")
    common = ["model=deblurgan", "logger=csv"]
    make_run(
        root,
        "0",
        [*common, "loss/adversarial=wgan_gp", "loss.weights.perceptual=10"],
        [(27, 24.0, 0.60), (55, 25.5, 0.72), (83, 25.2, 0.74)],
        status={"status": "finished", "wall_s": 120.0},
        train_steps=84,
    )
    make_run(
        root,
        "1",
        [*common, "loss/adversarial=wgan_gp", "loss.weights.perceptual=100"],
        [(27, 25.1, 0.70), (55, 25.8, 0.75)],
        status={"status": "finished", "wall_s": 100.0},
        train_steps=56,
    )
    make_run(
        root,
        "2",
        [*common, "loss/adversarial=lsgan", "loss.weights.perceptual=10"],
        [],
        status={
            "status": "failed",
            "wall_s": 3.0,
            "error": "Image 'x.png' is 96x84, smaller than the crop",
        },
    )
    make_run(
        root,
        "3",
        [*common, "loss/adversarial=lsgan", "loss.weights.perceptual=100"],
        [(27, 24.9, 0.69)],
        status={"status": "running", "started": "2026-01-01T00:00:00+00:00"},
        train_steps=40,
    )
    return root


def test_rows_statuses_and_numbers(sweep: Path) -> None:
    records = find_runs(sweep)
    assert [r.job for r in records] == ["0", "1", "2", "3"]
    assert swept_keys(records) == ["loss/adversarial", "loss.weights.perceptual"]
    columns, rows = table_rows(records)
    assert columns[:3] == ["job", "loss/adversarial", "loss.weights.perceptual"]
    r0, r1, r2, r3 = rows
    assert [r["status"] for r in rows] == ["finished", "finished", "failed", "killed"]
    # Best vs final: run 0 peaked at its second validation (iterations 56), then dropped.
    assert (r0["psnr_best"], r0["psnr_best_step"], r0["psnr_final"]) == (25.5, 56, 25.2)
    assert (r0["ssim_best"], r0["ssim_final"]) == (0.74, 0.74)
    assert r0["gain_db"] == pytest.approx(0.5) and r1["gain_db"] == pytest.approx(0.8)
    assert (r0["steps"], r1["steps"], r3["steps"]) == (84, 56, 40)
    assert r0["wall_s"] == 120.0
    assert "smaller than the crop" in r2["error"] and r2["psnr_best"] is None
    assert "killed, or still running" in r3["error"]
    assert r3["wall_s"] is not None  # estimated from the files it wrote


def test_write_report_tables_and_plots(sweep: Path, tmp_path: Path) -> None:
    result = write_report(sweep)
    md = (sweep / "report.md").read_text()
    assert "4 runs: 2 finished, 1 failed, 1 killed" in md
    assert "Common overrides: `model=deblurgan` `logger=csv`" in md
    table_lines = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table_lines) == 1 + 4  # header + one row per run
    assert "| 2 | lsgan | 10 | failed |" in md and "smaller than the crop" in md
    with open(sweep / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["finished", "finished", "failed", "killed"]
    assert rows[1]["overrides"].endswith("loss.weights.perceptual=100")
    names = sorted(p.name for p in result["files"] if p.suffix == ".png")
    assert names == ["by_loss.weights.perceptual.png", "by_loss_adversarial.png", "curves.png"]
    for name in names:
        with Image.open(sweep / name) as im:
            assert im.format == "PNG" and im.size[0] > 300
    # --out writes elsewhere and leaves the sweep folder alone
    write_report(sweep, out_dir=tmp_path / "elsewhere", plots=False)
    assert (tmp_path / "elsewhere" / "report.csv").is_file()


def test_status_round_trip_is_atomic(tmp_path: Path) -> None:
    write_status(tmp_path, "finished", wall_s=1.5, value=float("nan"))
    assert read_status(tmp_path)["status"] == "finished"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temporary left behind
    (tmp_path / "status.json").write_text("{truncated")
    assert read_status(tmp_path) is None


def test_cli_prints_table_and_names_a_bad_folder(sweep: Path, tmp_path: Path) -> None:
    script = str(PROJECT_ROOT / "src" / "report.py")
    ok = subprocess.run(
        [sys.executable, script, str(sweep), "--no-plots"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "| 3 | lsgan | 100 | killed |" in ok.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run(
        [sys.executable, script, str(empty)], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1
    assert "no run found under" in bad.stderr and "Traceback" not in bad.stderr
    with pytest.raises(SweepReportError, match="does not exist"):
        find_runs(tmp_path / "missing")


def test_status_json_is_plain_json(sweep: Path) -> None:
    # Other tools (a dashboard, jq) read it: the keys the report relies on are there.
    data = json.loads((sweep / "0" / "status.json").read_text())
    assert data == {"status": "finished", "wall_s": 120.0}
