"""Region metrics for partially blurred images: the complete image, its clear part, its blurred part.

SR-GN (Khmag & Ramlee, Table 1) reports PSNR and SSIM on the "reference part" (the clear
part of the input) and on the complete image. The local-deblurring literature (ReLoBlur,
LBAG) adds a mask-weighted PSNR on the blurred region. Per image, with the mask
binarised at ``mask >= 0.5`` for region membership (1 = blurred):

- ``psnr``, ``ssim``: the complete image, exactly `restoregan.metrics.evaluate_pair`;
- ``psnr_blurred`` / ``psnr_clear``: PSNR of the mean squared error over the region's
  pixels (all channels);
- ``ssim_blurred`` / ``ssim_clear``: the mean of the SSIM "2d" map (channels averaged)
  over the region's pixels inside the valid SSIM area. The 5 pixels along each border,
  where the 11x11 window leaves the image, have no SSIM value and are dropped, as for the
  whole-image SSIM (and as LBAG crops its weight map); a value's window may reach across
  the region boundary, since SSIM is a neighbourhood measure;
- ``psnr_weighted``: the LBAG / ReLoBlur weighted PSNR, MSE weighted by the soft mask,
  ``sum m * (x - y)^2 / (C * sum m)``.

A region with no pixel (no blur in the image, or a region entirely in the SSIM border)
scores NaN: undefined, not zero; average over images with ``numpy.nanmean`` (or
torchmetrics ``MeanMetric(nan_strategy="ignore")``). Identical regions score ``inf`` dB.

`evaluate_regions` (numpy, float64) is the reference for tables; `region_scores` computes
the same numbers on a batch on the training device, for validation logging (float32: PSNR
agrees to ~1e-4 dB, SSIM to ~1e-5). Both apply the protocol's steps (8-bit rounding, Y
channel, border crop) to the images and crop the mask with them.
"""

from __future__ import annotations

import numpy as np
import torch
from kornia.metrics import ssim as kornia_ssim
from torch import Tensor

from restoregan.metrics import (
    Protocol,
    _rgb_to_y_255,
    _to_hwc_255,
    prepare_for_metrics,
    psnr,
    ssim_2d,
    ssim_2d_map,
)

THRESHOLD = 0.5
KEYS = (
    "psnr",
    "ssim",
    "psnr_blurred",
    "ssim_blurred",
    "psnr_clear",
    "ssim_clear",
    "psnr_weighted",
)
# The region keys validation logs, for the restored image and for the input itself
# (`psnr_blurred` -> `psnr_input_blurred`, as `psnr` -> `psnr_input`).
REGION_KEYS = KEYS[2:]
INPUT_KEYS = tuple(k.replace("_", "_input_", 1) for k in REGION_KEYS)
VALIDATION_KEYS = REGION_KEYS + INPUT_KEYS

# DEBLUR plus the region rule: the name says that regions come from the mask at 0.5.
LOCAL_DEBLUR = Protocol(
    name="local-deblur-rgb-8bit-ssim2d-mask0.5", color="rgb", crop_border=0, quantize=True
)


class MaskError(ValueError):
    """A blur mask that does not fit its image pair."""


def _mask_to_hw(mask: np.ndarray | Tensor, size: tuple[int, int]) -> np.ndarray:
    """`(H, W)`, `(H, W, 1)` or `(1, H, W)`; float in [0, 1], bool or uint8 -> float64 (H, W)."""
    if isinstance(mask, Tensor):
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask)
    if mask.ndim == 3 and 1 in (mask.shape[0], mask.shape[-1]):
        mask = mask.reshape(mask.shape[1:] if mask.shape[0] == 1 else mask.shape[:2])
    if mask.shape != size:
        raise MaskError(
            f"blur mask of shape {mask.shape} does not fit an image of {size[0]}x{size[1]}: "
            f"expected a single-channel (H, W) mask of the image's size"
        )
    if mask.dtype == np.uint8:
        return mask / 255.0
    mask = mask.astype(np.float64)
    if mask.size and (mask.min() < 0.0 or mask.max() > 1.0):
        raise MaskError(
            f"blur mask values must be in [0, 1] (or uint8 0..255); found "
            f"{mask.min():g}..{mask.max():g}. Divide an 8-bit mask stored as float by 255."
        )
    return mask


