"""Evaluate a restorer on a dataset split under a named protocol; write the tables.

`per_image.csv` (name, psnr, ssim, psnr_input, ssim_input, protocol: every row names the
protocol that scored it) and `summary.json` (means, image count, protocol name). When the
batches carry blur masks (partial blur), also the region scores of
`restoregan.region_metrics` (`psnr_blurred`, `ssim_clear`, `psnr_weighted`, ... and the
input's own `psnr_input_blurred`, ...), averaged over the images where the region exists. Single process by design: a DistributedSampler repeats
samples to even out ranks, which would bias a reported mean.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from restoregan import metrics, region_metrics
from restoregan.data.io import to_uint8, write_image
from restoregan.restore import check_settings, input_baseline, restore

SCORES = ("psnr", "ssim", "psnr_input", "ssim_input")
SSIM3D_SCORES = ("ssim3d", "ssim3d_input")  # with ssim3d=True: SSIM "matlab3d" as well
# Data with blur masks (partial blur): per region, restored and input (psnr_input_blurred).
REGION_SCORES = region_metrics.VALIDATION_KEYS


def _mean(values: list[float]) -> float:
    # A perfect restoration scores inf dB and makes the mean inf: reported, not hidden.
    # A region an image does not have scores NaN (undefined) and is left out of the mean.
    values = [v for v in values if not math.isnan(v)]
    return math.fsum(values) / len(values) if values else float("nan")


def _region_row(
    pred: torch.Tensor,
    base: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    protocol: metrics.Protocol,
) -> dict[str, float]:
    restored = region_metrics.evaluate_regions(pred, target, mask, protocol)
    given = region_metrics.evaluate_regions(base, target, mask, protocol)
    row = {k: restored[k] for k in region_metrics.REGION_KEYS}
    row.update(
        {
            n: given[k]
            for k, n in zip(region_metrics.REGION_KEYS, region_metrics.INPUT_KEYS, strict=True)
        }
    )
    return row


@torch.no_grad()
def write_per_image(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """`per_image.csv`: one row per image, floats to 6 decimals, keys not in `columns`
    dropped (the one format every evaluator writes, so the tables read any of them)."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(
            {k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows
        )


def evaluate(
    restorer: nn.Module,
    batches: Iterable[dict[str, Any]],
    *,
    protocol: metrics.Protocol,
    out_dir: str | Path,
    device: str | torch.device = "cpu",
    save_images: bool = False,
    extra: dict[str, Any] | None = None,
    tile: int | None = None,
    tile_overlap: int = 32,
    tta: str | None = None,
    ssim3d: bool = False,
) -> dict[str, Any]:
    """Score every image of `batches`; returns the summary that is written to summary.json.

    Args:
        restorer: a generator (or a pipeline) with `value_range`, `scale`, `size_multiple`.
        batches: dataset batches `{"input", "target", "name"}` in [0, 1].
        protocol: how the scores are computed (see `restoregan.metrics`).
        out_dir: where per_image.csv, summary.json (and restored images) are written.
        save_images: also write each restored image under out_dir/images/<name>.
        extra: more fields for summary.json (checkpoint, data config, ...).
        tile, tile_overlap, tta: how each image is restored (`restoregan.restore.restore`:
            tiles of that side, the x8 self-ensemble); recorded in summary.json.
        ssim3d: also score SSIM "matlab3d" (MATLAB's `ssim()` on the RGB volume, what
            NAFNet / MPRNet / Restormer report) in `ssim3d` / `ssim3d_input` columns.
    """
    check_settings(tile=tile, overlap=tile_overlap, tta=tta)
    if ssim3d and protocol.color != "rgb":
        raise ValueError(
            f"ssim3d=true needs an RGB protocol; {protocol.name} scores the Y channel only. "
            "Drop ssim3d or evaluate with protocol=deblur / sr-rgb."
        )
    protocol_3d = dataclasses.replace(protocol, ssim="matlab3d") if ssim3d else None
    scores = SCORES + SSIM3D_SCORES if ssim3d else SCORES
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    restorer = restorer.to(device).eval()
    rows: list[dict[str, Any]] = []
    for batch in batches:
        x, y = batch["input"].to(device), batch["target"]
        pred = restore(restorer, x, tile=tile, overlap=tile_overlap, tta=tta).float().cpu()
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
                    "protocol": protocol.name,
                }
            )
            if batch.get("mask") is not None:
                rows[-1].update(_region_row(pred[i], base[i], y[i], batch["mask"][i], protocol))
            if ssim3d:
                rows[-1]["ssim3d"] = metrics.evaluate_pair(pred[i], y[i], protocol_3d)["ssim"]
                rows[-1]["ssim3d_input"] = metrics.evaluate_pair(base[i], y[i], protocol_3d)["ssim"]
            if save_images:
                write_image(out_dir / "images" / Path(name).with_suffix(".png"), to_uint8(pred[i]))
    if not rows:
        raise ValueError(
            "the evaluation split has no images; check the data config (data.root, split)"
        )

    if all(k in r for r in rows for k in REGION_SCORES):
        scores = scores + REGION_SCORES
    columns = ("name", *scores, "protocol")
    # A dataset gives masks to every item or to none; extras of a mixed one are dropped.
    write_per_image(out_dir / "per_image.csv", rows, columns)
    summary = {
        "protocol": protocol.name,
        "count": len(rows),
        **{k: _mean([r[k] for r in rows]) for k in scores},
        "tile": tile,
        "tile_overlap": tile_overlap if tile else None,
        "tta": tta,
        **(extra or {}),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def read_per_image(out_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of `<out_dir>/per_image.csv`, scores as floats (older files without the
    `protocol` column read too; it is then missing from the rows)."""
    with open(Path(out_dir) / "per_image.csv", newline="") as f:
        return [
            {
                k: (float(v) if k in SCORES + SSIM3D_SCORES + REGION_SCORES else v)
                for k, v in row.items()
            }
            for row in csv.DictReader(f)
        ]


def format_summary(summary: dict[str, Any]) -> str:
    """A small text table for the terminal."""
    lines = [
        f"protocol: {summary['protocol']}   images: {summary['count']}",
        f"{'':10s}{'PSNR (dB)':>12s}{'SSIM':>10s}",
        f"{'input':10s}{summary['psnr_input']:12.3f}{summary['ssim_input']:10.4f}",
        f"{'restored':10s}{summary['psnr']:12.3f}{summary['ssim']:10.4f}",
        f"{'gain':10s}{summary['psnr'] - summary['psnr_input']:+12.3f}{summary['ssim'] - summary['ssim_input']:+10.4f}",
    ]
    if "psnr_blurred" in summary:
        for part in ("blurred", "clear"):
            lines.append(
                f"{part + ' part':10s}{summary[f'psnr_{part}']:12.3f}"
                f"{summary[f'ssim_{part}']:10.4f}   input {summary[f'psnr_input_{part}']:.3f}"
                f" / {summary[f'ssim_input_{part}']:.4f}"
            )
        lines.append(
            f"weighted PSNR: input {summary['psnr_input_weighted']:.3f}, restored "
            f"{summary['psnr_weighted']:.3f}"
        )
    if "ssim3d" in summary:
        lines.append(
            f"SSIM matlab3d: input {summary['ssim3d_input']:.4f}, restored {summary['ssim3d']:.4f}"
        )
    return "\n".join(lines)
