"""The one results table every reproduction writes: `results.md` and `results.csv`.

One row per (evaluation set, method, metric): the paper's value, ours, the difference
(ours - paper), our input's score and our gain over it, the protocol that computed ours, the image count and
the scale (`smoke`: toy networks on the embedded photos, numbers that only show the
plumbing; `full`: the paper's data and schedule). A method the paper reports but the plan
does not run is a row marked "paper only"; a method we run that the paper does not report
(an input baseline, a classical restorer) has no paper value.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from experiments.entry import SCALES, Entry

COLUMNS = (
    "set",
    "method",
    "label",
    "metric",
    "paper",
    "ours",
    "difference",
    "input",
    "gain",
    "protocol",
    "images",
    "scale",
    "note",
)
METRICS = ("psnr", "ssim")
PAPER_ONLY = "paper only"


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def result_rows(
    entry: Entry, measured: Iterable[Mapping[str, Any]], *, scale: str
) -> list[dict[str, Any]]:
    """The table's rows: every measured row beside its paper value, then the paper-only rows.

    `measured` rows hold `set, method, label, protocol, images, psnr, ssim` and optionally
    `psnr_input, ssim_input, note` (what `experiments.multistage` produces).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    rows, seen = [], set()
    for m in measured:
        paper = entry.paper_row(m["method"])
        seen.add(m["method"])
        for metric in METRICS:
            ours = _number(m.get(metric))
            ref = getattr(paper, metric) if paper else None
            given = _number(m.get(f"{metric}_input"))
            gain = None if ours is None or given is None else ours - given
            below = metric == "psnr" and gain is not None and gain < 0 and m["method"] != "input"
            notes = [
                n
                for n in (
                    paper.note if paper else "",
                    m.get("note", ""),
                    f"does not beat its input ({gain:+.2f} dB)" if below else "",
                )
                if n
            ]
            rows.append(
                {
                    "set": m["set"],
                    "method": m["method"],
                    "label": m.get("label") or (paper.label if paper else m["method"]),
                    "metric": metric,
                    "paper": ref,
                    "ours": ours,
                    "difference": None if ref is None or ours is None else ours - ref,
                    "input": given,
                    "gain": gain,
                    "protocol": m.get("protocol", ""),
                    "images": m.get("images"),
                    "scale": scale,
                    "note": "; ".join(notes),
                }
            )
    for paper in entry.paper:
        if paper.method in seen:
            continue
        for metric in METRICS:
            rows.append(
                {
                    **dict.fromkeys(COLUMNS),
                    "set": "",
                    "method": paper.method,
                    "label": paper.label,
                    "metric": metric,
                    "paper": getattr(paper, metric),
                    "protocol": "",
                    "scale": scale,
                    "note": "; ".join(n for n in (PAPER_ONLY, paper.note) if n),
                }
            )
    return rows


def _fmt(value: Any, metric: str, *, signed: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        digits = 2 if metric == "psnr" else 4
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {
                k: (f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v))
                for k, v in r.items()
            }
        )
    return buf.getvalue()


def to_markdown(
    entry: Entry,
    rows: list[dict[str, Any]],
    *,
    scale: str,
    command: str,
    figures: tuple[str, ...] = (),
) -> str:
    lines = [
        f"# {entry.title}",
        "",
        f"Seed {entry.seed}. Scale: **{scale}**. Command: `{command}`",
        "",
    ]
    if scale == "smoke":
        lines += [
            "> **Smoke scale**: toy networks trained for seconds on the embedded demo photos. "
            "These numbers show that the plan runs end to end; they are not comparable with "
            "the paper's, and the difference column measures nothing.",
            "",
        ]
    lines += [
        f"- Runs: {entry.runs}",
        f"- Data (full scale): {entry.data}",
        f"- Protocol: {entry.protocol}",
        "",
        "| set | method | metric | paper | ours | difference | input | gain | protocol | images | scale | note |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for r in rows:
        m = r["metric"]
        lines.append(
            f"| {r['set']} | {r['label']} | {m.upper()} | {_fmt(r['paper'], m)} | "
            f"{_fmt(r['ours'], m)} | {_fmt(r['difference'], m, signed=True)} | "
            f"{_fmt(r['input'], m)} | {_fmt(r['gain'], m, signed=True)} | "
            f"{'`' + r['protocol'] + '`' if r['protocol'] else ''} | "
            f"{_fmt(r['images'], m)} | {r['scale']} | {r['note']} |"
        )
    lines += ["", *(f"![{name}]({name})" for name in figures)] if figures else []
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    # A reader (or a crash) never sees half a table: write beside it, then rename.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide a shared table from others
    os.replace(tmp, path)


def write_results(
    entry: Entry,
    measured: Iterable[Mapping[str, Any]],
    out_dir: str | Path,
    *,
    scale: str,
    command: str,
    figures: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Write `<out_dir>/results.{md,csv}` (results.md links `figures`, files in out_dir);
    returns the rows."""
    rows = result_rows(entry, measured, scale=scale)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "results.csv", to_csv(rows))
    markdown = to_markdown(entry, rows, scale=scale, command=command, figures=figures)
    _write_atomic(out / "results.md", markdown)
    return rows
