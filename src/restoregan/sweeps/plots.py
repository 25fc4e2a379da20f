"""PNG plots of a sweep with matplotlib: validation curves, and the metric per swept value.

Figures are built with `matplotlib.figure.Figure` (no pyplot), so no display, backend or
global state is involved: safe inside a training process or a Hydra callback.
"""

from __future__ import annotations

import re
from pathlib import Path

from matplotlib.figure import Figure

from restoregan.files import atomic_path
from restoregan.sweeps.records import RunRecord


def _label(record: RunRecord, axes: list[str]) -> str:
    values = [f"{k.split('.')[-1]}={record.overrides.get(k, '')}" for k in axes]
    return f"#{record.job} " + " ".join(values) if values else f"#{record.job}"


def _save(fig: Figure, path: Path) -> Path:
    # Atomic, like every file the suite writes: a reader never sees half a PNG.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return path


def plot_curves(
    records: list[RunRecord], out_dir: Path, axes: list[str] | None = None
) -> Path | None:
    """`curves.png`: val/psnr (and val/ssim) against generator iterations, one line per run,
    with the blurred input's score dashed. None when no run has validated yet."""
    runs = [r for r in records if r.curve]
    if not runs:
        return None
    fig = Figure(figsize=(11, 4.2))
    ax_psnr, ax_ssim = fig.subplots(1, 2)
    for r in runs:
        steps = [c[0] for c in r.curve]
        (line,) = ax_psnr.plot(steps, [c[1] for c in r.curve], marker=".", label=_label(r, axes))
        ssim = [(c[0], c[2]) for c in r.curve if c[2] is not None]
        if ssim:
            ax_ssim.plot(*zip(*ssim, strict=True), marker=".", color=line.get_color())
        if r.psnr_input is not None:
            ax_psnr.axhline(r.psnr_input, color=line.get_color(), linestyle="--", linewidth=0.8)
        if r.ssim_input is not None:
            ax_ssim.axhline(r.ssim_input, color=line.get_color(), linestyle="--", linewidth=0.8)
    ax_psnr.set(
        xlabel="generator iterations", ylabel="val/psnr (dB)", title="val/psnr (dashed: input)"
    )
    ax_ssim.set(xlabel="generator iterations", ylabel="val/ssim", title="val/ssim (dashed: input)")
    for ax in (ax_psnr, ax_ssim):
        ax.grid(alpha=0.3)
    ax_psnr.legend(fontsize=7, loc="best")
    return _save(fig, out_dir / "curves.png")


def _as_number(values: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def plot_against_values(records: list[RunRecord], axes: list[str], out_dir: Path) -> list[Path]:
    """`by_<key>.png` per swept key: each run's best val/psnr against the key's value
    (numbers on a numeric axis, anything else as categories), the input's score dashed.
    Runs without a validation are left out (counted in the title); the table has them."""
    scored = [r for r in records if r.best is not None]
    missing = len(records) - len(scored)
    inputs = sorted({round(r.psnr_input, 6) for r in scored if r.psnr_input is not None})
    paths = []
    for key in axes if scored else []:
        values = [r.overrides.get(key, "") for r in scored]
        numeric = _as_number(values)
        categories = sorted(set(values), key=values.index)
        xs = numeric if numeric is not None else [categories.index(v) for v in values]
        fig = Figure(figsize=(5.5, 4))
        ax = fig.subplots()
        ax.scatter(xs, [r.best[1] for r in scored])  # type: ignore[index]
        for level in inputs:
            ax.axhline(level, color="grey", linestyle="--", linewidth=0.8)
        if numeric is None:
            ax.set_xticks(range(len(categories)), categories, rotation=20)
        elif min(numeric) > 0 and max(numeric) / min(numeric) >= 100:
            ax.set_xscale("log")  # loss weights are swept over decades
        note = f", {missing} run(s) without validation not shown" if missing else ""
        ax.set(xlabel=key, ylabel="best val/psnr (dB)", title=f"best val/psnr by {key}{note}")
        ax.title.set_fontsize(9)
        ax.grid(alpha=0.3)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)
        paths.append(_save(fig, out_dir / f"by_{name}.png"))
    return paths
