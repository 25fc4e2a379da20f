"""The benchmark scripts run end to end at tiny sizes (their numbers are not checked)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import PROJECT_ROOT

BENCH = PROJECT_ROOT / "benchmarks"


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        args, cwd=tmp_path, env={**environ, **env}, capture_output=True, text=True, timeout=900
    )


# Three training paths, a parity step and Lightning start-up: ~15 s on a small CPU.
@pytest.mark.slow
def test_bench_step_smoke(tmp_path: Path) -> None:
    out = tmp_path / "step.json"
    cmd = [sys.executable, str(BENCH / "bench_step.py"), "--tiny", "--crop", "32"]
    cmd += ["--steps", "1", "--warmup", "1", "--repeats", "1", "--threads", "1"]
    proc = run([*cmd, "--device", "cpu", "--json", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    first = result["first_step"]
    assert set(first) == {"reference", "plain", "ours"}
    assert first["ours"]["g_loss"] == pytest.approx(first["plain"]["g_loss"], rel=1e-4)
    assert set(result["iterations_per_s"]) == {"reference", "plain", "ours"}
    assert "ours / plain" in proc.stdout


def test_bench_step_refuses_16_mixed_on_cpu(tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH / "bench_step.py"), "--device", "cpu"]
    proc = run([*cmd, "--precision", "16-mixed"], tmp_path)
    assert proc.returncode == 2 and "16-mixed needs a CUDA device" in proc.stderr


# Six tiny generators at 720p plus two memory subprocesses: ~30 s on a small CPU.
@pytest.mark.slow
def test_bench_infer_quick(tmp_path: Path) -> None:
    out = tmp_path / "infer.json"
    cmd = [sys.executable, str(BENCH / "bench_infer.py"), "--quick", "--device", "cpu"]
    cmd += ["--repeats", "1", "--threads", "1", "--tile", "256", "--memory-sizes", "0.1", "0.4"]
    proc = run([*cmd, "--json", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert [r["generator"] for r in result["speed"]][-1] == "rrdb"
    assert all(r["untiled_ms"] > 0 and r["tiled_ms"] > 0 for r in result["speed"])
    rrdb = result["speed"][-1]
    assert (rrdb["input"], rrdb["scale"]) == ("320x180", 4)
    assert [m["megapixels"] for m in result["memory"]] == [0.1, 0.4]
    assert all(m["rss_peak_mib"] >= m["rss_before_mib"] for m in result["memory"])


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils timeout")
def test_gpu_suite_stops_at_once_without_cuda(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "suite"
    proc = run(["bash", str(BENCH / "gpu_suite.sh"), "--out", str(out)], tmp_path)
    assert proc.returncode == 2
    assert "CUDA is not available" in proc.stderr and "--dry-run" in proc.stderr
    assert not out.exists()  # nothing half-done


# Nine tiny benchmark runs and a 2-process DDP training: ~90 s on a small CPU.
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils timeout")
def test_gpu_suite_dry_run(tmp_path: Path) -> None:
    out = tmp_path / "suite"
    proc = run(["bash", str(BENCH / "gpu_suite.sh"), "--dry-run", "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = (out / "summary.md").read_text()
    for heading in ("Training step, side by side", "Speed options", "DDP", "Inference"):
        assert heading in summary
    rows = [line.split("\t") for line in (out / "status.tsv").read_text().splitlines()[1:]]
    assert {name for name, status, _ in rows if status == "ok"} >= {
        "step_b1",
        "step_b16",
        "step_bf16",
        "step_bf16_b1",
        "flag_channels_last",
        "flag_fused_adam",
        "ddp_2gpu",
        "infer",
    }
    assert "| step_b1 | 1 | 32-true |" in summary and "| match |" in summary


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils timeout")
def test_gpu_suite_skips_what_would_start_after_its_budget(tmp_path: Path) -> None:
    out = tmp_path / "suite"
    cmd = ["bash", str(BENCH / "gpu_suite.sh"), "--dry-run", "--out", str(out)]
    proc = run(cmd, tmp_path, BUDGET="1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [line.split("\t") for line in (out / "status.tsv").read_text().splitlines()[1:]]
    budget = [name for name, status, _ in rows if "budget" in status]
    assert {"step_b1", "infer", "flag_channels_last", "ddp_2gpu"} <= set(budget)
    assert not [name for name, status, _ in rows if status == "ok"]
    assert "suite budget of 1s spent" in (out / "summary.md").read_text()


def test_gpu_summary_flags_16_mixed_that_is_not_float16(tmp_path: Path) -> None:
    (tmp_path / "status.tsv").write_text("step\tstatus\tseconds\nstep_fp16\tok\t9\n")
    fake = {
        "args": {"batch": "16", "precision": "16-mixed"},
        "iterations_per_s": {"plain": 2.0, "ours": 2.0},
        "amp": {
            "first_conv_dtype": {"plain": "torch.float16", "ours": "torch.bfloat16"},
            "grad_scaler": {"plain": True, "ours": False},
        },
    }
    (tmp_path / "step_fp16.json").write_text(json.dumps(fake))
    proc = run([sys.executable, str(BENCH / "gpu_summary.py"), str(tmp_path)], tmp_path)
    assert proc.returncode == 1
    assert "NOT float16 + GradScaler" in proc.stdout
    fake["amp"]["first_conv_dtype"]["ours"] = "torch.float16"
    fake["amp"]["grad_scaler"]["ours"] = True
    (tmp_path / "step_fp16.json").write_text(json.dumps(fake))
    proc = run([sys.executable, str(BENCH / "gpu_summary.py"), str(tmp_path)], tmp_path)
    assert proc.returncode == 0 and ": OK" in proc.stdout


# Writes PNG frames, builds the decoded cache, reads both through DataLoader workers and
# times a tiny DeblurGAN step: ~30 s on a small busy CPU.
@pytest.mark.slow
def test_bench_data_smoke(tmp_path: Path) -> None:
    out = tmp_path / "data.json"
    cmd = [sys.executable, str(BENCH / "bench_data.py"), "--tiny", "--workers", "0", "1"]
    proc = run([*cmd, "--threads", "1", "--json", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(result["crops_per_s"]) == {"png", "cache"}
    assert set(result["crops_per_s"]["cache"]) == {"0", "1"}
    assert result["step_crops_per_s"] > 0 and result["cache_build_s"] > 0
    assert "cache/png" in proc.stdout
