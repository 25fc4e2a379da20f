"""Evaluation protocols: how a restored image and its reference become PSNR / SSIM.

Published restoration numbers are computed in incompatible ways (colour space, border
crop, 8-bit rounding, SSIM variant), and differences between protocols are as large as
differences between methods. So every number the suite reports carries the name of the
`Protocol` that produced it, and there is one implementation of each step:

- `evaluate_pair` (numpy, float64) is the reference used by `src/eval.py` for the tables.
  It matches scikit-image's `peak_signal_noise_ratio` and `structural_similarity(
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)` to ~1e-10.
- `batch_scores` (torch, on the training device) is what validation logs as `val/psnr`,
  `val/ssim`: `prepare_for_metrics` applies the same protocol to a batch, torchmetrics
  scores each image. PSNR agrees with `evaluate_pair` (to float32 rounding); SSIM reads
  up to ~0.01 differently because torchmetrics reflect-pads the border and averages over
  the whole image, not only the valid region. Validation curves are fine with that;
  reported tables come from `evaluate_pair`.

Scores are means over images of per-image values, never PSNR of an MSE pooled over the
set: pooling lets the worst images dominate and is not what papers report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

# ITU-R BT.601 luma for [0, 1] RGB, giving "studio swing" Y in [16, 235]: the
# coefficients of MATLAB's rgb2ycbcr, on which the SR benchmark numbers rest.
_BT601_OFFSET = 16.0
_BT601_RGB = (65.481, 128.553, 24.966)

# SSIM "2d" constants (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5. Radius 5 is
# what scikit-image's truncate=3.5 gives (int(3.5 * 1.5 + 0.5)), so the windows agree.
_SSIM_SIGMA = 1.5
_SSIM_RADIUS = 5
_SSIM_K1, _SSIM_K2 = 0.01, 0.03


@dataclass(frozen=True)
class Protocol:
    """How to score one image pair.

    Attributes:
        name: the label stored next to every number, e.g. `"sr-y-bt601-crop4-8bit-ssim2d"`.
        color: `"rgb"` scores the three channels (SSIM per channel, then averaged);
            `"y"` scores BT.601 luma only.
        crop_border: pixels removed from each side before scoring (SR: the scale, because
            the border of an upscaled image has no full neighbourhood in the LR input).
        quantize: round the prediction to the 8-bit grid first, as writing a PNG would.
        ssim: SSIM variant: `"2d"` (per-channel 11x11 Gaussian window, valid region) or
            `"matlab3d"` (MATLAB's `ssim()` on an RGB array: one 11x11x11 Gaussian over the
            H x W x 3 volume; see `ssim_matlab3d`). `"matlab3d"` needs `color="rgb"`.
    """

    name: str
    color: Literal["rgb", "y"]
    crop_border: int
    quantize: bool
    ssim: Literal["2d", "matlab3d"] = "2d"

    def __post_init__(self) -> None:
        if (
            self.color not in ("rgb", "y")
            or self.ssim not in ("2d", "matlab3d")
            or (self.ssim == "matlab3d" and self.color != "rgb")
            or self.crop_border < 0
        ):
            raise ValueError(f"invalid evaluation protocol: {self}")


DEBLUR = Protocol(
    name="deblur-rgb-8bit-ssim2d", color="rgb", crop_border=0, quantize=True, ssim="2d"
)
# What NAFNet / MPRNet / Restormer GoPro numbers use: MATLAB `ssim(restored, gt)` on
# uint8 RGB arrays (and `psnr`, which is the same as ours).
DEBLUR_MATLAB3D = Protocol(
    name="deblur-rgb-8bit-ssim-matlab3d",
    color="rgb",
    crop_border=0,
    quantize=True,
    ssim="matlab3d",
)


def sr_protocol(scale: int, color: Literal["y", "rgb"] = "y") -> Protocol:
    """Super-resolution protocol: crop `scale` pixels per border, Y channel (or RGB)."""
    if scale < 1:
        raise ValueError(f"sr_protocol needs a scale >= 1; got {scale}")
    space = "y-bt601" if color == "y" else "rgb"
    return Protocol(
        name=f"sr-{space}-crop{scale}-8bit-ssim2d",
        color=color,
        crop_border=scale,
        quantize=True,
        ssim="2d",
    )


def get_protocol(name: str, scale: int) -> Protocol:
    """Protocol for a datamodule's `protocol` string: `"deblur"`, `"sr"` or `"sr-rgb"`,
    or `"deblur-matlab3d"` (deblurring scored with MATLAB's 3-D SSIM)."""
    if name == "deblur":
        return DEBLUR
    if name == "deblur-matlab3d":
        return DEBLUR_MATLAB3D
    if name == "sr":
        return sr_protocol(scale)
    if name == "sr-rgb":
        return sr_protocol(scale, color="rgb")
    raise ValueError(
        f"unknown evaluation protocol {name!r}; expected 'deblur', 'deblur-matlab3d', 'sr' "
        "or 'sr-rgb'"
    )


# --------------------------------------------------------------------------- reference


def psnr(pred: np.ndarray, target: np.ndarray, data_range: float) -> float:
    """PSNR in dB of one image pair (any equal shapes); `inf` for identical images."""
    mse = np.mean((pred.astype(np.float64) - target.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def ssim_2d(pred: np.ndarray, target: np.ndarray, data_range: float) -> float:
    """SSIM "2d" of one pair: `(H, W)` or `(H, W, C)`, per channel then averaged.

    Gaussian window 11x11 with sigma 1.5, K1 0.01, K2 0.03, population (not sample)
    covariances, and the SSIM map averaged over the valid region only: the 5 pixels per
    border whose window would leave the image are dropped. Images must be at least
    11x11.
    """
    if pred.ndim == 3 and pred.shape == target.shape:
        return float(
            np.mean(
                [ssim_2d(pred[..., c], target[..., c], data_range) for c in range(pred.shape[-1])]
            )
        )
    return float(ssim_2d_map(pred, target, data_range).mean())


def ssim_2d_map(pred: np.ndarray, target: np.ndarray, data_range: float) -> np.ndarray:
    """The SSIM "2d" map that `ssim_2d` averages, over the valid region only.

    `(H, W)` -> `(H - 10, W - 10)`; `(H, W, C)` -> `(H - 10, W - 10, C)`, one map per
    channel. Entry `[i, j]` belongs to image pixel `[i + 5, j + 5]`.
    """
    if pred.shape != target.shape:
        raise ValueError(f"ssim_2d: shapes differ, {pred.shape} vs {target.shape}")
    if min(pred.shape[:2]) < 2 * _SSIM_RADIUS + 1:
        raise ValueError(f"ssim_2d needs images of at least 11x11; got {pred.shape[:2]}")
    if pred.ndim == 3:
        return np.stack(
            [ssim_2d_map(pred[..., c], target[..., c], data_range) for c in range(pred.shape[-1])],
            axis=-1,
        )
    # Separable 11x11 Gaussian; the border mode is irrelevant because the border-affected
    # values are cropped away below.
    ssim_map = _ssim_map(pred, target, data_range, axes=(0, 1), mode="reflect")
    r = _SSIM_RADIUS
    return ssim_map[r:-r, r:-r]


def _ssim_map(
    pred: np.ndarray, target: np.ndarray, data_range: float, *, axes: tuple[int, ...], mode: str
) -> np.ndarray:
    """The SSIM map (Wang et al. 2004) with Gaussian local statistics (sigma 1.5, 11 taps)
    along `axes`, the border extended by ndimage's `mode`; population covariances."""
    x = pred.astype(np.float64)
    y = target.astype(np.float64)
    taps = np.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, dtype=np.float64)
    window = np.exp(-(taps**2) / (2 * _SSIM_SIGMA**2))
    window /= window.sum()

    def local_mean(img: np.ndarray) -> np.ndarray:
        for axis in axes:
            img = ndimage.correlate1d(img, window, axis=axis, mode=mode)
        return img

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x**2
    var_y = local_mean(y * y) - mu_y**2
    cov = local_mean(x * y) - mu_x * mu_y
    c1 = (_SSIM_K1 * data_range) ** 2
    c2 = (_SSIM_K2 * data_range) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )


def ssim_matlab3d(pred: np.ndarray, target: np.ndarray, data_range: float) -> float:
    """SSIM "matlab3d": what MATLAB's `ssim(A, ref)` returns for `(H, W, C)` arrays.

    MATLAB treats a 3-D array as a volume, not as channels: the local statistics come
    from one isotropic Gaussian (sigma 1.5, `2 * ceil(3 * sigma) + 1` = 11 taps per axis,
    normalised to sum 1) over height, width *and* the channel axis, the volume
    replicate-padded on all three axes (so along C, with only 3 channels, the window
    sees the first and last channel repeated), and the SSIM map is averaged over every
    voxel, border included (no valid-region crop, unlike "2d"). K1 0.01, K2 0.03,
    population covariances. MATLAB computes in single precision for uint8 inputs; this
    is float64 (differences ~1e-6).
    """
    if pred.shape != target.shape or pred.ndim != 3:
        raise ValueError(
            f"ssim_matlab3d expects two (H, W, C) arrays of one shape; got {pred.shape} "
            f"and {target.shape}"
        )
    # Separable along H, W and C; mode "nearest" is MATLAB's 'replicate' padding.
    return float(_ssim_map(pred, target, data_range, axes=(0, 1, 2), mode="nearest").mean())


def _to_hwc_255(image: np.ndarray | Tensor, quantize: bool) -> np.ndarray:
    """Tensors are `(3, H, W)`, arrays `(H, W, 3)`; float in [0, 1] or uint8 -> float64 0..255."""
    if isinstance(image, Tensor):
        image = image.detach().cpu().numpy().transpose(1, 2, 0)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(
            f"expected an RGB image, (H, W, 3) array or (3, H, W) tensor; got {image.shape}"
        )
    if image.dtype == np.uint8:
        return image.astype(np.float64)
    scaled = np.clip(image.astype(np.float64), 0.0, 1.0) * 255.0
    # Round, not truncate: `astype(np.uint8)` would darken every pixel by half a level on
    # average and cost PSNR that a saved PNG would not lose.
    return np.round(scaled) if quantize else scaled


def _rgb_to_y_255(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB on 0..255 -> (H, W) BT.601 Y on 0..255, in [16, 235]; not rounded.

    MATLAB's rgb2ycbcr on uint8 images rounds Y to integers; BasicSR and this code keep
    it exact. On Set5 x4 bicubic that moves the mean PSNR by 0.013 dB (0.034 dB at most
    per image).
    """
    r, g, b = _BT601_RGB
    return _BT601_OFFSET + (r * image[..., 0] + g * image[..., 1] + b * image[..., 2]) / 255.0


def evaluate_pair(
    pred: np.ndarray | Tensor, target: np.ndarray | Tensor, protocol: Protocol
) -> dict[str, float]:
    """Score one restored image against its reference under `protocol`.

    Args:
        pred, target: the same size; `(H, W, 3)` numpy arrays or `(3, H, W)` tensors,
            float in [0, 1] (clipped) or uint8.
        protocol: which protocol to apply (`DEBLUR`, `sr_protocol(4)`, ...).

    Returns:
        `{"psnr": dB, "ssim": in [-1, 1]}`, computed on a 0..255 scale (data range 255)
        after quantising (both images; a no-op for 8-bit references), converting to Y
        and cropping the border, in that order.
    """
    x = _to_hwc_255(pred, protocol.quantize)
    y = _to_hwc_255(target, protocol.quantize)
    if x.shape != y.shape:
        raise ValueError(f"evaluate_pair: prediction {x.shape} and target {y.shape} differ in size")
    if protocol.color == "y":
        x, y = _rgb_to_y_255(x), _rgb_to_y_255(y)
    c = protocol.crop_border
    if c:
        x, y = x[c:-c, c:-c], y[c:-c, c:-c]
    ssim = ssim_matlab3d if protocol.ssim == "matlab3d" else ssim_2d
    return {"psnr": psnr(x, y, 255.0), "ssim": ssim(x, y, 255.0)}


# ------------------------------------------------------------------------------- torch


def prepare_for_metrics(x: Tensor, protocol: Protocol) -> Tensor:
    """Apply `protocol` to a batch for torchmetrics: `(B, 3, H, W)` in [0, 1] ->
    `(B, C, H - 2c, W - 2c)` in [0, 1], C = 1 for Y (BT.601 Y / 255, in [16/255, 235/255])
    or 3 for RGB, c = `protocol.crop_border`. Score it with `data_range=1.0`.
    """
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"prepare_for_metrics expects (B, 3, H, W); got {tuple(x.shape)}")
    x = x.clamp(0.0, 1.0)
    if protocol.quantize:
        x = torch.round(x * 255.0) / 255.0
    if protocol.color == "y":
        weights = x.new_tensor(_BT601_RGB).view(1, 3, 1, 1)
        x = (_BT601_OFFSET + (x * weights).sum(dim=1, keepdim=True)) / 255.0
    c = protocol.crop_border
    return x[..., c:-c, c:-c] if c else x


def batch_scores(pred: Tensor, target: Tensor, protocol: Protocol) -> dict[str, Tensor]:
    """Per-image PSNR and SSIM of a batch under `protocol`: `(B, 3, H, W)` in [0, 1] ->
    `{"psnr": (B,), "ssim": (B,)}`; the caller averages over images.

    `dim=(1, 2, 3)` with `reduction="none"` keeps PSNR per image (torchmetrics would
    otherwise pool the MSE of the whole batch); `data_range=1.0` is explicit because SSIM
    would otherwise infer it from each batch.
    """
    x, y = (
        prepare_for_metrics(pred.float(), protocol),
        prepare_for_metrics(target.float(), protocol),
    )
    return {
        "psnr": peak_signal_noise_ratio(x, y, data_range=1.0, dim=(1, 2, 3), reduction="none"),
        "ssim": structural_similarity_index_measure(x, y, data_range=1.0, reduction="none"),
    }
