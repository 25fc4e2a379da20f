"""Multi-stage experiments: train stages in order, then compare restorers built from them.

An experiment whose config has a `multistage` node (conf/experiment/dual_gan.yaml) is run
by `run_multistage` instead of a single `train()`. The node holds:

- `prepare`: data configs (override lists for the train config) whose `prepare_data()`
  runs first, e.g. the bundled photographs the smoke size trains on;
- `common`: overrides added to every stage (e.g. `trainer=gpu`);
- `stages`: `name -> {overrides, init_from, download}`, in order. Each stage is one
  `train()` run of the train config composed with its overrides, written under
  `<output_dir>/<name>/`; its `last.ckpt` is what later stages (`init_from: <name>`, as
  `model.init_from`) and the evaluation use;
- `evaluation`: `sets` (`name -> {overrides, protocol, download}`: the data to score on)
  and `methods` (`name -> {label, deblur, sr}`: a chain of a deblurring stage, or none,
  then an SR stage, or bicubic upsampling; or `{label, baseline}`: a classical restorer
  of `experiments.classical`). Every method is scored on every set with
  `restoregan.evaluation.evaluate` and one comparison table is written:
  `comparison.{md,csv,json}`, each row naming its protocol;
- `table` (optional): the reproduction entry (`experiments/entries/<table>.py`) whose
  paper numbers go beside ours in `results.{md,csv}` (`experiments.tables`), at `scale`
  (smoke / full); `curves: true` also draws every stage's validation curve (`curves.png`);
- `requires_gpu` (optional): refuse to start without CUDA (a full-scale table).

A stage, set or method set to null is left out (a smoke plan switches parts off that way).
Before anything trains, every stage's and set's data is set up, so a missing dataset
fails in seconds with what to download, not after days of the first stage.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn

from experiments import registry, tables
from experiments.classical import evaluate_classical
from experiments.curves import plot_stage_curves
from restoregan import metrics
from restoregan.cli.restorers import load_generator, pick_device
from restoregan.data.io import DatasetError
from restoregan.evaluation import evaluate
from restoregan.pipeline import BicubicUpsampler, DualGANPipeline, NoDeblur

log = logging.getLogger(__name__)

Compose = Callable[[list[str]], DictConfig]
Fit = Callable[[DictConfig], dict[str, Any]]

TABLE_COLUMNS = ("set", "method", "label", "protocol", "images", "psnr", "ssim")


class ExperimentError(ValueError):
    """A multi-stage plan that cannot run as written (names, scales, missing outputs)."""


class PreflightError(DatasetError):
    """What a plan needs and this machine lacks (datasets, a GPU), listed before training."""


def _active(node: DictConfig | None) -> dict[str, Any]:
    """The entries of a stages / sets / methods node that are not switched off (null)."""
    return {k: v for k, v in (node or {}).items() if v is not None}


def run_multistage(cfg: DictConfig, *, compose: Compose, fit: Fit) -> dict[str, Any]:
    """Run the experiment `cfg.multistage` describes; returns the comparison table.

    Args:
        cfg: the composed train config of the experiment (paths, seed, `multistage`).
        compose: builds the train config from a list of overrides (Hydra's compose).
        fit: trains one stage from its config (`train.train`).

    Returns:
        `{"rows": [...], "checkpoints": {stage: path}}`; the rows are also written to
        `<output_dir>/comparison.{md,csv,json}`.
    """
    plan = cfg.multistage
    out = Path(cfg.paths.output_dir)
    _check_plan(plan)
    for overrides in plan.get("prepare") or []:
        instantiate(compose(list(overrides)).data).prepare_data()

    stages = _active(plan.stages)
    stage_cfgs = {
        name: stage_config(compose([*stage.overrides, *plan.common]), cfg, out / name)
        for name, stage in stages.items()
    }
    sets = {
        name: (spec, instantiate(compose(list(spec.overrides)).data))
        for name, spec in _active(plan.evaluation.sets).items()
    }
    _preflight(plan, stage_cfgs, sets)

    checkpoints: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    for name, stage in stages.items():
        stage_cfg = stage_cfgs[name]
        if stage.get("init_from"):
            with open_dict(stage_cfg):
                stage_cfg.model.init_from = str(checkpoints[stage.init_from])
        log.info("stage %s: training in %s", name, out / name)
        started = time.monotonic()
        fit(stage_cfg)
        seconds[name] = time.monotonic() - started
        checkpoints[name] = _final_checkpoint(out / name)

    rows = _compare(plan.evaluation, sets, checkpoints, out)
    for row in rows:  # the training time of a one-stage method, for the learning table
        method = plan.evaluation.methods[row["method"]]
        stage = method.get("deblur") if not method.get("sr") else None
        if stage in seconds and not method.get("baseline"):
            row["note"] = "; ".join(
                n for n in (row["note"], f"trained {seconds[stage]:.0f} s") if n
            )
    _write_tables(rows, checkpoints, out)
    figures = ()
    if plan.get("curves") and plot_stage_curves({name: out / name for name in stages}, out):
        figures = ("curves.png",)
    if plan.get("table"):
        entry, scale = registry.get(plan.table), plan.get("scale", "full")
        command = f"make reproduce-{entry.name} SCALE={scale}"
        tables.write_results(entry, rows, out, scale=scale, command=command, figures=figures)
        print((out / "results.md").read_text())
        print(f"results written to {out}/results.{{md,csv}}")
    return {"rows": rows, "checkpoints": {k: str(v) for k, v in checkpoints.items()}}


def _compare(
    evaluation: DictConfig,
    sets: Mapping[str, tuple[DictConfig, L.LightningDataModule]],
    checkpoints: Mapping[str, Path],
    out: Path,
) -> list[dict[str, Any]]:
    """Score every method on every set; per-image tables go to out/eval/<set>/<method>/."""
    rows = []
    device = pick_device(evaluation.get("device", "auto"))
    for set_name, (spec, dm) in sets.items():
        protocol = metrics.get_protocol(spec.get("protocol") or dm.protocol, scale=dm.scale)
        for method_name, method in _active(evaluation.methods).items():
            where = out / "eval" / set_name / method_name
            if method.get("baseline"):
                if dm.scale != 1:
                    raise ExperimentError(
                        f"{set_name}/{method_name}: classical baselines deblur at one scale; "
                        f"the set's targets are x{dm.scale} its inputs"
                    )
                summary = evaluate_classical(
                    method.baseline, dm.test_dataloader(), protocol=protocol, out_dir=where
                )
            else:
                restorer = _chain(
                    method, checkpoints, scale=dm.scale, where=f"{set_name}/{method_name}"
                )
                summary = evaluate(
                    restorer,
                    dm.test_dataloader(),
                    protocol=protocol,
                    out_dir=where,
                    device=device,
                    extra={"deblur": method.get("deblur"), "sr": method.get("sr")},
                )
            rows.append(
                {
                    "set": set_name,
                    "method": method_name,
                    "label": method.get("label") or method_name,
                    "protocol": summary["protocol"],
                    "images": summary["count"],
                    "psnr": summary["psnr"],
                    "ssim": summary["ssim"],
                    "psnr_input": summary["psnr_input"],
                    "ssim_input": summary["ssim_input"],
                    "note": summary.get("note") or method.get("note") or "",
                }
            )
    return rows


def _check_plan(plan: DictConfig) -> None:
    """Names that refer to stages must refer to earlier ones; caught before any training."""
    seen: list[str] = []
    for name, stage in _active(plan.stages).items():
        source = stage.get("init_from")
        if source and source not in seen:
            raise ExperimentError(
                f"multistage.stages.{name}.init_from={source!r} must name an earlier stage "
                f"(earlier: {seen or 'none'})"
            )
        seen.append(name)
    if plan.get("table"):
        registry.get(plan.table)  # an unknown table name fails now, not after training
    for name, method in _active(plan.evaluation.methods).items():
        if method.get("baseline") and (method.get("deblur") or method.get("sr")):
            raise ExperimentError(
                f"multistage.evaluation.methods.{name}: a classical baseline is a method "
                "of its own; give either baseline or deblur/sr"
            )
        for role in ("deblur", "sr"):
            stage = method.get(role)
            if stage and stage not in seen:
                raise ExperimentError(
                    f"multistage.evaluation.methods.{name}.{role}={stage!r} is not a stage; "
                    f"stages: {seen}"
                )


def stage_config(
    cfg: DictConfig, parent: DictConfig, out_dir: Path, name: str | None = None
) -> DictConfig:
    """A stage (or any child run of an experiment) writes under the experiment's output
    folder, with its paths and seed, and is named after it (`dual_gan-sr_gan`: logger run
    names; `name` defaults to the folder's)."""
    paths = OmegaConf.to_container(parent.paths, resolve=True)
    with open_dict(cfg):
        cfg.paths = {**paths, "output_dir": str(out_dir)}
        cfg.seed = parent.seed
        cfg.task_name = f"{parent.task_name}-{name or out_dir.name}"
    return cfg


def _preflight(
    plan: DictConfig,
    stage_cfgs: Mapping[str, DictConfig],
    sets: Mapping[str, tuple[DictConfig, L.LightningDataModule]],
) -> None:
    """Set up every stage's and set's data now; report every missing dataset at once."""
    checks = [
        (f"stage '{name}'", instantiate(cfg.data), "fit", plan.stages[name].get("download"))
        for name, cfg in stage_cfgs.items()
    ]
    checks += [
        (f"evaluation set '{name}'", dm, "test", spec.get("download"))
        for name, (spec, dm) in sets.items()
    ]
    problems, first_seen = [], {}
    if plan.get("requires_gpu") and not torch.cuda.is_available():
        problems.append(
            "a CUDA GPU: this is a full-scale run (the paper's data and schedule), days on a "
            "GPU; on this machine use SCALE=smoke (make reproduce-<entry> SCALE=smoke)"
        )
    for what, dm, stage, download in checks:
        try:
            dm.prepare_data()
            dm.setup(stage)
        except DatasetError as err:
            if str(err) in first_seen:  # the same dataset, used again
                problems.append(f"{what}: the same data as {first_seen[str(err)]}")
                continue
            first_seen[str(err)] = what
            problems.append(f"{what}: {err}" + (f"\n  -> {download.strip()}" if download else ""))
    if problems:
        raise PreflightError(
            "the experiment needs what is not here (its data, or a GPU); nothing was trained."
            "\n\n" + "\n\n".join(problems)
        )


def _final_checkpoint(stage_dir: Path) -> Path:
    path = stage_dir / "checkpoints" / "last.ckpt"
    if not path.is_file():
        raise ExperimentError(
            f"stage finished without {path}: last.ckpt is written at validation, so make the "
            "stage's last step a validation step (trainer.val_check_interval / max_steps)"
        )
    return path


def _chain(
    method: DictConfig, checkpoints: Mapping[str, Path], *, scale: int, where: str
) -> nn.Module:
    """Deblurring stage (or none) then SR stage (or bicubic x`scale`), as one restorer."""
    deblur = load_generator(checkpoints[method.deblur])[0] if method.get("deblur") else NoDeblur()
    sr = (
        load_generator(checkpoints[method.sr])[0]
        if method.get("sr")
        else BicubicUpsampler(scale=scale)
    )
    chain = DualGANPipeline(deblur=deblur, sr=sr)
    if chain.scale != scale:
        raise ExperimentError(
            f"{where}: the chain upscales x{chain.scale} but the evaluation set's targets are "
            f"x{scale} its inputs; use blur_lr data with target=hr for chain evaluation"
        )
    return chain


def _write_tables(rows: list[dict[str, Any]], checkpoints: Mapping[str, Path], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "comparison.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(
            {k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows
        )
    payload = {"rows": rows, "checkpoints": {k: str(v) for k, v in checkpoints.items()}}
    (out / "comparison.json").write_text(json.dumps(payload, indent=2))
    lines = [
        "| set | method | PSNR (dB) | SSIM | images | protocol |",
        "| --- | --- | ---: | ---: | ---: | --- |",
        *(
            f"| {r['set']} | {r['label']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['images']} "
            f"| `{r['protocol']}` |"
            for r in rows
        ),
    ]
    table = "\n".join(lines) + "\n"
    (out / "comparison.md").write_text(table)
    print(table)
    print(f"comparison written to {out}/comparison.{{md,csv,json}}")
