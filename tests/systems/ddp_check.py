"""Test helper: verify at the end of training that every DDP rank holds the same networks.

A Lightning callback that tests/systems/test_ddp.py adds to a 2-process run from the
command line (`+callbacks.ddp_check._target_=tests.systems.ddp_check.DDPConsistencyCheck`).
"""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as L
import torch
from torch import nn


def checksums(module: nn.Module) -> dict[str, float]:
    """A float64 sum and a position-weighted sum per tensor: cheap and order-sensitive."""
    out = {}
    for name, tensor in module.state_dict().items():
        t = tensor.detach().double().flatten().cpu()
        weights = torch.linspace(1.0, 2.0, t.numel(), dtype=torch.float64) if t.numel() else t
        out[name] = float(t.sum()) + float((t * weights).sum())
    return out


class DDPConsistencyCheck(L.Callback):
    """Gather parameter checksums of the generator and discriminator from every rank.

    Writes `<path>` (rank 0) with the checksums per rank and whether the parameters agree.
    With `strict`, diverged parameters raise. Buffers (BatchNorm running statistics) are
    reported separately: DDP broadcasts them from rank 0 at each forward, and the last
    step's local update is allowed to differ across ranks on CPU, where SyncBatchNorm
    is unavailable.
    """

    def __init__(self, *, path: str, strict: bool = True) -> None:
        self.path = Path(path)
        self.strict = strict

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        nets = {
            n: getattr(pl_module, n)
            for n in ("generator", "discriminator")
            if hasattr(pl_module, n)
        }
        local = {}
        for net_name, net in nets.items():
            params = {k for k, _ in net.named_parameters()}
            sums = checksums(net)
            local[net_name] = {
                "parameters": {k: v for k, v in sums.items() if k in params},
                "buffers": {k: v for k, v in sums.items() if k not in params},
            }
        gathered = [local]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, local)
        same_params = all(
            g[n]["parameters"] == gathered[0][n]["parameters"] for g in gathered for n in nets
        )
        same_buffers = all(
            g[n]["buffers"] == gathered[0][n]["buffers"] for g in gathered for n in nets
        )
        if trainer.is_global_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            report = {
                "world_size": len(gathered),
                "parameters_identical": same_params,
                "buffers_identical": same_buffers,
                "ranks": gathered,
            }
            self.path.write_text(json.dumps(report, indent=1))
        if self.strict and not same_params:
            raise RuntimeError(
                f"DDP ranks hold different parameters after training; see {self.path}"
            )
