"""Score the classical baselines of `restoregan.baselines` on an evaluation split.

The learned restorers go through `restoregan.evaluation.evaluate`; the classical ones
take the blurred image and, for the non-blind ones, the kernel that made it (an item's
`kernel`: synthetic sets only), which `evaluate`'s restorer interface has no place for.
So this loop scores them with the same protocol code (`metrics.evaluate_pair`) and
writes the same `per_image.csv` / `summary.json`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from restoregan import baselines, metrics
from restoregan.evaluation import write_per_image

METHODS: dict[str, tuple[Callable[..., np.ndarray], bool]] = {
    # name -> (restorer, needs the true kernel)
    "nl_means": (baselines.nl_means, False),
    "wiener": (baselines.wiener, True),
    "richardson_lucy": (baselines.richardson_lucy, True),
}
NO_KERNEL_NOTE = "not run: the set has no true kernel (real blur)"
TRUE_KERNEL_NOTE = "given the true kernel: an upper-bound reference, not a blind method"


class ClassicalBaselineError(ValueError):
    """A baseline name that restoregan.baselines does not provide."""


def evaluate_classical(
    name: str,
    batches: Iterable[dict[str, Any]],
    *,
    protocol: metrics.Protocol,
    out_dir: str | Path,
) -> dict[str, Any]:
    """Scores of baseline `name` on `batches`; writes per_image.csv and summary.json.

    Returns the summary (`count` 0 and NaN scores with a `note` when the method needs a
    kernel the items do not carry, so the table shows the row as not run).
    """
    if name not in METHODS:
        raise ClassicalBaselineError(
            f"unknown classical baseline {name!r}; expected one of {sorted(METHODS)}"
        )
    fn, needs_kernel = METHODS[name]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for batch in batches:
        if needs_kernel and "kernel" not in batch:
            summary = {"protocol": protocol.name, "count": 0, "psnr": math.nan, "ssim": math.nan,
                       "psnr_input": math.nan, "ssim_input": math.nan, "note": NO_KERNEL_NOTE}  # fmt: skip
            (out / "summary.json").write_text(json.dumps(summary, indent=2))
            return summary
        for i, item_name in enumerate(batch["name"]):
            blurred = batch["input"][i].permute(1, 2, 0).numpy()
            target = batch["target"][i]
            kernel = batch["kernel"][i].numpy() if "kernel" in batch else None
            restored = fn(blurred, kernel) if needs_kernel else fn(blurred)
            ours = metrics.evaluate_pair(restored, target, protocol)
            given = metrics.evaluate_pair(blurred, target, protocol)
            rows.append({"name": item_name, "psnr": ours["psnr"], "ssim": ours["ssim"],
                         "psnr_input": given["psnr"], "ssim_input": given["ssim"],
                         "protocol": protocol.name})  # fmt: skip
    if not rows:
        raise ValueError("the evaluation split has no images; check the data config")
    write_per_image(out / "per_image.csv", rows, list(rows[0]))
    summary = {
        "protocol": protocol.name,
        "count": len(rows),
        **{k: math.fsum(r[k] for r in rows) / len(rows) for k in ("psnr", "ssim", "psnr_input", "ssim_input")},
        "method": name,
        "note": TRUE_KERNEL_NOTE if needs_kernel else "",
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
