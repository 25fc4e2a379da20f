"""Checkpoints written atomically, and never with non-finite weights.

A killed run never leaves a half-written `last.ckpt`, and a diverged run never replaces
the last good one with NaN weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from restoregan.files import atomic_open

# Top-level checkpoint entries that hold weights: the LightningModule's and the EMA
# callback's copy of the generator (callbacks/ema.py).
WEIGHT_ENTRIES = ("state_dict", "generator_ema")


class NonFiniteCheckpointError(RuntimeError):
    """A checkpoint about to be written holds NaN or infinite weights."""


def nonfinite_weights(checkpoint: Mapping[str, Any]) -> Iterator[str]:
    """Names (`entry/key`) of the floating-point weights in `checkpoint` that are not finite."""
    for entry in WEIGHT_ENTRIES:
        weights = checkpoint.get(entry)
        if not isinstance(weights, Mapping):
            continue
        for key, value in weights.items():
            if (
                isinstance(value, torch.Tensor)
                and value.is_floating_point()
                and not bool(torch.isfinite(value).all())
            ):
                yield f"{entry}/{key}"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save to a temporary file in the target directory, fsync, then `os.replace`.

    Lightning's default writer streams into the final path, so a kill during the write
    leaves a truncated file that `ckpt_path=` then cannot read. The rename is atomic on
    POSIX and Windows when source and target share a filesystem, hence the temporary file
    lives next to the target rather than in /tmp (`restoregan.files.atomic_open`, which
    also gives the file the umask's permissions).

    Refuses (`NonFiniteCheckpointError`) to write weights that are NaN or infinite: the
    file already there keeps the last good weights, whatever wrote the bad ones.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options")
        target = Path(path)
        bad = list(nonfinite_weights(checkpoint))
        if bad:
            kept = (
                f"'{target}' keeps the last good weights"
                if target.exists()
                else f"no earlier '{target.name}' exists"
            )
            raise NonFiniteCheckpointError(
                f"refusing to write checkpoint '{target}' at global step "
                f"{checkpoint.get('global_step', '?')}: {len(bad)} weight tensor(s) are NaN "
                f"or infinite (first: {bad[0]}); the training diverged. {kept}. Resume from "
                "the last good checkpoint with a lower learning rate, or see model.nonfinite."
            )
        with atomic_open(target, "wb", fsync=True) as f:
            torch.save(checkpoint, f)
