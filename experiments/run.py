"""`make reproduce-<entry> SCALE=smoke|full`: run one reproduction entry.

python -m experiments.run table_keras_deblurgan --scale smoke
python -m experiments.run table_dualgan --root GOPRO=/data/GOPRO_Large --root DIV2K=... [overrides]

Looks the entry up (`experiments/entries/<name>.py`), then runs `src/train.py` with the
entry's experiment config for that scale (dataset folders as overrides at full scale), so
the run gets Hydra's run folder, the data and GPU checks before training, and one-line
user errors like every other script. The run ends with `results.{md,csv}` in its folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from experiments import registry
from experiments.entry import SCALES

ROOT = Path(__file__).resolve().parents[1]


class RunRequestError(ValueError):
    """A request this entry cannot serve (a placeholder, a scale it has no config for)."""


def command(name: str, scale: str, roots: list[str], extra: list[str]) -> list[str]:
    """The `src/train.py` command line of entry `name` at `scale`."""
    entry = registry.get(name)
    if not entry.done:
        raise RunRequestError(f"{name} is a TODO entry (see experiments/entries/{name}.py)")
    if scale not in entry.configs:
        raise RunRequestError(
            f"{name} has no {scale!r} run; it has {sorted(entry.configs)} (SCALE=...)"
        )
    overrides = [f"experiment={entry.configs[scale]}"]
    if scale == "full":
        for item in roots:
            var, _, path = item.partition("=")
            if var in entry.roots and path:
                overrides.append(f"{entry.roots[var]}={path}")
        overrides += entry.full_overrides
    return [sys.executable, str(ROOT / "src" / "train.py"), *overrides, *extra]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entry", help="an entry of experiments/entries/")
    parser.add_argument("--scale", default="full", help=f"one of {SCALES}")
    parser.add_argument("--root", action="append", default=[], help="VAR=path (GOPRO, DIV2K, SR)")
    args, extra = parser.parse_known_args(argv)
    try:
        if args.scale not in SCALES:
            raise RunRequestError(f"SCALE must be one of {SCALES}, got {args.scale!r}")
        cmd = command(args.entry, args.scale, args.root, extra)
    except ValueError as err:  # registry.UnknownEntryError, RunRequestError
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(" ".join(cmd[1:]), flush=True)
    os.execv(cmd[0], cmd)  # train.py's exit status (1 with one message for a user error)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
