"""evaluate() on data with blur masks: region columns in per_image.csv, means in summary.json,
each number checked against scikit-image on the region by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import torch
from skimage.metrics import structural_similarity
from torch import nn

from restoregan.evaluation import REGION_SCORES, SCORES, evaluate, format_summary, read_per_image
from restoregan.metrics import DEBLUR
from restoregan.nets.contract import Generator


class _Shift(Generator):
    """Adds 0.05 in [0, 1]: a restorer whose error is known everywhere."""

    def __init__(self) -> None:
        super().__init__(value_range=(0.0, 1.0))
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 0.05).clamp(0, 1)


def _batches(with_mask: bool) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 40, 48, generator=g) * 0.8
    blurred = target.clone()
    blurred[..., :, :20] = torch.rand(2, 3, 40, 20, generator=g) * 0.8  # left part "blurred"
    batch = {"input": blurred, "target": target, "name": ["a.png", "b.png"]}
    if with_mask:
        mask = torch.zeros(2, 1, 40, 48)
        mask[..., :, :20] = 1.0
        mask[1] = 0.0  # the second image has no blurred part
        batch["mask"] = mask
    return [batch]


def _u8(t: torch.Tensor) -> np.ndarray:
    return (t.permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8).astype(float)


def test_region_columns_match_scikit_image_on_the_region(tmp_path: Path) -> None:
    summary = evaluate(_Shift(), _batches(True), protocol=DEBLUR, out_dir=tmp_path)
    with open(tmp_path / "per_image.csv") as f:
        header = next(csv.reader(f))
    assert header == ["name", *SCORES, *REGION_SCORES, "protocol"]
    rows = read_per_image(tmp_path)
    batch = _batches(True)[0]
    pred_img = _u8((batch["input"][0] + 0.05).clamp(0, 1))
    target = _u8(batch["target"][0])
    left = np.zeros((40, 48), bool)
    left[:, :20] = True
    for part, region in (("blurred", left), ("clear", ~left)):
        mse = ((pred_img - target) ** 2)[region].mean()
        assert math.isclose(rows[0][f"psnr_{part}"], 10 * np.log10(255**2 / mse), rel_tol=1e-5)
        _, smap = structural_similarity(
            pred_img, target, data_range=255, channel_axis=-1, gaussian_weights=True,
            sigma=1.5, use_sample_covariance=False, full=True,
        )  # fmt: skip
        inner = region[5:-5, 5:-5]
        value = smap.mean(axis=-1)[5:-5, 5:-5][inner].mean()
        assert math.isclose(rows[0][f"ssim_{part}"], value, rel_tol=1e-4), part
    # The input's own scores: its clear part is the target (inf dB), its blurred part is not.
    assert math.isinf(rows[0]["psnr_input_clear"]) and rows[0]["psnr_input_blurred"] < 20
    # The second image has no blurred part: NaN there, left out of the mean.
    assert math.isnan(rows[1]["psnr_blurred"]) and math.isnan(rows[1]["ssim_blurred"])
    assert math.isclose(summary["psnr_blurred"], rows[0]["psnr_blurred"], abs_tol=1e-5)
    mean_clear = (rows[0]["psnr_clear"] + rows[1]["psnr_clear"]) / 2
    assert math.isclose(summary["psnr_clear"], mean_clear, abs_tol=1e-5)
    stored = json.loads((tmp_path / "summary.json").read_text())
    assert set(REGION_SCORES) <= set(stored)
    assert "blurred part" in format_summary(summary)


def test_no_masks_no_region_columns(tmp_path: Path) -> None:
    summary = evaluate(_Shift(), _batches(False), protocol=DEBLUR, out_dir=tmp_path)
    with open(tmp_path / "per_image.csv") as f:
        header = next(csv.reader(f))
    assert header == ["name", *SCORES, "protocol"]
    assert "psnr_blurred" not in summary and "blurred part" not in format_summary(summary)
