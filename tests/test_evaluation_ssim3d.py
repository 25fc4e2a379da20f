"""evaluate(..., ssim3d=True): SSIM "matlab3d" columns beside the protocol's own SSIM."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data as skdata
from torch import nn

from restoregan import metrics
from restoregan.evaluation import evaluate, format_summary


class _Sharpen(nn.Module):
    """A stand-in restorer in [0, 1]: a fixed unsharp mask, so output != input."""

    value_range = (0.0, 1.0)
    scale = 1
    size_multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blur = nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return (x + 0.5 * (x - blur)).clamp(0, 1)


def _batches() -> list[dict]:
    sharp = torch.from_numpy(skdata.chelsea()[:96, :128].copy()).permute(2, 0, 1) / 255.0
    blurred = nn.functional.avg_pool2d(sharp[None], 5, stride=1, padding=2, count_include_pad=False)
    blurred = torch.round(blurred * 255) / 255
    return [{"input": blurred, "target": sharp[None], "name": ["chelsea.png"]}]


def test_ssim3d_columns_match_the_protocol_function(tmp_path: Path) -> None:
    summary = evaluate(
        _Sharpen(), _batches(), protocol=metrics.DEBLUR, out_dir=tmp_path, ssim3d=True
    )
    with open(tmp_path / "per_image.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert list(row) == [
        "name",
        "psnr",
        "ssim",
        "psnr_input",
        "ssim_input",
        "ssim3d",
        "ssim3d_input",
        "protocol",  # every row names the protocol that scored it
    ]
    batch = _batches()[0]
    given = metrics.evaluate_pair(batch["input"][0], batch["target"][0], metrics.DEBLUR_MATLAB3D)
    assert float(row["ssim3d_input"]) == pytest.approx(given["ssim"], abs=1e-6)
    restored = _Sharpen()(batch["input"])[0]
    expected = metrics.evaluate_pair(restored, batch["target"][0], metrics.DEBLUR_MATLAB3D)
    assert summary["ssim3d"] == pytest.approx(expected["ssim"], abs=1e-6)
    # The "2d" column is still the protocol's; the two variants read differently.
    assert summary["protocol"] == "deblur-rgb-8bit-ssim2d"
    assert abs(summary["ssim3d"] - summary["ssim"]) > 1e-4
    assert json.loads((tmp_path / "summary.json").read_text())["ssim3d"] == summary["ssim3d"]
    assert "SSIM matlab3d" in format_summary(summary)


def test_ssim3d_is_refused_for_a_luma_protocol(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ssim3d=true needs an RGB protocol"):
        evaluate(
            _Sharpen(), _batches(), protocol=metrics.sr_protocol(1), out_dir=tmp_path, ssim3d=True
        )


def test_luma_protocol_without_ssim3d_still_evaluates(tmp_path: Path) -> None:
    summary = evaluate(_Sharpen(), _batches(), protocol=metrics.sr_protocol(1), out_dir=tmp_path)
    assert "ssim3d" not in summary and summary["protocol"].startswith("sr-y-bt601")


def test_default_table_is_unchanged(tmp_path: Path) -> None:
    evaluate(_Sharpen(), _batches(), protocol=metrics.DEBLUR, out_dir=tmp_path)
    with open(tmp_path / "per_image.csv") as f:
        header = next(csv.reader(f))
    assert header == ["name", "psnr", "ssim", "psnr_input", "ssim_input", "protocol"]
    assert np.isfinite(json.loads((tmp_path / "summary.json").read_text())["psnr"])
