"""Test-only loss terms that go non-finite at chosen generator iterations.

Added to a recipe from the command line, e.g.
``+loss.terms.nan._target_=tests.systems.nonfinite_terms.NaNAt +loss.terms.nan.at=[3]
+loss.weights.nan=1.0``. A generator loss term is called once per generator iteration, so
its call count is the iteration (1-based).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class NaNAt(nn.Module):
    """Returns 0 (value and gradient), except NaN at the iterations in `at`.

    ``kind="grad"`` keeps the value 0 but makes the gradient NaN instead (sqrt at 0 has
    an infinite derivative, times abs's 0 at 0), so only the gradient guard can see it.
    """

    def __init__(self, at: Sequence[int], kind: str = "loss") -> None:
        super().__init__()
        self.at = {int(i) for i in at}
        self.kind = kind
        self.calls = 0

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        self.calls += 1
        zero = (fake - fake.detach()).abs()
        if self.calls not in self.at:
            return zero.mean()
        if self.kind == "grad":
            return zero.sqrt().mean()
        return zero.mean() + torch.tensor(float("nan"))
