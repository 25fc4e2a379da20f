"""One reproduction entry end to end at smoke scale: trains, scores, writes its table."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from experiments.multistage import run_multistage
from tests.helpers import compose
from train import train


@pytest.mark.slow  # a GAN stage, the input and a table: ~30 s of CPU
def test_keras_table_smoke(tmp_path: Path) -> None:
    over = ["experiment=table_keras_deblurgan_smoke", "tables.epochs=1"]
    cfg = compose("train", over, tmp_path)
    run_multistage(cfg, compose=lambda o: compose("train", o, tmp_path), fit=train)
    with open(tmp_path / "out" / "results.csv") as f:
        rows = {(r["method"], r["metric"]): r for r in csv.DictReader(f)}
    ours = rows[("deblurgan_keras", "psnr")]
    assert ours["paper"] == "29.300000" and ours["scale"] == "smoke" and ours["images"] == "2"
    assert float(ours["difference"]) == pytest.approx(float(ours["ours"]) - 29.30, abs=1e-5)
    assert float(ours["gain"]) == pytest.approx(
        float(ours["ours"]) - float(ours["input"]), abs=1e-5
    )
    assert ours["protocol"] == "deblur-rgb-8bit-ssim2d"
    assert rows[("input", "psnr")]["ours"] == rows[("input", "psnr")]["input"]
    assert "Smoke scale" in (tmp_path / "out" / "results.md").read_text()
