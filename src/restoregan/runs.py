"""Run folders and logger identities: every run its own folder, a resumed run its old one.

Importing this module registers the OmegaConf resolvers the configs use for their folders
(the scripts import it before Hydra composes):

- ``${run_stamp:}``: the start time to the second, then microseconds and the process id
  (``2026-12-02_04-30-12_123456-4242``). Hydra's ``${now:...}`` has one-second
  resolution, so two runs started in the same second shared one folder and mixed their
  checkpoints and metrics.
- ``${run_dir:<runs folder>,<ckpt_path>}``: a new ``<runs folder>/<stamp>``, or, when
  ``ckpt_path`` is a checkpoint inside a run folder of this suite
  (``<run>/checkpoints/*.ckpt`` beside ``<run>/.hydra``), that run's folder: a resumed
  run continues the original one (its checkpoints, ``best.ckpt``'s score, the CSV
  history, the W&B run) instead of splitting it in two. ``hydra.run.dir=...`` still
  chooses any folder.
- ``${config_subdir:<output dir>,<ckpt_path>}``: where Hydra writes the job's config:
  ``.hydra``, or ``.hydra/resumed/<stamp>`` when resuming into the original folder, so
  the original run's ``.hydra/overrides.yaml`` (which the sweep report reads) is kept.

Resolvers are cached per config (``use_cache``), and Hydra copies that cache into every
job of a sweep, so a stamp is drawn once per run.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from restoregan.sweeps.status import is_global_zero

__all__ = [
    "WANDB_ID_FILE",
    "finish_loggers",
    "prepare_loggers",
    "resumed_run_folder",
    "run_stamp",
]

#: The W&B run id of a run folder, so that resuming it resumes the same W&B run.
WANDB_ID_FILE = "wandb_id.txt"

_lock = threading.Lock()
_issued: set[str] = set()


def run_stamp() -> str:
    """A readable, unique start stamp: time (seconds), microseconds, process id."""
    with _lock:  # one process resolving two configs in the same microsecond: bump it
        now = datetime.now()
        while True:
            stamp = f"{now:%Y-%m-%d_%H-%M-%S}_{now:%f}-{os.getpid()}"
            if stamp not in _issued:
                _issued.add(stamp)
                return stamp
            now = now.replace(microsecond=(now.microsecond + 1) % 1_000_000)


def resumed_run_folder(ckpt_path: str | os.PathLike[str] | None) -> Path | None:
    """The run folder a checkpoint belongs to (``<run>/checkpoints/x.ckpt`` with
    ``<run>/.hydra``), or None: a checkpoint elsewhere starts a new folder."""
    if not ckpt_path:
        return None
    ckpt = Path(ckpt_path).expanduser().absolute()
    run = ckpt.parent.parent
    if ckpt.parent.name == "checkpoints" and (run / ".hydra").is_dir():
        return run
    return None


def _run_dir(runs_root: str, ckpt_path: str | None) -> str:
    run = resumed_run_folder(ckpt_path)
    return str(run) if run is not None else f"{runs_root}/{run_stamp()}"


def _config_subdir(output_dir: str, ckpt_path: str | None) -> str:
    run = resumed_run_folder(ckpt_path)
    if run is not None and Path(output_dir).absolute() == run:
        return f".hydra/resumed/{run_stamp()}"
    return ".hydra"


def _register(name: str, fn: Any) -> None:
    if not OmegaConf.has_resolver(name):
        OmegaConf.register_new_resolver(name, fn, use_cache=True)


_register("run_stamp", run_stamp)
_register("run_dir", _run_dir)
_register("config_subdir", _config_subdir)


# ---- loggers -----------------------------------------------------------------------------
def _sweep_group() -> tuple[str, int] | None:
    """(sweep folder name, job number) in a ``-m`` sweep, else None."""
    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    return Path(hydra_cfg.sweep.dir).name, int(hydra_cfg.job.num)


def _wandb_id(output_dir: Path) -> str:
    """The run folder's W&B id, made (and written, by global rank 0) on first use."""
    path = output_dir / WANDB_ID_FILE
    if path.is_file() and (known := path.read_text().strip()):
        return known
    run_id = secrets.token_hex(4)  # W&B's own ids are 8 characters of [a-z0-9]
    if is_global_zero():
        output_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(run_id + "\n")
    return run_id


def prepare_loggers(cfg: DictConfig) -> None:
    """Give the W&B logger (when configured) its run's identity, in place.

    ``id`` from ``<output_dir>/wandb_id.txt`` (a resumed run continues its W&B run:
    ``resume="allow"``); in a ``-m`` sweep ``group`` = the sweep folder's name and the job
    number in ``name``, one W&B run per job. Values the user set are kept.
    """
    node = (cfg.get("logger") or {}).get("wandb")
    if node is None or "WandbLogger" not in str(node.get("_target_", "")):
        return
    with open_dict(node):
        if node.get("id") is None:
            node.id = _wandb_id(Path(cfg.paths.output_dir))
        if node.get("resume") is None:
            node.resume = "allow"
        sweep = _sweep_group()
        if sweep is not None:
            if node.get("group") is None:
                node.group = sweep[0]
            node.name = f"{node.get('name') or cfg.get('task_name', 'run')}-{sweep[1]}"


def finish_loggers(exit_code: int = 0) -> None:
    """End this job's W&B run. Without it the next job of a sweep (same process, basic
    launcher) gets the still-active ``wandb.run`` back from the W&B logger and logs into it."""
    wandb = sys.modules.get("wandb")  # only a job that imported wandb can have a run open
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish(exit_code=exit_code)
