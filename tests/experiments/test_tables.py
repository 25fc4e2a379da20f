"""The one results writer every reproduction uses (experiments.tables)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from experiments.entry import Entry, PaperRow
from experiments.tables import COLUMNS, PAPER_ONLY, result_rows, write_results

ENTRY = Entry(
    name="toy",
    seed="999",
    title="A toy table",
    runs="two methods",
    data="none",
    protocol="deblur",
    paper=(
        PaperRow("ours_gan", "Our GAN", 30.0, 0.9, note="from Table 9"),
        PaperRow("theirs", "Their GAN", 28.5, None),
    ),
)
MEASURED = [
    {"set": "demo", "method": "input", "label": "Blurred input", "protocol": "p", "images": 2,
     "psnr": 25.0, "ssim": 0.8, "psnr_input": 25.0, "ssim_input": 0.8},
    {"set": "demo", "method": "ours_gan", "label": "GAN", "protocol": "p", "images": 2,
     "psnr": 24.0, "ssim": 0.85, "psnr_input": 25.0, "ssim_input": 0.8},
]  # fmt: skip


def _row(rows, method, metric):
    return next(r for r in rows if r["method"] == method and r["metric"] == metric)


def test_rows_put_ours_beside_the_paper() -> None:
    rows = result_rows(ENTRY, MEASURED, scale="smoke")
    gan = _row(rows, "ours_gan", "psnr")
    assert gan["paper"] == 30.0 and gan["ours"] == 24.0
    assert gan["difference"] == pytest.approx(-6.0) and gan["gain"] == pytest.approx(-1.0)
    assert gan["scale"] == "smoke" and gan["images"] == 2 and gan["protocol"] == "p"
    # A learned method below its own input is said to be, in the row.
    assert "does not beat its input (-1.00 dB)" in gan["note"] and "from Table 9" in gan["note"]
    ssim = _row(rows, "ours_gan", "ssim")
    assert ssim["difference"] == pytest.approx(-0.05) and "does not beat" not in ssim["note"]
    # The input itself is a reference, never "below its input".
    assert _row(rows, "input", "psnr")["paper"] is None
    assert _row(rows, "input", "psnr")["note"] == ""


def test_a_method_only_the_paper_reports_is_marked_paper_only() -> None:
    rows = result_rows(ENTRY, MEASURED, scale="full")
    theirs = _row(rows, "theirs", "psnr")
    assert theirs["paper"] == 28.5 and theirs["ours"] is None and theirs["difference"] is None
    assert theirs["note"] == PAPER_ONLY
    assert _row(rows, "theirs", "ssim")["paper"] is None
    assert [r["method"] for r in rows][-2:] == ["theirs", "theirs"]


def test_a_row_that_did_not_run_has_no_difference() -> None:
    measured = [{**MEASURED[1], "psnr": math.nan, "ssim": math.nan, "images": 0,
                 "note": "not run: no kernel"}]  # fmt: skip
    gan = _row(result_rows(ENTRY, measured, scale="full"), "ours_gan", "psnr")
    assert gan["ours"] is None and gan["difference"] is None and gan["gain"] is None
    assert "not run: no kernel" in gan["note"]


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="scale must be one of"):
        result_rows(ENTRY, MEASURED, scale="medium")


def test_written_files(tmp_path: Path) -> None:
    rows = write_results(ENTRY, MEASURED, tmp_path, scale="smoke", command="make x",
                         figures=("curves.png",))  # fmt: skip
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS
    assert len(table) == len(rows) == 6  # 2 measured x 2 metrics + 1 paper-only x 2
    gan = next(r for r in table if r["method"] == "ours_gan" and r["metric"] == "psnr")
    assert float(gan["difference"]) == pytest.approx(-6.0) and gan["scale"] == "smoke"
    assert next(r for r in table if r["method"] == "theirs")["ours"] == ""
    md = (tmp_path / "results.md").read_text()
    assert md.startswith("# A toy table") and "Smoke scale" in md and "`make x`" in md
    assert "| demo | GAN | PSNR | 30.00 | 24.00 | -6.00 | 25.00 | -1.00 | `p` | 2 | smoke |" in md
    assert "![curves.png](curves.png)" in md
    assert not list(tmp_path.glob(".results*"))  # no temporary file left behind
    full = write_results(ENTRY, MEASURED, tmp_path / "full", scale="full", command="make y")
    assert "Smoke scale" not in (tmp_path / "full" / "results.md").read_text()
    assert {r["scale"] for r in full} == {"full"}
