"""Evaluate a restorer on a dataset split under a named protocol; write the tables.

`per_image.csv` (name, psnr, ssim, psnr_input, ssim_input) and `summary.json` (means,
image count, protocol name). Single process by design: a DistributedSampler repeats
samples to even out ranks, which would bias a reported mean.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from restoregan import metrics
from restoregan.data.io import to_uint8, write_image
from restoregan.restore import input_baseline, restore

COLUMNS = ("name", "psnr", "ssim", "psnr_input", "ssim_input")


def _mean(values: list[float]) -> float:
    # A perfect restoration scores inf dB and makes the mean inf: reported, not hidden.
    return math.fsum(values) / len(values)


@torch.no_grad()
def evaluate(
    restorer: nn.Module,
    batches: Iterable[dict[str, Any]],
    *,
    protocol: metrics.Protocol,
    out_dir: str | Path,
    device: str | torch.device = "cpu",
    save_images: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score every image of `batches`; returns the summary that is written to summary.json.

    Args:
        restorer: a generator (or a pipeline) with `value_range`, `scale`, `size_multiple`.
        batches: dataset batches `{"input", "target", "name"}` in [0, 1].
        protocol: how the scores are computed (see `restoregan.metrics`).
        out_dir: where per_image.csv, summary.json (and restored images) are written.
        save_images: also write each restored image under out_dir/images/<name>.
        extra: more fields for summary.json (checkpoint, data config, ...).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    restorer = restorer.to(device).eval()
    rows: list[dict[str, Any]] = []
    for batch in batches:
        x, y = batch["input"].to(device), batch["target"]
        pred = restore(restorer, x).float().cpu()
        base = input_baseline(batch["input"], tuple(y.shape[-2:]))
        for i, name in enumerate(batch["name"]):
            restored = metrics.evaluate_pair(pred[i], y[i], protocol)
            given = metrics.evaluate_pair(base[i], y[i], protocol)
            rows.append(
                {
                    "name": name,
                    "psnr": restored["psnr"],
                    "ssim": restored["ssim"],
                    "psnr_input": given["psnr"],
                    "ssim_input": given["ssim"],
                }
            )
            if save_images:
                write_image(out_dir / "images" / Path(name).with_suffix(".png"), to_uint8(pred[i]))
    if not rows:
        raise ValueError(
            "the evaluation split has no images; check the data config (data.root, split)"
        )

    with open(out_dir / "per_image.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(
            {k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows
        )
    summary = {
        "protocol": protocol.name,
        "count": len(rows),
        **{k: _mean([r[k] for r in rows]) for k in COLUMNS[1:]},
        **(extra or {}),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """A small text table for the terminal."""
    lines = [
        f"protocol: {summary['protocol']}   images: {summary['count']}",
        f"{'':10s}{'PSNR (dB)':>12s}{'SSIM':>10s}",
        f"{'input':10s}{summary['psnr_input']:12.3f}{summary['ssim_input']:10.4f}",
        f"{'restored':10s}{summary['psnr']:12.3f}{summary['ssim']:10.4f}",
        f"{'gain':10s}{summary['psnr'] - summary['psnr_input']:+12.3f}{summary['ssim'] - summary['ssim_input']:+10.4f}",
    ]
    return "\n".join(lines)
