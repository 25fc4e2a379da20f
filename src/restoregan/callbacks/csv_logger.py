"""A CSV logger that continues a run's ``metrics.csv`` instead of deleting it.

Lightning's ``CSVLogger`` removes an existing ``metrics.csv`` when its folder is not
empty, so a run resumed into its own folder lost the history of before the kill. This
one keeps the file and appends. Rows the killed process logged after its last checkpoint
(steps that the resumed run trains again) are dropped when the run resumes from
``resume_from``, so each step appears once.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import torch
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from restoregan.files import atomic_open

__all__ = ["ContinuingExperimentWriter", "ResumableCSVLogger", "logged_steps_of"]


def logged_steps_of(ckpt_path: str | os.PathLike[str]) -> int | None:
    """The logger step a training checkpoint resumes at (Lightning's
    ``_batches_that_stepped``); None for a file without training loops (weights only)."""
    try:
        # mmap: only the loop counters are read, not the weights of a large checkpoint.
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
        return int(ckpt["loops"]["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"])
    except (KeyError, TypeError, RuntimeError, OSError, ValueError):
        return None  # Lightning itself reports a bad ckpt_path when it restores it


class ContinuingExperimentWriter(ExperimentWriter):
    """Appends to an existing ``metrics.csv``; its header's columns stay known."""

    def __init__(self, log_dir: str, *, resume_from: str | None = None) -> None:
        super().__init__(log_dir)
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
            self.metrics_keys = sorted(reader.fieldnames or [])
            step = logged_steps_of(resume_from) if resume_from else None
            if step is not None:
                self._trim(rows, step)

    def _check_log_dir_exists(self) -> None:
        # Lightning's version deletes metrics.csv here: keep it.
        return

    def _trim(self, rows: list[dict[str, Any]], step: int) -> None:
        kept = [r for r in rows if r.get("step", "") == "" or int(float(r["step"])) < step]
        if len(kept) == len(rows):
            return
        with atomic_open(self.metrics_file_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.metrics_keys)
            writer.writeheader()
            writer.writerows(kept)


class ResumableCSVLogger(CSVLogger):
    """``CSVLogger`` that continues ``<save_dir>/<name>/<version>/metrics.csv``.

    Args:
        resume_from: the checkpoint the run resumes from (``ckpt_path``); rows at or after
            its step are dropped, the resumed run logs them again. None: a fresh run,
            nothing is dropped.
        *args, **kwargs: ``CSVLogger``'s.
    """

    def __init__(self, *args: Any, resume_from: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resume_from = resume_from

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:  # type: ignore[override]
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuingExperimentWriter(
                self.log_dir, resume_from=self._resume_from
            )
        return self._experiment
