"""What a reproduction entry declares: the paper's numbers and how ours are made.

An entry is one small file under `experiments/entries/` holding `ENTRY = Entry(...)`; its
runs are the Hydra experiment configs it names (`conf/experiment/<name>.yaml` for the
full scale, `<name>_smoke.yaml` for the toy one), run by `experiments.multistage`, which
calls `experiments.tables.write_results` with the entry when the plan ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCALES = ("smoke", "full")


@dataclass(frozen=True)
class PaperRow:
    """One method's row as the paper prints it.

    `method` is the name of a method in the experiment plan (`multistage.evaluation.methods`)
    whose numbers sit beside these; a row whose method the plan does not run is shown
    "paper only". `psnr` / `ssim` are None where the paper gives none.
    """

    method: str
    label: str
    psnr: float | None
    ssim: float | None
    note: str = ""


@dataclass(frozen=True)
class Entry:
    """One reproduced table.

    Attributes:
        name: the entry's name, `make reproduce-<name>`.
        seed: which seed paper (`000` ... `004`) and which of its tables.
        title: one line for the results file.
        runs: what is trained and evaluated, in words.
        data: on what data (full scale), in words.
        protocol: how the paper's and our numbers are computed, and what is known to differ.
        paper: the paper's rows, numbers copied from the paper's text.
        configs: scale -> the experiment config that runs it.
        roots: at full scale, `make` variable -> the config key of that dataset folder
            (`GOPRO` -> `tables.gopro_root`), so `make reproduce-<name> GOPRO=...` works.
        full_overrides: more overrides at full scale (e.g. the GPU trainer).
        kind: `paper` (a seed table, with the paper's rows, run as a `multistage:` plan),
            `srgn` (a seed table in SR-GN's shape, run by `experiments.srgn_table`) or
            `learning` (our own measurement, no paper column).
        done: False for a placeholder the coordinator still has to wire.
    """

    name: str
    seed: str
    title: str
    runs: str
    data: str
    protocol: str
    paper: tuple[PaperRow, ...]
    configs: dict[str, str] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    full_overrides: tuple[str, ...] = ()
    kind: str = "paper"
    done: bool = True

    def paper_row(self, method: str) -> PaperRow | None:
        return next((row for row in self.paper if row.method == method), None)