def _region_psnr(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """PSNR (data range 255) of the MSE weighted by `weights` (H, W); NaN if they sum to 0."""
    total = weights.sum()
    if total == 0:
        return float("nan")
    squared = (x - y) ** 2
    if squared.ndim == 3:
        squared = squared.mean(axis=-1)  # the 1/C of sum m (x - y)^2 / (C sum m)
    mse = float((weights * squared).sum() / total)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def evaluate_regions(
    pred: np.ndarray | Tensor,
    target: np.ndarray | Tensor,
    mask: np.ndarray | Tensor,
    protocol: Protocol = LOCAL_DEBLUR,
) -> dict[str, float]:
    """Score one restored image against its reference, whole and per region.

    Args:
        pred, target: the same size; `(H, W, 3)` arrays or `(3, H, W)` tensors, float in
            [0, 1] or uint8 (as for `restoregan.metrics.evaluate_pair`).
        mask: `(H, W)` blur mask (also `(1, H, W)` / `(H, W, 1)`), float in [0, 1] or
            uint8 0..255; 1 = blurred.
        protocol: the steps applied before scoring (default `LOCAL_DEBLUR`).

    Returns:
        `{key: value}` for every key in `KEYS`, on a 0..255 scale (data range 255).
    """
    x = _to_hwc_255(pred, protocol.quantize)
    y = _to_hwc_255(target, protocol.quantize)
    if x.shape != y.shape:
        raise ValueError(
            f"evaluate_regions: prediction {x.shape} and target {y.shape} differ in size"
        )
    m = _mask_to_hw(mask, x.shape[:2])
    if protocol.color == "y":
        x, y = _rgb_to_y_255(x), _rgb_to_y_255(y)
    c = protocol.crop_border
    if c:
        x, y, m = x[c:-c, c:-c], y[c:-c, c:-c], m[c:-c, c:-c]
    blurred = (m >= THRESHOLD).astype(np.float64)
    ssim_map = ssim_2d_map(x, y, 255.0)
    if ssim_map.ndim == 3:
        ssim_map = ssim_map.mean(axis=-1)
    border = (m.shape[0] - ssim_map.shape[0]) // 2
    inner = blurred[border:-border, border:-border]

    scores = {"psnr": psnr(x, y, 255.0), "ssim": ssim_2d(x, y, 255.0)}
    for name, region, inner_region in (
        ("blurred", blurred, inner),
        ("clear", 1.0 - blurred, 1.0 - inner),
    ):
        scores[f"psnr_{name}"] = _region_psnr(x, y, region)
        count = inner_region.sum()
        scores[f"ssim_{name}"] = (
            float((ssim_map * inner_region).sum() / count) if count else float("nan")
        )
    scores["psnr_weighted"] = _region_psnr(x, y, m)
    return {key: scores[key] for key in KEYS}


# ------------------------------------------------------------------------------- torch


def _masked_psnr(squared: Tensor, weights: Tensor) -> Tensor:
    """`(B, C, H, W)` squared errors on [0, 1], `(B, 1, H, W)` weights -> `(B,)` dB."""
    total = weights.sum(dim=(1, 2, 3))
    mse = (squared.mean(dim=1, keepdim=True) * weights).sum(dim=(1, 2, 3)) / total
    value = 10.0 * torch.log10(1.0 / mse)  # inf where mse == 0
    return torch.where(total > 0, value, torch.full_like(value, float("nan")))


def region_scores(
    pred: Tensor, target: Tensor, mask: Tensor, protocol: Protocol = LOCAL_DEBLUR
) -> dict[str, Tensor]:
    """The `evaluate_regions` numbers for a batch: `{key: (B,) tensor}`.

    Args:
        pred, target: `(B, 3, H, W)` in [0, 1] (clipped), on any device.
        mask: `(B, 1, H, W)` in [0, 1], 1 = blurred.
        protocol: as for `evaluate_regions`.
    """
    if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[-2:] != pred.shape[-2:]:
        raise MaskError(
            f"region_scores: the mask must be (B, 1, H, W) matching the images "
            f"{tuple(pred.shape)}; got {tuple(mask.shape)}"
        )
    x = prepare_for_metrics(pred, protocol).float()
    y = prepare_for_metrics(target, protocol).float()
    c = protocol.crop_border
    m = (mask[..., c:-c, c:-c] if c else mask).to(x.dtype)
    blurred = (m >= THRESHOLD).to(x.dtype)
    squared = (x - y).square()
    # eps=0 gives the textbook formula, as the numpy reference computes it.
    ssim_map = kornia_ssim(x, y, 11, max_val=1.0, eps=0.0, padding="valid").mean(
        dim=1, keepdim=True
    )
    r = (m.shape[-1] - ssim_map.shape[-1]) // 2
    inner = blurred[..., r:-r, r:-r]

    def masked_ssim(region: Tensor) -> Tensor:
        count = region.sum(dim=(1, 2, 3))
        value = (ssim_map * region).sum(dim=(1, 2, 3)) / count.clamp_min(1.0)
        return torch.where(count > 0, value, torch.full_like(value, float("nan")))

    ones = torch.ones_like(blurred)
    return {
        "psnr": _masked_psnr(squared, ones),
        "ssim": ssim_map.mean(dim=(1, 2, 3)),
        "psnr_blurred": _masked_psnr(squared, blurred),
        "ssim_blurred": masked_ssim(inner),
        "psnr_clear": _masked_psnr(squared, 1.0 - blurred),
        "ssim_clear": masked_ssim(1.0 - inner),
        "psnr_weighted": _masked_psnr(squared, m),
    }


def validation_scores(
    pred: Tensor, baseline: Tensor, target: Tensor, mask: Tensor, protocol: Protocol
) -> dict[str, Tensor]:
    """The region scores validation logs beside `metrics.batch_scores`' whole-image ones:
    `{key: (B,)}` for `VALIDATION_KEYS`, the restored image's and the input's own."""
    restored = region_scores(pred, target, mask, protocol)
    given = region_scores(baseline, target, mask, protocol)
    scores = {k: restored[k] for k in REGION_KEYS}
    scores.update({name: given[k] for k, name in zip(REGION_KEYS, INPUT_KEYS, strict=True)})
    return scores
