"""What each run of a sweep left behind, read back from its folder.

Per run (any folder holding `.hydra/overrides.yaml`): its overrides, `csv/metrics.csv`
(validation curve, steps), `status.json` (finished / failed + error / killed, wall time;
see `restoregan.sweeps.status`) and `checkpoints/`. Nothing here needs the run's
process, so a sweep can be reported while it runs, after a crash, or on another machine.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from restoregan.sweeps.status import read_status

METRIC = "val/psnr"
INPUT_METRIC = "val/psnr_input"
SSIM = "val/ssim"
SSIM_INPUT = "val/ssim_input"


class SweepReportError(ValueError):
    """A folder that holds no run to report on."""


@dataclass
class RunRecord:
    """What one run left behind, reduced to the table's numbers."""

    path: Path
    job: str
    overrides: dict[str, str]
    status: str  # finished | failed | killed
    error: str = ""
    wall_s: float | None = None
    steps: int | None = None
    # (iterations done, val/psnr, val/ssim) per validation
    curve: list[tuple[int, float, float | None]] = field(default_factory=list)
    psnr_input: float | None = None
    ssim_input: float | None = None
    checkpoints: list[str] = field(default_factory=list)

    @property
    def best(self) -> tuple[int, float, float | None] | None:
        """(step, val/psnr, val/ssim) of the best validation (what best.ckpt holds)."""
        return max(self.curve, key=lambda c: c[1]) if self.curve else None

    @property
    def final(self) -> tuple[int, float, float | None] | None:
        return self.curve[-1] if self.curve else None


def _float(value: str | None) -> float | None:
    try:
        out = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return out if out is None or math.isfinite(out) else None


def _read_metrics(path: Path) -> tuple[list[dict[str, str]], int | None]:
    if not path.is_file():
        return [], None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    # Lightning logs train/val rows at the 0-based index of the generator iteration (batch)
    # just done, and the test rows at the count of iterations: count = index + 1.
    counts = [
        int(r["step"]) + (0 if _has(r, "test/") else 1)
        for r in rows
        if r.get("step") and (_has(r, "train/") or _has(r, "val/") or _has(r, "test/"))
    ]
    return rows, (max(counts) if counts else None)


def _has(row: dict[str, str], prefix: str) -> bool:
    return any(k.startswith(prefix) and v for k, v in row.items())


def _wall_from_files(run: Path) -> float | None:
    """A killed run wrote no end time: first to last file modification is the estimate."""
    times = [p.stat().st_mtime for p in run.rglob("*") if p.is_file()]
    return max(times) - min(times) if len(times) > 1 else None


def read_run(run: Path) -> RunRecord:
    """Reduce one run folder to a `RunRecord`."""
    overrides_list = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text()) or []
    overrides = {}
    for item in overrides_list:
        key, _, value = str(item).partition("=")
        overrides[key] = value
    rows, steps = _read_metrics(run / "csv" / "metrics.csv")
    curve, psnr_input, ssim_input = [], None, None
    for r in rows:
        psnr = _float(r.get(METRIC))
        if psnr is None:
            continue
        curve.append((int(r.get("step") or 0) + 1, psnr, _float(r.get(SSIM))))
        psnr_input = _float(r.get(INPUT_METRIC)) or psnr_input
        ssim_input = _float(r.get(SSIM_INPUT)) or ssim_input
    status = read_status(run) or {}
    state = status.get("status")
    record = RunRecord(
        path=run,
        job=run.name,
        overrides=overrides,
        # No end recorded: the process was killed (or is still running, for a live report).
        status=state if state in ("finished", "failed") else "killed",
        error=str(status.get("error", "")),
        wall_s=status.get("wall_s") if state in ("finished", "failed") else _wall_from_files(run),
        steps=steps,
        curve=curve,
        psnr_input=psnr_input,
        ssim_input=ssim_input,
        checkpoints=sorted(p.name for p in (run / "checkpoints").glob("*.ckpt")),
    )
    if record.status == "killed" and state == "running":
        record.error = (
            f"no end recorded (started {status.get('started', '?')}): killed, or still running"
        )
    return record


def find_runs(root: Path) -> list[RunRecord]:
    """Every run under `root` (a multirun folder, a runs/ folder, or one run), in job order."""
    root = Path(root)
    if not root.is_dir():
        raise SweepReportError(
            f"sweep folder {root} does not exist; pass the multirun folder a -m run printed "
            "(logs/<task>/multiruns/<time>)"
        )
    runs = sorted({p.parent.parent for p in root.rglob(".hydra/overrides.yaml")})
    # The sweep folder's own multirun.yaml is no run; Hydra gives each job its subfolder.
    runs = [r for r in runs if r != root or not (root / "multirun.yaml").exists()]
    if not runs:
        raise SweepReportError(
            f"no run found under {root}: expected job folders holding .hydra/overrides.yaml "
            "(what python src/train.py -m ... writes under logs/<task>/multiruns/<time>/<job>)"
        )

    def order(run: Path) -> tuple[int, str]:
        return (int(run.name), "") if run.name.isdigit() else (1 << 30, str(run))

    return [read_run(r) for r in sorted(runs, key=order)]


def swept_keys(records: list[RunRecord]) -> list[str]:
    """Override keys whose value is not the same in every run: the sweep's axes."""
    keys: list[str] = []
    for r in records:
        keys += [k for k in r.overrides if k not in keys]
    return [k for k in keys if len({r.overrides.get(k) for r in records}) > 1]
