"""Validation curves of a plan's stages in one PNG (`curves.png`).

Each stage is a training run with a CSV log (`<stage>/csv/metrics.csv`); the plot is the
sweep report's (`restoregan.sweeps.plots.plot_curves`: val/psnr and val/ssim against
generator iterations, the blurred input dashed), one line per stage.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from restoregan.sweeps.plots import plot_curves
from restoregan.sweeps.records import RunRecord


def _value(row: dict[str, str], key: str) -> float | None:
    text = row.get(key) or ""
    try:
        return float(text) if text else None
    except ValueError:
        return None


def read_curve(stage_dir: Path, name: str) -> RunRecord:
    """A stage's validation history as a `RunRecord` (the sweep report's run record)."""
    record = RunRecord(path=stage_dir, job=name, overrides={}, status="finished")
    path = stage_dir / "csv" / "metrics.csv"
    if not path.is_file():
        return record
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            psnr = _value(row, "val/psnr")
            if psnr is None:
                continue
            # Lightning logs at the 0-based index of the iteration just done.
            record.curve.append((int(row.get("step") or 0) + 1, psnr, _value(row, "val/ssim")))
            record.psnr_input = _value(row, "val/psnr_input") or record.psnr_input
            record.ssim_input = _value(row, "val/ssim_input") or record.ssim_input
    return record


def plot_stage_curves(stage_dirs: Mapping[str, Path], out_dir: Path) -> Path | None:
    """`<out_dir>/curves.png` with one line per stage; None when no stage validated."""
    return plot_curves([read_curve(d, name) for name, d in stage_dirs.items()], out_dir, axes=[])
