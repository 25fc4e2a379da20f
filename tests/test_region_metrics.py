"""Region metrics: every number against scikit-image run on the region by hand.

scikit-image is the oracle: `peak_signal_noise_ratio` on the region's pixels, and the
`structural_similarity(..., full=True)` map averaged over the region.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import data as skdata
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from restoregan.metrics import DEBLUR, Protocol, evaluate_pair, sr_protocol
from restoregan.region_metrics import (
    KEYS,
    LOCAL_DEBLUR,
    MaskError,
    evaluate_regions,
    region_scores,
)

Y_CROP = sr_protocol(3)  # Y channel, 3-pixel border crop


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(restored float [0, 1], sharp uint8, soft mask float) at 96x120, partly blurred."""
    rng = np.random.default_rng(seed)
    top, left = 40 + 8 * seed, 100 + 16 * seed
    sharp = skdata.astronaut()[top : top + 96, left : left + 120]
    blurred = ndimage.gaussian_filter(sharp / 255.0, sigma=(2.0, 2.0, 0))
    mask = np.zeros((96, 120))
    mask[20:70, 10:75] = 1.0
    mask = ndimage.gaussian_filter(mask, 3.0)  # soft edge: weighted PSNR differs from blurred
    restored = mask[..., None] * blurred + (1 - mask[..., None]) * sharp / 255.0
    restored = np.clip(restored + rng.normal(0, 0.01, restored.shape), 0, 1)
    return restored, sharp, mask


def _skimage_regions(pred01: np.ndarray, sharp: np.ndarray, mask: np.ndarray, protocol) -> dict:
    """The protocol's steps, then scikit-image on each region."""
    x = np.round(np.clip(pred01, 0, 1) * 255.0)
    y = sharp.astype(np.float64)
    channel_axis = -1
    if protocol.color == "y":
        x = rgb2ycbcr(x / 255.0)[..., 0]
        y = rgb2ycbcr(y / 255.0)[..., 0]
        channel_axis = None
    c = protocol.crop_border
    if c:
        x, y, mask = x[c:-c, c:-c], y[c:-c, c:-c], mask[c:-c, c:-c]
    _, ssim_map = structural_similarity(
        y,
        x,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=channel_axis,
        full=True,
    )
    if ssim_map.ndim == 3:
        ssim_map = ssim_map.mean(axis=-1)
    valid = np.zeros(mask.shape, bool)
    valid[5:-5, 5:-5] = True
    blurred = mask >= 0.5
    out = {
        "psnr": peak_signal_noise_ratio(y, x, data_range=255),
        "ssim": ssim_map[valid].mean(),
    }
    for name, region in (("blurred", blurred), ("clear", ~blurred)):
        out[f"psnr_{name}"] = peak_signal_noise_ratio(y[region], x[region], data_range=255)
        out[f"ssim_{name}"] = ssim_map[region & valid].mean()
    squared = (x - y) ** 2
    channels = 1 if squared.ndim == 2 else squared.shape[-1]
    weights = mask if squared.ndim == 2 else mask[..., None]
    mse = (weights * squared).sum() / (channels * mask.sum())
    out["psnr_weighted"] = 10 * math.log10(255.0**2 / mse)
    return out


@pytest.mark.parametrize("protocol", [LOCAL_DEBLUR, Y_CROP], ids=lambda p: p.name)
def test_every_region_number_matches_scikit_image(protocol: Protocol) -> None:
    restored, sharp, mask = _scene()
    ours = evaluate_regions(restored, sharp, mask, protocol)
    oracle = _skimage_regions(restored, sharp, mask, protocol)
    assert list(ours) == list(KEYS)
    tolerance = 1e-8 if protocol.color == "rgb" else 1e-6  # skimage's Y uses other constants
    for key in KEYS:
        assert ours[key] == pytest.approx(oracle[key], abs=tolerance), key
    assert ours["psnr_weighted"] != pytest.approx(ours["psnr_blurred"], abs=1e-3)


def test_whole_image_numbers_are_evaluate_pair() -> None:
    restored, sharp, mask = _scene()
    ours = evaluate_regions(restored, sharp, mask)
    assert {k: ours[k] for k in ("psnr", "ssim")} == evaluate_pair(restored, sharp, DEBLUR)
    assert LOCAL_DEBLUR.name == "local-deblur-rgb-8bit-ssim2d-mask0.5"


def test_the_blurred_part_scores_worse_than_the_clear_part() -> None:
    restored, sharp, mask = _scene()
    ours = evaluate_regions(restored, sharp, mask)
    assert ours["psnr_blurred"] < ours["psnr"] < ours["psnr_clear"]
    assert ours["ssim_blurred"] < ours["ssim"] < ours["ssim_clear"]


def test_a_mask_flipped_relative_to_its_pair_changes_the_scores() -> None:
    restored, sharp, mask = _scene()
    right = evaluate_regions(restored, sharp, mask)
    flipped = evaluate_regions(restored, sharp, mask[:, ::-1])
    for key in ("psnr_blurred", "ssim_blurred", "psnr_clear", "ssim_clear", "psnr_weighted"):
        assert flipped[key] != pytest.approx(right[key], abs=1e-3), key


