"""A Hydra callback (conf/train.yaml `hydra.callbacks`) that reports a sweep when it ends."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("restoregan")


class SweepReport(Callback):
    """Write report.md / report.csv / PNG plots into the sweep folder at `on_multirun_end`.

    Hydra calls it after every sweeper (basic grid, Optuna) and launcher (local, joblib,
    submitit: those wait for their jobs) once the last job has returned. A report that
    cannot be written is a warning: the runs themselves are already on disk, and
    `python src/report.py <sweep dir>` can write it again.
    """

    def __init__(self, plots: bool = True) -> None:
        self.plots = plots

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from restoregan.sweeps.report import write_report

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            result = write_report(sweep_dir, plots=self.plots)
        except Exception as err:  # never let the report hide the sweep's own outcome
            log.warning("could not write the sweep report for %s: %s", sweep_dir, err)
            return
        records = result["records"]
        failed = [r for r in records if r.status != "finished"]
        log.info("sweep report: %s", sweep_dir / "report.md")
        print(result["markdown"])
        if failed:
            log.warning(
                "%d of %d runs did not finish: %s (see report.md)",
                len(failed),
                len(records),
                ", ".join(f"#{r.job} {r.status}" for r in failed),
            )
