"""Learning-rate schedules the recipes need that torch does not ship."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def constant_then_linear(optimizer: Optimizer, *, constant: int, decay: int) -> LambdaLR:
    """DeblurGAN / pix2pix: keep the LR for `constant` intervals, then decay it linearly to 0
    over `decay` intervals (an interval is an epoch or a step, as the system steps it).

    After n scheduler steps the factor is 1 for n <= constant, then 1 - (n - constant) / decay,
    reaching exactly 0 after constant + decay steps.
    """
    if constant < 0 or decay < 1:
        raise ValueError(
            f"need constant >= 0 and decay >= 1, got constant={constant}, decay={decay}"
        )

    def factor(n: int) -> float:
        return 1.0 if n <= constant else max(0.0, 1.0 - (n - constant) / decay)

    return LambdaLR(optimizer, factor)
