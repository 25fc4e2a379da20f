"""The generator's objective: weighted content terms plus an optional adversarial term."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from restoregan.losses.adversarial import AdversarialLoss


class GeneratorLoss(nn.Module):
    """Weighted sum of named content losses, carrying the adversarial strategy and weight.

    ``forward(fake, real)`` covers the content terms only: the adversarial term needs the
    critic, which the system owns, so the system adds
    ``adversarial_weight * adversarial.generator_loss(d_real, d_fake)`` itself.

    Args:
        terms: ``{name: loss module}``; each is called as ``term(fake, real) -> scalar``
            with ``(B, 3, H, W)`` images in the generator's ``value_range``.
        weights: ``{name: weight}`` with exactly the keys of ``terms``.
        adversarial: GAN loss strategy, or None for supervised training.
        adversarial_weight: weight of the adversarial term in the generator objective.
    """

    def __init__(
        self,
        *,
        terms: Mapping[str, nn.Module],
        weights: Mapping[str, float],
        adversarial: AdversarialLoss | None = None,
        adversarial_weight: float = 1.0,
    ) -> None:
        super().__init__()
        terms = {str(name): term for name, term in terms.items()}
        weights = {str(name): float(w) for name, w in weights.items()}
        if set(terms) != set(weights):
            raise ValueError(
                f"GeneratorLoss: weights must have one entry per term; terms: "
                f"{sorted(terms)}, weights: {sorted(weights)}. Add or remove entries under "
                f"loss.weights (or loss.terms) so the two lists match."
            )
        not_modules = [name for name, term in terms.items() if not isinstance(term, nn.Module)]
        if not_modules:
            raise TypeError(f"GeneratorLoss: terms {not_modules} are not nn.Modules")
        if adversarial is not None and not isinstance(adversarial, AdversarialLoss):
            raise TypeError(
                f"GeneratorLoss: adversarial must be an AdversarialLoss or None, "
                f"got {type(adversarial).__name__}"
            )
        self.terms = nn.ModuleDict(terms)
        self.weights = weights
        self.adversarial = adversarial
        self.adversarial_weight = float(adversarial_weight)

    def set_value_range(self, value_range: tuple[float, float]) -> None:
        """Tell every term that needs it the generator's value range (called once by the
        system): a term that depends on the range defines ``set_value_range`` itself."""
        for term in self.terms.values():
            if hasattr(term, "set_value_range"):
                term.set_value_range(value_range)

    def forward(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """``(B, 3, H, W)`` pair -> (weighted total, ``{term name: unweighted value}``)."""
        values = {name: term(fake, real) for name, term in self.terms.items()}
        total = fake.new_zeros((), dtype=torch.float32)
        for name, value in values.items():
            total = total + self.weights[name] * value
        return total, values

    def describe(self) -> dict[str, Any]:
        """Flat description for hyper-parameter logging."""
        return {
            "terms": {name: type(term).__name__ for name, term in self.terms.items()},
            "weights": dict(self.weights),
            "adversarial": None if self.adversarial is None else type(self.adversarial).__name__,
            "adversarial_params": {} if self.adversarial is None else self.adversarial.hparams(),
            "adversarial_weight": self.adversarial_weight,
            "weights_description": {
                name: term.weights_description
                for name, term in self.terms.items()
                if hasattr(term, "weights_description")
            },
        }
