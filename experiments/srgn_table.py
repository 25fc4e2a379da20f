"""SR-GN's Table 1: train SR-GN and DeblurGAN on partial blur per blur type, score, tabulate.

`experiment=srgn_table1` (conf/experiment/srgn_table1.yaml) holds a `srgn_table` node:

- `blurs`: the `data.kernel` values (SR-GN: `gaussian`, `motion`);
- `methods`: `name -> {label, overrides}`, each a training recipe (`model=srgn`,
  `model=deblurgan`: SR-GN's Ref [11]);
- `data`: overrides that select the partial-blur data every run trains and is scored on;
  `common`: overrides added to every run; `download`: what to fetch when data is missing;
- `protocol`: the region protocol (`restoregan.region_metrics.LOCAL_DEBLUR`);
- `paper`: `method -> blur -> metric -> {reference, complete}`, the paper's numbers;
- `scale`: `smoke` or `full`, written into every row.

Each (blur, method) is one `train()` run under `<output_dir>/<blur>/<method>/`; its
`last.ckpt` is scored on the test split of the same blur with
`restoregan.evaluation.evaluate` (per-image tables under `.../eval/`). The table,
`results.{md,csv,json}`, has the paper's shape: blur type x metric x {reference part,
complete image}, with the paper's number beside ours. SR-GN's "reference part" is the clear
part of the input (`psnr_clear` / `ssim_clear`); "complete" is the whole image.

Every run's data is set up before anything trains, so missing data fails at once, listing
every missing dataset. Child runs are configured like `experiments.multistage`'s stages.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from experiments.multistage import stage_config
from restoregan.cli.restorers import load_generator, pick_device
from restoregan.data.io import DatasetError
from restoregan.evaluation import evaluate
from restoregan.region_metrics import LOCAL_DEBLUR

log = logging.getLogger(__name__)

Compose = Callable[[list[str]], DictConfig]
Fit = Callable[[DictConfig], dict[str, Any]]

COLUMNS = (
    "method",
    "blur",
    "metric",
    "part",
    "paper",
    "ours",
    "diff",
    "protocol",
    "images",
    "scale",
)
# The paper's parts -> the summary keys of restoregan.evaluation.
PARTS = {"reference": "{metric}_clear", "complete": "{metric}"}
METRICS = ("psnr", "ssim")


class TableError(ValueError):
    """A Table 1 plan that cannot run as written."""


def run_srgn_table(cfg: DictConfig, *, compose: Compose, fit: Fit) -> list[dict[str, Any]]:
    """Run the plan in `cfg.srgn_table`; returns the table rows (also written to disk)."""
    plan = cfg.srgn_table
    out = Path(cfg.paths.output_dir)
    if not plan.blurs or not plan.methods:
        raise TableError("srgn_table needs at least one blur (blurs) and one method (methods)")
    runs = {
        (blur, name): stage_config(
            compose([*method.overrides, *plan.data, f"data.kernel={blur}", *plan.common]),
            cfg,
            out / blur / name,
            name=f"{blur}-{name}",
        )
        for blur in plan.blurs
        for name, method in plan.methods.items()
    }
    _preflight(runs, plan.get("download"))

    rows: list[dict[str, Any]] = []
    device = pick_device(plan.get("device", "auto"))
    for (blur, name), run_cfg in runs.items():
        log.info("Table 1: training %s on %s blur in %s", name, blur, run_cfg.paths.output_dir)
        fit(run_cfg)
        ckpt = Path(run_cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
        if not ckpt.is_file():
            raise TableError(
                f"{name}/{blur} finished without {ckpt}: last.ckpt is written at validation, "
                "so make the run's last step a validation step (trainer.max_steps, "
                "trainer.limit_train_batches)"
            )
        generator, _ = load_generator(ckpt)
        dm = instantiate(run_cfg.data)
        dm.prepare_data()
        dm.setup("test")
        summary = evaluate(
            generator,
            dm.test_dataloader(),
            protocol=LOCAL_DEBLUR,
            out_dir=ckpt.parent.parent / "eval",
            device=device,
            extra={"checkpoint": str(ckpt), "blur": blur, "method": name},
        )
        rows += table_rows(summary, method=name, blur=blur, plan=plan)
    write_table(rows, out, plan)
    return rows


def table_rows(
    summary: dict[str, Any], *, method: str, blur: str, plan: DictConfig
) -> list[dict[str, Any]]:
    """One evaluation summary -> the rows for each metric and part (paper value beside)."""
    if "psnr_clear" not in summary:
        raise TableError(
            f"{method}/{blur}: the evaluation has no region scores; the data must carry blur "
            "masks (data=partial_blur or demo_partial)"
        )
    paper = OmegaConf.create(plan.get("paper") or {})  # a plan without paper numbers: "-"
    rows = []
    for metric in METRICS:
        for part, key in PARTS.items():
            theirs = OmegaConf.select(paper, f"{method}.{blur}.{metric}.{part}", default=None)
            ours = float(summary[key.format(metric=metric)])
            rows.append(
                {
                    "method": method,
                    "blur": blur,
                    "metric": metric,
                    "part": part,
                    "paper": None if theirs is None else float(theirs),
                    "ours": ours,
                    "diff": None if theirs is None else ours - float(theirs),
                    "protocol": summary["protocol"],
                    "images": summary["count"],
                    "scale": plan.scale,
                }
            )
    return rows


def _preflight(runs: dict[tuple[str, str], DictConfig], download: str | None) -> None:
    """Prepare and set up every run's data now; report every missing dataset at once."""
    problems, seen = [], set()
    for (blur, name), run_cfg in runs.items():
        try:
            dm = instantiate(run_cfg.data)
            dm.prepare_data()
            dm.setup("fit")
        except DatasetError as err:
            if str(err) not in seen:
                seen.add(str(err))
                problems.append(f"{name} on {blur} blur: {err}")
    if problems:
        hint = f"\n\n-> {download.strip()}" if download else ""
        raise DatasetError(
            "Table 1's data is not all there; nothing was trained.\n\n"
            + "\n\n".join(problems)
            + hint
        )


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if metric == "psnr" else f"{value:.3f}"


