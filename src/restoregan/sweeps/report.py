"""One table of every run of a sweep: `report.md`, `report.csv`, and the plots.

`write_report(sweep_dir)` reads the runs (`restoregan.sweeps.records`) and writes the
table and the PNGs of `restoregan.sweeps.plots` into the sweep folder.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from restoregan.files import atomic_open
from restoregan.sweeps.plots import plot_against_values, plot_curves
from restoregan.sweeps.records import INPUT_METRIC, METRIC, RunRecord, find_runs, swept_keys


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table_rows(records: list[RunRecord]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and one row per run (numbers as floats/ints, None where a run has none)."""
    axes = swept_keys(records)
    columns = ["job", *axes, "status", "psnr_best", "psnr_best_step", "psnr_final"]
    columns += ["ssim_best", "ssim_final", "psnr_input", "ssim_input", "gain_db", "steps"]
    columns += ["wall_s", "checkpoints", "error", "overrides", "path"]
    rows = []
    for r in records:
        best, final = r.best, r.final
        ssims = [c[2] for c in r.curve if c[2] is not None]
        gain = best[1] - r.psnr_input if best and r.psnr_input is not None else None
        rows.append(
            {
                "job": r.job,
                **{k: r.overrides.get(k, "") for k in axes},
                "status": r.status,
                "psnr_best": best[1] if best else None,
                "psnr_best_step": best[0] if best else None,
                "psnr_final": final[1] if final else None,
                "ssim_best": max(ssims) if ssims else None,
                "ssim_final": final[2] if final else None,
                "psnr_input": r.psnr_input,
                "ssim_input": r.ssim_input,
                "gain_db": gain,
                "steps": r.steps,
                "wall_s": r.wall_s,
                "checkpoints": " ".join(r.checkpoints),
                "error": r.error,
                "overrides": " ".join(f"{k}={v}" for k, v in r.overrides.items()),
                "path": str(r.path),
            }
        )
    return columns, rows


_MD_HEAD = {
    "psnr_best": "best val/psnr",
    "psnr_best_step": "at step",
    "psnr_final": "final val/psnr",
    "ssim_best": "best val/ssim",
    "ssim_final": "final val/ssim",
    "psnr_input": "input psnr",
    "ssim_input": "input ssim",
    "gain_db": "gain (dB)",
    "wall_s": "wall (s)",
}
_DIGITS = {"psnr": 3, "ssim": 4, "gain_db": 3, "wall_s": 0}


def _digits(col: str) -> int:
    return next((d for prefix, d in _DIGITS.items() if col.startswith(prefix)), 3)


def to_markdown(records: list[RunRecord], title: str) -> str:
    """The report as markdown: common overrides, then one row per run."""
    columns, rows = table_rows(records)
    shown = [c for c in columns if c not in ("overrides", "path", "checkpoints")]
    axes = set(swept_keys(records))
    common = {k: v for k, v in records[0].overrides.items() if k not in axes}
    counts = {s: sum(r.status == s for r in records) for s in ("finished", "failed", "killed")}
    lines = [
        f"# {title}",
        "",
        f"{len(records)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n),
        "",
    ]
    if common:
        lines += ["Common overrides: " + " ".join(f"`{k}={v}`" for k, v in common.items()), ""]
    lines += [
        "| " + " | ".join(_MD_HEAD.get(c, c) for c in shown) + " |",
        "| "
        + " | ".join("---:" if c not in axes | {"job", "status", "error"} else "---" for c in shown)
        + " |",
    ]
    for row in rows:
        cells = [_fmt(row[c], _digits(c)).replace("|", "\\|") for c in shown]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Steps are generator iterations; gain is best {METRIC} minus {INPUT_METRIC}."]
    return "\n".join(lines) + "\n"


def _atomic_write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w", newline="") as f:
        f.write(text)


def to_csv(records: list[RunRecord]) -> str:
    columns, rows = table_rows(records)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: ("" if row[c] is None else row[c]) for c in columns} for row in rows)
    return buf.getvalue()


def write_report(
    sweep_dir: str | Path, *, out_dir: str | Path | None = None, plots: bool = True
) -> dict[str, Any]:
    """Write report.md, report.csv (and PNG plots) for the runs under `sweep_dir`.

    Returns `{"records": [...], "files": [paths written]}`.
    """
    sweep_dir = Path(sweep_dir)
    records = find_runs(sweep_dir)
    out = Path(out_dir) if out_dir else sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    title = f"Sweep {sweep_dir.name} ({datetime.now():%Y-%m-%d %H:%M})"
    md, table = out / "report.md", out / "report.csv"
    markdown = to_markdown(records, title)
    optuna = sweep_dir / "optimization_results.yaml"
    if optuna.is_file():
        best = yaml.safe_load(optuna.read_text()) or {}
        markdown += (
            f"\nOptuna best: value {best.get('best_value')} with {best.get('best_params')}\n"
        )
    _atomic_write_text(md, markdown)
    _atomic_write_text(table, to_csv(records))
    files = [md, table]
    if plots:
        axes = swept_keys(records)
        files += [p for p in (plot_curves(records, out, axes),) if p]
        files += plot_against_values(records, axes, out)
    return {"records": records, "files": files, "markdown": markdown}
