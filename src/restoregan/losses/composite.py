"""The generator's objective: weighted content terms plus an optional adversarial term.

`GeneratorLoss` is the one owner of that objective: the adversarial system computes the
discriminator's scores and hands them over; the weighting happens here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from restoregan.losses.adversarial import AdversarialLoss

ADV = "adv"  # the adversarial term's name in the logged terms (train/adv)


class GeneratorLoss(nn.Module):
    """Weighted sum of named content losses plus, given discriminator scores, the
    weighted adversarial term.

    ``forward(fake, real)`` is the content objective (supervised training);
    ``forward(fake, real, d_fake=D(fake), d_real=D(real) or None)`` adds
    ``adversarial_weight * adversarial.generator_loss(d_real, d_fake)`` and reports the
    unweighted term as ``"adv"``. The discriminator itself belongs to the system, which
    also runs the discriminator step with `adversarial`.

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
        if ADV in terms:
            raise ValueError(f"GeneratorLoss: {ADV!r} names the adversarial term; rename that term")
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

    def forward(
        self,
        fake: Tensor,
        real: Tensor,
        *,
        d_fake: Tensor | None = None,
        d_real: Tensor | None = None,
        mask: Tensor | None = None,
        mask_logits: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``(B, 3, H, W)`` pair -> (weighted total, ``{term name: unweighted value}``).

        ``d_fake`` (raw discriminator scores of ``fake``, carrying the generator's graph)
        adds the adversarial term; ``d_real`` is needed only by relativistic losses.
        ``mask`` (the batch's blur mask) and ``mask_logits`` (a mask-predicting
        generator's) are taken so every objective has one call; whole-image terms do not
        use them (`restoregan.losses.srgn.SRGNLoss` does).
        """
        del mask, mask_logits  # whole-image terms: the same for every pixel
        values = {name: term(fake, real) for name, term in self.terms.items()}
        total = fake.new_zeros((), dtype=torch.float32)
        for name, value in values.items():
            total = total + self.weights[name] * value
        if d_fake is not None:
            if self.adversarial is None:
                raise ValueError(
                    "GeneratorLoss got discriminator scores but has no adversarial loss; use "
                    "a loss recipe with an `adversarial` term (e.g. loss/adversarial=vanilla)"
                )
            values[ADV] = self.adversarial.generator_loss(d_real, d_fake)
            total = total + self.adversarial_weight * values[ADV]
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
