"""SR-GN's whole generator objective: WGAN-GP + sub-image content terms + the mask term.

SR-GN (Khmag & Ramlee, eq. 5) writes ``L = L_WGAN + sum_z gamma_z * L_content^z``.
`SRGNLoss` is a `GeneratorLoss` (so the adversarial system, the value-range plumbing and
the hyper-parameter logging treat it like every other recipe's objective) that adds

- ``content_weight * RegionContentLoss(fake, real, mask)``: the per-sub-image VGG terms,
  each with its ``gamma_z`` (`restoregan.losses.regions`). The paper gives no weight
  outside the gammas; the recipe uses DeblurGAN's 100 for the content term, which SR-GN
  builds on (its Ref [11]);
- ``mask_weight * MaskBCELoss(mask_logits, mask)``: supervision of the generator's
  blur-region branch (not in the paper; see `MaskBCELoss`).

Batches without a mask (fully blurred data such as GoPro) still train: the whole image is
then the blurred sub-image (every pixel needs restoring), and the mask term is left out,
since nothing says where the input is clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from restoregan.losses.adversarial import AdversarialLoss
from restoregan.losses.composite import GeneratorLoss
from restoregan.losses.regions import MaskBCELoss, RegionContentLoss

REGION = "content"  # prefix of the region terms' names (train/content_blurred, ...)
MASK = "mask_bce"  # the mask term's name (train/mask_bce)


class SRGNLoss(GeneratorLoss):
    """``GeneratorLoss`` + weighted sub-image content loss + weighted mask BCE.

    ``forward(fake, real, *, d_fake=None, d_real=None, mask=None, mask_logits=None)``:
    images ``(B, 3, H, W)`` in the generator's range, ``mask`` the true ``(B, 1, H, W)``
    blur mask in [0, 1] (1 = blurred), ``mask_logits`` the generator's predicted logits
    (`SRGNGenerator.forward_with_mask`). Returns the weighted total and the unweighted
    terms: ``content_<kind>`` per region kind, ``mask_bce`` when computed, ``adv``.

    Args:
        region: the sub-image content loss (its ``gammas`` weigh the kinds).
        content_weight: weight of ``region``'s total (DeblurGAN's 100 in the recipe).
        mask_weight: weight of the mask BCE (0 switches it off).
        terms, weights: further plain content terms, as for `GeneratorLoss` (default none).
        adversarial, adversarial_weight: as for `GeneratorLoss`.
    """

    def __init__(
        self,
        *,
        region: RegionContentLoss,
        content_weight: float = 100.0,
        mask_weight: float = 1.0,
        terms: Mapping[str, nn.Module] | None = None,
        weights: Mapping[str, float] | None = None,
        adversarial: AdversarialLoss | None = None,
        adversarial_weight: float = 1.0,
    ) -> None:
        super().__init__(
            terms=terms or {},
            weights=weights or {},
            adversarial=adversarial,
            adversarial_weight=adversarial_weight,
        )
        if not isinstance(region, RegionContentLoss):
            raise TypeError(f"SRGNLoss: region must be a RegionContentLoss, got {type(region)}")
        if mask_weight < 0 or content_weight < 0:
            raise ValueError(
                f"SRGNLoss: content_weight and mask_weight must be >= 0, got "
                f"{content_weight} and {mask_weight}"
            )
        self.region = region
        self.content_weight = float(content_weight)
        self.mask_weight = float(mask_weight)
        self.mask_loss = MaskBCELoss()

    def set_value_range(self, value_range: tuple[float, float]) -> None:
        super().set_value_range(value_range)
        self.region.set_value_range(value_range)

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
        total, values = super().forward(fake, real, d_fake=d_fake, d_real=d_real)
        # No mask: the whole image is the blurred sub-image (fully blurred data).
        region_mask = (
            mask if mask is not None else fake.new_ones(fake.shape[0], 1, *fake.shape[-2:])
        )
        region_total, region_terms = self.region(fake, real, region_mask)
        total = total + self.content_weight * region_total
        values.update(region_terms)
        if mask is not None and mask_logits is not None and self.mask_weight > 0:
            values[MASK] = self.mask_loss(mask_logits, mask)
            total = total + self.mask_weight * values[MASK]
        return total, values

    def describe(self) -> dict[str, Any]:
        description = super().describe()
        description.update(
            region_gammas=dict(self.region.gammas),
            region_grid=self.region.grid,
            content_weight=self.content_weight,
            mask_weight=self.mask_weight,
        )
        description["weights_description"][REGION] = self.region.weights_description
        return description
