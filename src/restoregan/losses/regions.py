"""SR-GN's sub-image content loss and the blur-mask loss.

SR-GN (Khmag & Ramlee) trains with ``L = L_WGAN + sum_z gamma_z * L_content^z`` (its
eq. 5), ``z`` ranging over sub-images of the partially blurred image, each content term
the DeblurGAN feature loss (VGG19 ``conv3_3``, i.e. ``i = j = 3``) over that sub-image,
normalised by the sub-image's own feature-map area ``w^z * h^z`` (eq. 7). This module
holds the content part, `RegionContentLoss`; the adversarial part stays with the
system and `restoregan.losses.adversarial`. `MaskBCELoss` supervises the SR-GN
generator's blur-region branch; the paper has no such term (it names the clear/blurred
split, not how it is found), so its weight is the recipe's choice.

Sub-image kinds (``gamma_z`` is set per kind; a kind without a gamma is not computed):

- ``"blurred"``: the pixels with mask >= 0.5, the mask first resized to the feature
  resolution by area averaging (so a feature pixel is blurred when at least half of the
  image pixels it covers are);
- ``"clear"``: the complement, the "reference" part;
- ``"block_blurred"`` / ``"block_clear"``: a ``grid x grid`` partition of the feature
  map into blocks (integer boundaries, every feature pixel in exactly one block), each
  labelled blurred when its fraction of blurred feature pixels is at least
  ``block_threshold``.

Reductions (the paper writes the sum over pixels only, for one image):

- channels: squared differences are averaged over the C feature channels, so with the
  whole image as the one sub-image the term equals DeblurGAN's ``MSE(phi(fake),
  phi(real))`` (`restoregan.losses.perceptual.PerceptualLoss`);
- pixels: summed over the sub-image and divided by its own area (eq. 7);
- within a kind: averaged over the sub-images of that kind in the batch (one region per
  image, or every block with that label), so ``gamma_z`` does not scale with the batch or
  the grid size. A kind with no sub-image in the batch (no blurred pixel in any crop)
  contributes exactly 0, with finite gradients.

Unlike eq. 7, whose ``phi(S^z)`` is the feature map of the cropped sub-image, the
features are computed once on the whole image and restricted to each sub-image: regions
have arbitrary shapes, and a feature at a region's edge keeps its real context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restoregan.losses.perceptual import PerceptualLoss
from restoregan.losses.pixel import check_pair

KINDS = ("blurred", "clear", "block_blurred", "block_clear")
_DEFAULT_GAMMAS = MappingProxyType({"blurred": 1.0, "clear": 1.0})


def _check_mask(mask: Tensor, image: Tensor, *, loss_name: str) -> None:
    b, _, h, w = image.shape
    if tuple(mask.shape) != (b, 1, h, w):
        raise ValueError(
            f"{loss_name}: the blur mask must be (B, 1, H, W) = {(b, 1, h, w)} to match the "
            f"images; got {tuple(mask.shape)}. Check that the dataset yields a 'mask' for "
            f"every item and that crops and flips are applied to it as to the pair."
        )


def _per_region_mean(values: Tensor, regions: Tensor) -> tuple[Tensor, Tensor]:
    """``(B, K, h, w)`` 0/1 regions -> (mean of ``values`` over each, present flags), (B, K)."""
    area = regions.sum(dim=(-2, -1))
    total = (values * regions).sum(dim=(-2, -1))
    # clamp_min, not a division guarded afterwards: 0 / 1 keeps empty regions' gradients finite.
    return total / area.clamp_min(1.0), area > 0


def _mean_over_present(means: Tensor, present: Tensor) -> Tensor:
    """Mean of ``means`` where ``present``; exactly 0 (still differentiable) where none is."""
    weights = present.to(means.dtype)
    return (means * weights).sum() / weights.sum().clamp_min(1.0)


class RegionContentLoss(nn.Module):
    """SR-GN content loss ``sum_z gamma_z * L_content^z`` (eq. 5 and 7), per sub-image kind.

    ``forward(fake, real, mask)``: ``(B, 3, H, W)`` restored and sharp images in
    ``input_range`` and the ``(B, 1, H, W)`` blur mask in [0, 1] (1 = blurred) ->
    ``(total, {"content_<kind>": unweighted value})``. Gradients reach ``fake`` only.

    Args:
        gammas: ``{kind: gamma_z}`` with kinds from ``KINDS``; kinds left out are skipped.
            The paper gives no values; 1.0 for the blurred and the clear region by default
            (with DeblurGAN's content weight applied outside, both regions then weigh what
            DeblurGAN's whole-image term weighs).
        grid: blocks per side for the ``block_*`` kinds (0: no blocks).
        block_threshold: a block is blurred when at least this fraction of its feature
            pixels is.
        network, layer: the VGG and its layer (DeblurGAN: ``"vgg19"``, ``"conv3_3"``
            before ReLU).
        weights, input_range, normalization, seed: as for `PerceptualLoss`, whose VGG and
            input mapping this loss uses (the VGG stays out of the state dict). Leave
            ``input_range`` None (the configs do): the system tells the loss the
            generator's range through `set_value_range`, as for `PerceptualLoss`.
    """

    def __init__(
        self,
        *,
        gammas: Mapping[str, float] = _DEFAULT_GAMMAS,
        grid: int = 0,
        block_threshold: float = 0.5,
        network: Literal["vgg16", "vgg19"] = "vgg19",
        layer: str = "conv3_3",
        weights: str | Path = "imagenet",
        input_range: Sequence[float] | None = None,
        normalization: Literal["imagenet", "none"] = "imagenet",
        seed: int = 0,
    ) -> None:
        super().__init__()
        gammas = {str(kind): float(g) for kind, g in gammas.items()}
        unknown = sorted(set(gammas) - set(KINDS))
        if not gammas or unknown:
            raise ValueError(
                f"RegionContentLoss: gammas needs at least one of the kinds {KINDS}; got "
                f"{sorted(gammas)} (unknown: {unknown})."
            )
        wants_blocks = any(kind.startswith("block_") for kind in gammas)
        if wants_blocks != (grid > 0) or grid < 0:
            raise ValueError(
                f"RegionContentLoss: the block kinds need a grid and a grid needs a block kind; "
                f"got grid={grid} with gammas for {sorted(gammas)}. Set grid to the number of "
                f"blocks per side together with gammas for block_blurred/block_clear, or "
                f"grid=0 without them."
            )
        if not 0.0 < block_threshold <= 1.0:
            raise ValueError(
                f"RegionContentLoss: block_threshold must be in (0, 1], got {block_threshold}"
            )
        self.gammas = gammas
        self.grid = int(grid)
        self.block_threshold = float(block_threshold)
        self.layer = layer
        self.perceptual = PerceptualLoss(
            network=network,
            layers={layer: 1.0},
            criterion="mse",
            weights=weights,
            input_range=input_range,
            normalization=normalization,
            seed=seed,
        )

    def set_value_range(self, value_range: Sequence[float]) -> None:
        """Told once by the system (through the generator objective): the generator's range."""
        self.perceptual.set_value_range(value_range)

    @property
    def weights_description(self) -> str:
        """Which VGG weights are in use (logged with the run)."""
        return self.perceptual.weights_description

    def feature_regions(self, mask: Tensor, size: tuple[int, int]) -> Tensor:
        """``(B, 1, H, W)`` mask -> ``(B, 1, h, w)`` 0/1 blurred region at feature size."""
        return (F.interpolate(mask.float(), size=size, mode="area") >= 0.5).float()

    def forward(self, fake: Tensor, real: Tensor, mask: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        check_pair(fake, real, loss_name="RegionContentLoss")
        if self.perceptual.input_range is None and self.perceptual.normalization == "imagenet":
            raise ValueError(
                "RegionContentLoss does not know the range of its images: build it through a "
                "system (which tells it the generator's value_range) or pass input_range"
            )
        _check_mask(mask, fake, loss_name="RegionContentLoss")
        fake_features = self.perceptual.features(fake)[self.layer]
        with torch.no_grad():
            real_features = self.perceptual.features(real)[self.layer]
        # (B, 1, h, w): squared feature difference, averaged over channels.
        error = (fake_features - real_features).float().square().mean(dim=1, keepdim=True)
        blurred = self.feature_regions(mask, tuple(error.shape[-2:]))

        values: dict[str, Tensor] = {}
        if "blurred" in self.gammas or "clear" in self.gammas:
            means, present = _per_region_mean(error, torch.cat([blurred, 1.0 - blurred], dim=1))
            for index, kind in enumerate(("blurred", "clear")):
                if kind in self.gammas:
                    values[kind] = _mean_over_present(means[:, index], present[:, index])
        if self.grid:
            values.update(self._block_terms(error, blurred))

        total = error.new_zeros(())
        for kind, value in values.items():
            total = total + self.gammas[kind] * value
        return total, {f"content_{kind}": value for kind, value in values.items()}

    def _block_terms(self, error: Tensor, blurred: Tensor) -> dict[str, Tensor]:
        b, _, h, w = error.shape
        g = self.grid
        if h < g or w < g:
            raise ValueError(
                f"RegionContentLoss: a {g}x{g} grid needs features of at least {g}x{g}; the "
                f"{self.layer} features are {h}x{w}. Use larger crops or a smaller grid."
            )
        # Block of feature row r is r * g // h: a partition with integer boundaries.
        rows = torch.arange(h, device=error.device) * g // h
        cols = torch.arange(w, device=error.device) * g // w
        block = (rows[:, None] * g + cols[None, :]).flatten()  # (h * w,)
        area = torch.bincount(block, minlength=g * g).to(error.dtype)  # (g * g,)

        def per_block_mean(t: Tensor) -> Tensor:  # (B, 1, h, w) -> (B, g * g)
            sums = t.new_zeros(b, g * g).index_add_(1, block, t.flatten(1))
            return sums / area

        means, coverage = per_block_mean(error), per_block_mean(blurred)
        is_blurred = coverage >= self.block_threshold
        values = {}
        if "block_blurred" in self.gammas:
            values["block_blurred"] = _mean_over_present(means, is_blurred)
        if "block_clear" in self.gammas:
            values["block_clear"] = _mean_over_present(means, ~is_blurred)
        return values

    def extra_repr(self) -> str:
        return (
            f"gammas={self.gammas}, grid={self.grid}, block_threshold={self.block_threshold}, "
            f"layer={self.layer!r}"
        )


class MaskBCELoss(nn.Module):
    """Binary cross-entropy between predicted blur-mask logits and the true mask.

    ``forward(logits, mask)``: ``(B, 1, H, W)`` logits (the SR-GN generator's
    ``forward_with_mask``) and the ``(B, 1, H, W)`` mask in [0, 1] -> scalar, the mean over
    pixels. The mask is used as a soft target: in synthesised partial blur it is the blend
    weight of the blurred image, which is exactly what the generator's blend should learn.
    """

    def forward(self, logits: Tensor, mask: Tensor) -> Tensor:
        if logits.ndim != 4 or logits.shape[1] != 1 or mask.shape != logits.shape:
            raise ValueError(
                f"MaskBCELoss: mask logits and mask must both be (B, 1, H, W) of the same "
                f"size; got {tuple(logits.shape)} and {tuple(mask.shape)}."
            )
        return F.binary_cross_entropy_with_logits(logits.float(), mask.float())
