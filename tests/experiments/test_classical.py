"""Classical baselines scored like the learned restorers (experiments.classical)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from experiments.classical import NO_KERNEL_NOTE, ClassicalBaselineError, evaluate_classical
from restoregan import metrics


def _batches(with_kernel: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    sharp = ndimage.gaussian_filter(rng.random((40, 48, 3)), (2, 2, 0)).astype(np.float32)
    kernel = np.zeros((7, 7), np.float32)
    kernel[3, :] = 1 / 7  # horizontal motion
    blurred = np.stack(
        [ndimage.convolve(sharp[..., c], kernel, mode="mirror") for c in range(3)], -1
    )
    batch = {
        "input": torch.from_numpy(blurred).permute(2, 0, 1)[None],
        "target": torch.from_numpy(sharp).permute(2, 0, 1)[None],
        "name": ["a.png"],
    }
    if with_kernel:
        batch["kernel"] = torch.from_numpy(kernel)[None]
    return [batch]


def test_true_kernel_deconvolution_beats_the_input(tmp_path: Path) -> None:
    summary = evaluate_classical(
        "wiener", _batches(True), protocol=metrics.DEBLUR, out_dir=tmp_path
    )
    assert summary["count"] == 1 and summary["psnr"] > summary["psnr_input"] + 1.0
    assert "true kernel" in summary["note"]
    with open(tmp_path / "per_image.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["name"] == "a.png" and row["protocol"] == metrics.DEBLUR.name
    assert float(row["psnr"]) == pytest.approx(summary["psnr"], abs=1e-5)
    assert json.loads((tmp_path / "summary.json").read_text())["count"] == 1


def test_a_set_without_kernels_skips_the_non_blind_methods(tmp_path: Path) -> None:
    summary = evaluate_classical(
        "richardson_lucy", _batches(False), protocol=metrics.DEBLUR, out_dir=tmp_path
    )
    assert (
        summary["count"] == 0 and math.isnan(summary["psnr"]) and summary["note"] == NO_KERNEL_NOTE
    )
    blind = evaluate_classical(
        "nl_means", _batches(False), protocol=metrics.DEBLUR, out_dir=tmp_path
    )
    assert blind["count"] == 1 and math.isfinite(blind["psnr"])


def test_unknown_baseline(tmp_path: Path) -> None:
    with pytest.raises(ClassicalBaselineError, match="nl_means"):
        evaluate_classical("bm3d", [], protocol=metrics.DEBLUR, out_dir=tmp_path)
