"""How a training job ended, written next to its outputs as `status.json`.

Hydra 1.3's basic launcher runs the jobs of a sweep one after another in one process.
It catches an `Exception` raised by a job, but its sweeper then re-raises the first one
after the batch, so the sweep ends with a traceback and its `on_multirun_end` callbacks
(the report) never run; and `SystemExit` (what a clean one-line user error is) is not
caught at all, so the first bad job stops the sweep before the next one starts. In a
multirun, `sweep_job` therefore turns a failure into a recorded one: the error goes to
`status.json` and the job's log, and the job returns NaN, which the basic sweeper ignores
and the Optuna sweeper records as a failed trial (its `max_failure_rate` then applies).
A single run still fails the normal way (message or traceback, non-zero exit).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from restoregan.files import atomic_open

log = logging.getLogger("restoregan")
F = TypeVar("F", bound=Callable[..., Any])

STATUS_FILE = "status.json"
# Environment variables that name a non-zero rank for the launchers the suite supports:
# torchrun / Lightning's own process launcher, its environment-variable cluster settings,
# SLURM (submitit).
_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")


def is_global_zero() -> bool:
    """True in the one process of a (possibly multi-node) job that owns its files."""
    return all(os.environ.get(name, "0") == "0" for name in _RANK_VARIABLES)


def write_status(out_dir: str | Path, status: str, **fields: Any) -> Path:
    """Write `<out_dir>/status.json` atomically: `{"status": ..., **fields}`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / STATUS_FILE
    with atomic_open(path, "w") as f:
        json.dump({"status": status, **fields}, f, indent=1, default=str)
    return path


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    """The status a job recorded, or None when it recorded none (or the file is unreadable)."""
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _describe(err: BaseException) -> str:
    """One line for the table; restoregan's own errors already read as a message."""
    from restoregan.cli.errors import is_user_error

    text = " ".join(str(err).split())
    return text if is_user_error(err) else f"{type(err).__name__}: {text}"


def sweep_job(fn: F) -> F:
    """Wrap a Hydra task function: status.json for every run, failures isolated in sweeps.

    Writes `running` at the start (a job that is killed keeps it, and the report calls it
    killed), then `finished` with the wall time and the returned value, or `failed` with
    the error. Outside a Hydra job (a plain call) it does nothing but call `fn`.
    """

    @functools.wraps(fn)
    def wrapper(cfg: Any) -> Any:
        if not HydraConfig.initialized():
            return fn(cfg)
        hydra_cfg = HydraConfig.get()
        multirun = hydra_cfg.mode == RunMode.MULTIRUN
        out_dir = Path(hydra_cfg.runtime.output_dir)
        owner = is_global_zero()
        start, started = time.perf_counter(), _now()

        def record(status: str, **fields: Any) -> None:
            if not owner:
                return
            if status != "running":
                fields.update(ended=_now(), wall_s=time.perf_counter() - start)
            write_status(out_dir, status, pid=os.getpid(), started=started, **fields)

        record("running")
        try:
            value = fn(cfg)
        except Exception as err:
            record(
                "failed",
                error=_describe(err),
                error_type=type(err).__name__,
                traceback=traceback.format_exc(limit=-8),
            )
            if not multirun:
                raise
            # The job's log (Hydra writes <job>/train.log) keeps the story; a user error is
            # its message, anything else its traceback.
            from restoregan.cli.errors import is_user_error

            log.error(
                "job %s failed: %s",
                hydra_cfg.job.num,
                _describe(err),
                exc_info=not is_user_error(err),
            )
            return float("nan")
        record("finished", value=value)
        return value

    return wrapper  # type: ignore[return-value]
