"""Summarise a sweep: one table of every run (markdown + CSV) and PNG plots.

python src/report.py logs/train/multiruns/<time>            # writes report.md, report.csv, *.png there
python src/report.py logs/train/multiruns/<time> --out /tmp/r --no-plots

A -m sweep runs this by itself when it ends (the `hydra.callbacks.sweep_report` entry of
conf/train.yaml); run it by hand on a sweep that is still going or was killed.
"""

from __future__ import annotations

import argparse
import sys

from restoregan.cli.errors import user_errors
from restoregan.sweeps.report import write_report


@user_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sweep_dir", help="a multirun folder (logs/<task>/multiruns/<time>) or any folder of runs"
    )
    parser.add_argument("--out", default=None, help="where to write (default: the sweep folder)")
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    args = parser.parse_args(argv)
    result = write_report(args.sweep_dir, out_dir=args.out, plots=not args.no_plots)
    print(result["markdown"])
    print("written: " + ", ".join(str(p) for p in result["files"]))


if __name__ == "__main__":
    main(sys.argv[1:])