def write_table(rows: list[dict[str, Any]], out: Path, plan: DictConfig) -> None:
    """`results.csv` (one row per method, blur, metric, part), `results.json`, and
    `results.md` in the paper's shape: blur x metric rows, method x part columns."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(
            {
                k: (f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v))
                for k, v in r.items()
            }
            for r in rows
        )
    (out / "results.json").write_text(json.dumps({"rows": rows}, indent=2))

    methods = list(dict.fromkeys(r["method"] for r in rows))
    labels = {m: (plan.methods[m].get("label") or m) for m in methods}
    index = {(r["method"], r["blur"], r["metric"], r["part"]): r for r in rows}
    header = ["blur", "metric"] + [
        f"{labels[m]} {part} (paper / ours)" for m in methods for part in PARTS
    ]
    lines = [
        f"# SR-GN Table 1 ({plan.scale} scale)",
        "",
        "| " + " | ".join(header) + " |",
        "| --- | --- |" + " ---: |" * (len(header) - 2),
    ]
    for blur in dict.fromkeys(r["blur"] for r in rows):
        for metric in METRICS:
            cells = []
            for m in methods:
                for part in PARTS:
                    r = index.get((m, blur, metric, part))
                    cells.append(
                        "-"
                        if r is None
                        else f"{_fmt(r['paper'], metric)} / {_fmt(r['ours'], metric)}"
                    )
            lines.append(f"| {blur} | {metric.upper()} | " + " | ".join(cells) + " |")
    protocols = sorted({r["protocol"] for r in rows})
    images = sorted({r["images"] for r in rows})
    lines += [
        "",
        f"Protocol: `{', '.join(protocols)}` (reference part = the clear part, mask < 0.5; "
        f"region PSNR from the MSE over the region's pixels, region SSIM the mean SSIM map "
        f"over it). Images per run: {', '.join(map(str, images))}.",
    ]
    if plan.scale != "full":
        lines.append(
            "Smoke scale: tiny networks, a few steps; the numbers only prove the plumbing."
        )
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    print(text)
    print(f"table written to {out}/results.{{md,csv,json}}")
