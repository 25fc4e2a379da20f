"""Pixel losses: mean absolute and mean squared error between restored and sharp images.

They exist (instead of ``torch.nn.L1Loss`` / ``MSELoss`` in the configs) to refuse
mismatched shapes: torch broadcasts ``(B, 3, H, W)`` against e.g. ``(B, 3, H, W + 1)``
or a missing batch dimension with only a warning, which silently trains on the wrong
objective. Values are in the units of the generator's ``value_range``: the same images
give an L1 twice (MSE four times) as large in [-1, 1] as in [0, 1], which matters when a
paper's weight was tuned in the other range.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def check_pair(fake: Tensor, real: Tensor, *, loss_name: str) -> None:
    """Raise a ValueError unless ``fake`` and ``real`` have the same shape."""
    if fake.shape != real.shape:
        raise ValueError(
            f"{loss_name}: restored image {tuple(fake.shape)} and target {tuple(real.shape)} "
            f"must have the same shape (B, 3, H, W); check the generator's scale and the "
            f"crop sizes."
        )


class L1Loss(nn.Module):
    """Mean absolute error over all elements; ``(B, C, H, W)`` pair -> scalar."""

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        check_pair(fake, real, loss_name="L1Loss")
        return F.l1_loss(fake, real)


class MSELoss(nn.Module):
    """Mean squared error over all elements; ``(B, C, H, W)`` pair -> scalar."""

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        check_pair(fake, real, loss_name="MSELoss")
        return F.mse_loss(fake, real)
