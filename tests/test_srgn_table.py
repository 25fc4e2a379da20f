"""experiment=srgn_table1: the plan composes, missing data fails before training, and the
table has the paper's shape with the paper's numbers beside ours."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from experiments.srgn_table import COLUMNS, TableError, run_srgn_table, table_rows, write_table
from restoregan.data.io import DatasetError
from tests.helpers import compose


def _summary(offset: float) -> dict:
    return {
        "protocol": "local-deblur-rgb-8bit-ssim2d-mask0.5",
        "count": 3,
        "psnr": 30.0 + offset,
        "ssim": 0.9,
        "psnr_clear": 35.0 + offset,
        "ssim_clear": 0.95,
    }


def test_plan_holds_the_papers_table(tmp_path: Path) -> None:
    cfg = compose("train", ["experiment=srgn_table1"], tmp_path)
    plan = cfg.srgn_table
    assert list(plan.blurs) == ["gaussian", "motion"] and set(plan.methods) == {"srgn", "deblurgan"}
    # Seed 004, Table 1 (SR-GN and Ref [11] = DeblurGAN).
    assert plan.paper.srgn.gaussian.psnr.reference == 36.17
    assert plan.paper.srgn.motion.ssim.complete == 0.988
    assert plan.paper.deblurgan.gaussian.psnr.complete == 31.68
    assert plan.paper.deblurgan.motion.ssim.reference == 0.986
    smoke = compose("train", ["experiment=srgn_table1_smoke"], tmp_path)
    assert smoke.srgn_table.scale == "smoke" and "data=demo_partial" in smoke.srgn_table.data
    # The per-blur cache folder is left for each run's own data.kernel to fill in.
    assert any("${data.kernel}" in o for o in smoke.srgn_table.data)


def test_rows_and_files_have_the_papers_shape(tmp_path: Path) -> None:
    plan = compose("train", ["experiment=srgn_table1"], tmp_path).srgn_table
    rows = []
    for blur in plan.blurs:
        for i, method in enumerate(plan.methods):
            rows += table_rows(_summary(i), method=method, blur=blur, plan=plan)
    assert len(rows) == 2 * 2 * 2 * 2  # blur x method x metric x part
    first = rows[0]
    assert (first["method"], first["blur"], first["metric"], first["part"]) == (
        "srgn", "gaussian", "psnr", "reference",
    )  # fmt: skip
    assert first["paper"] == 36.17 and first["ours"] == 35.0
    assert math.isclose(first["diff"], 35.0 - 36.17)
    complete = next(r for r in rows if r["method"] == "deblurgan" and r["part"] == "complete")
    assert complete["ours"] == 31.0 and complete["paper"] == 31.68
    write_table(rows, tmp_path / "out", plan)
    with open(tmp_path / "out" / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS and len(table) == 16
    assert {r["scale"] for r in table} == {"full"} and {r["images"] for r in table} == {"3"}
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| gaussian | PSNR | 36.17 / 35.00 | 29.27 / 30.00 |" in md
    assert "| motion | SSIM |" in md and "local-deblur" in md


def test_rows_need_region_scores() -> None:
    plan = OmegaConf.create({"scale": "smoke", "paper": {}})
    with pytest.raises(TableError, match="blur masks"):
        table_rows({"protocol": "p", "count": 1, "psnr": 1.0, "ssim": 1.0}, method="m",
                   blur="b", plan=plan)  # fmt: skip


@pytest.mark.slow  # composes and sets up the data of all four runs
def test_missing_gopro_fails_before_anything_trains(tmp_path: Path) -> None:
    cfg = compose(
        "train", ["experiment=srgn_table1", f"srgn_table.gopro_root={tmp_path / 'nope'}"], tmp_path
    )

    def fit(_cfg):
        raise AssertionError("nothing may train when data is missing")

    with pytest.raises(DatasetError) as err:
        run_srgn_table(cfg, compose=lambda o: compose("train", o, tmp_path), fit=fit)
    message = str(err.value)
    assert "nothing was trained" in message and "GOPRO_Large.zip" in message
    # One GoPro folder behind all four runs: named once, not four times.
    assert message.count("GoPro root") == 1 and str(tmp_path / "nope") in message


def test_a_plan_without_paper_numbers_writes_dashes(tmp_path: Path) -> None:
    plan = OmegaConf.create({"scale": "smoke", "paper": None, "methods": {"m": {"label": "M"}}})
    rows = table_rows(_summary(0), method="m", blur="gaussian", plan=plan)
    assert all(r["paper"] is None and r["diff"] is None for r in rows)
    write_table(rows, tmp_path, plan)
    assert "| gaussian | PSNR | - / 35.00 | - / 30.00 |" in (tmp_path / "results.md").read_text()
    assert "Smoke scale" in (tmp_path / "results.md").read_text()
