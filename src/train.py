"""Train a restoration model: compose the config, instantiate, fit, test.

python src/train.py                                   # DeblurGAN recipe on the demo data
python src/train.py experiment=quickstart             # what `make train` runs
python src/train.py model=deblurgan data=gopro data.root=/data/GOPRO_Large
python src/train.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt   # resume, same folder
python src/train.py experiment=dual_gan_smoke         # multi-stage: experiments/multistage.py
python src/train.py experiment=srgn_table1_smoke      # SR-GN Table 1: experiments/srgn_table.py
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning.pytorch as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

# The layout keeps reproductions in the top-level experiments/ beside src/; run as
# `python src/train.py`, only src/ is on sys.path, so the repository root joins it.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from experiments.multistage import run_multistage
from experiments.srgn_table import run_srgn_table
from restoregan.callbacks.run_config import RunConfig
from restoregan.cli.errors import run_main, user_errors
from restoregan.runs import finish_loggers, prepare_loggers  # also: the run-folder resolvers
from restoregan.sweeps.status import sweep_job

log = logging.getLogger("restoregan")

# The perceptual loss's VGG is frozen and kept in eval mode on purpose; Lightning warns
# about any module in eval mode at the start of training.
warnings.filterwarnings(
    "ignore", message=r"Found \d+ module\(s\) in eval mode", category=UserWarning
)
# Lightning looks for the resume position in the loader; the suite's is the datamodule's
# state (restoregan.data.sampling), so its "dataloader is not resumable" warning is wrong.
warnings.filterwarnings("ignore", message=r"You're resuming from a checkpoint that ended before")


def instantiate_dict(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every `_target_` node of a dict-of-configs group (callbacks, loggers).

    Entries set to null are skipped, so `callbacks.sample_grid=null` switches one off.
    """
    if not cfg:
        return []
    return [instantiate(node) for node in cfg.values() if node is not None and "_target_" in node]


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit (and optionally test) the model `cfg` describes; returns the final metrics."""
    L.seed_everything(cfg.seed, workers=True)
    resolved = OmegaConf.to_container(cfg, resolve=True)

    datamodule: L.LightningDataModule = instantiate(cfg.data)
    model: L.LightningModule = instantiate(cfg.model)
    callbacks = [*instantiate_dict(cfg.get("callbacks")), RunConfig(resolved)]
    prepare_loggers(cfg)  # the W&B run's id (resumable) and sweep group
    loggers = instantiate_dict(cfg.get("logger"))
    try:
        metrics = _fit(cfg, resolved, datamodule, model, callbacks, loggers)
    except BaseException:
        finish_loggers(exit_code=1)
        raise
    finish_loggers()  # one W&B run per job, also in a -m sweep
    return metrics


def _fit(
    cfg: DictConfig,
    resolved: Any,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    callbacks: list[Any],
    loggers: list[Any],
) -> dict[str, Any]:
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    for logger in loggers:
        logger.log_hyperparams(resolved)
    log.info("output directory: %s", cfg.paths.output_dir)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}

    if cfg.get("test_after_fit"):
        monitored = [c for c in trainer.checkpoint_callbacks if getattr(c, "monitor", None)]
        best = monitored[0].best_model_path if monitored else ""
        trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
        metrics.update({k: float(v) for k, v in trainer.callback_metrics.items()})
    return metrics


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
@user_errors
@sweep_job  # status.json per run; in a -m sweep a failing job fails alone
def main(cfg: DictConfig) -> float | None:
    if cfg.get("multistage"):  # experiment=dual_gan: several train() runs, then a table
        run_multistage(cfg, compose=lambda o: hydra.compose("train", o), fit=train)
        return None
    if cfg.get("srgn_table"):  # experiment=srgn_table1: a run per blur and method, a table
        run_srgn_table(cfg, compose=lambda o: hydra.compose("train", o), fit=train)
        return None
    metrics = train(cfg)
    # Returned for Hydra sweepers (optuna etc.) that optimise a metric.
    name = cfg.get("optimized_metric")
    return metrics.get(name) if name else None


if __name__ == "__main__":
    run_main(main)