def test_a_region_boundary_one_pixel_off_changes_the_scores() -> None:
    restored, sharp, mask = _scene()
    hard = (mask >= 0.5).astype(np.float64)
    shifted = np.roll(hard, 1, axis=1)
    a, b = evaluate_regions(restored, sharp, hard), evaluate_regions(restored, sharp, shifted)
    assert a["psnr_blurred"] != b["psnr_blurred"] and a["ssim_blurred"] != b["ssim_blurred"]


def test_binarisation_at_one_half_and_mask_encodings() -> None:
    restored, sharp, _ = _scene()
    mask = np.zeros((96, 120))
    mask[30:60, 30:90] = 0.5  # exactly 0.5 counts as blurred
    hard = (mask > 0).astype(np.float64)
    a, b = evaluate_regions(restored, sharp, mask), evaluate_regions(restored, sharp, hard)
    for key in ("psnr_blurred", "ssim_blurred", "psnr_clear", "ssim_clear"):
        assert a[key] == b[key], key
    as_uint8 = evaluate_regions(restored, sharp, (hard * 255).astype(np.uint8)[None])
    as_tensor = evaluate_regions(
        torch.from_numpy(restored).permute(2, 0, 1), sharp, torch.from_numpy(hard)[None]
    )
    assert as_uint8 == b and as_tensor == b


def test_empty_regions_are_nan_and_identical_images_are_infinite() -> None:
    _, sharp, _ = _scene()
    exact = sharp / 255.0
    none = evaluate_regions(exact, sharp, np.zeros((96, 120)))
    assert math.isnan(none["psnr_blurred"]) and math.isnan(none["ssim_blurred"])
    assert math.isnan(none["psnr_weighted"])
    assert none["psnr_clear"] == math.inf and none["ssim_clear"] == pytest.approx(1.0)
    border = np.zeros((96, 120))
    border[:4, :] = 1.0  # inside the 5-pixel band without SSIM values
    scores = evaluate_regions(_scene()[0], sharp, border)
    assert math.isnan(scores["ssim_blurred"]) and math.isfinite(scores["psnr_blurred"])


def test_bad_masks_raise_mask_errors() -> None:
    restored, sharp, mask = _scene()
    with pytest.raises(MaskError, match="does not fit"):
        evaluate_regions(restored, sharp, mask[:-1])
    with pytest.raises(MaskError, match="does not fit"):
        evaluate_regions(restored, sharp, np.stack([mask] * 3, axis=-1))
    with pytest.raises(MaskError, match=r"\[0, 1\]"):
        evaluate_regions(restored, sharp, mask * 255.0)
    with pytest.raises(MaskError, match=r"\(B, 1, H, W\)"):
        region_scores(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16), torch.zeros(1, 16, 16))


# --- torch batch version --------------------------------------------------------------


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list]:
    scenes = [_scene(0), _scene(1)]
    pred = torch.stack([torch.from_numpy(p).permute(2, 0, 1) for p, _, _ in scenes]).float()
    target = torch.stack([torch.from_numpy(s / 255.0).permute(2, 0, 1) for _, s, _ in scenes])
    mask = torch.stack([torch.from_numpy(m)[None] for _, _, m in scenes]).float()
    return pred, target.float(), mask, scenes


@pytest.mark.parametrize("protocol", [LOCAL_DEBLUR, Y_CROP], ids=lambda p: p.name)
def test_batch_version_matches_the_reference(protocol: Protocol) -> None:
    pred, target, mask, scenes = _batch()
    batch = region_scores(pred, target, mask, protocol)
    assert list(batch) == list(KEYS)
    for i, (p, s, _) in enumerate(scenes):
        reference = evaluate_regions(p, s, mask[i, 0].numpy(), protocol)
        for key in KEYS:
            tolerance = 2e-4 if key.startswith("psnr") else 2e-5
            assert batch[key][i].item() == pytest.approx(reference[key], abs=tolerance), key


def test_flipping_the_mask_of_one_image_changes_only_that_image() -> None:
    pred, target, mask, _ = _batch()
    before = region_scores(pred, target, mask)
    flipped = mask.clone()
    flipped[0] = flipped[0].flip(-1)
    after = region_scores(pred, target, flipped)
    for key in ("psnr_blurred", "ssim_blurred", "psnr_clear", "ssim_clear", "psnr_weighted"):
        assert not torch.isclose(after[key][0], before[key][0], atol=1e-3), key
        assert torch.equal(after[key][1], before[key][1]), key
    assert torch.equal(after["psnr"], before["psnr"])


def test_batch_empty_regions_are_nan_and_identical_is_inf() -> None:
    _, target, _, _ = _batch()
    scores = region_scores(target, target, torch.zeros(2, 1, 96, 120))
    assert torch.isnan(scores["psnr_blurred"]).all() and torch.isnan(scores["ssim_blurred"]).all()
    assert torch.isinf(scores["psnr_clear"]).all() and torch.isinf(scores["psnr"]).all()
