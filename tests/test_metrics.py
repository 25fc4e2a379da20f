"""Evaluation protocols: exact against scikit-image on real photographs, hand-checked steps.

scikit-image is the oracle here and only here; the library computes its own numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torchmetrics import MeanMetric
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from restoregan.metrics import (
    DEBLUR,
    Protocol,
    batch_scores,
    evaluate_pair,
    get_protocol,
    prepare_for_metrics,
    sr_protocol,
)

IMAGES = [f"BSD100/HR/img_00{i}.png" for i in range(1, 6)] + ["Set14/HR/img_004.png"]
Y_TEST = Protocol(name="test-y-crop0", color="y", crop_border=0, quantize=True)


def _load(root: Path, name: str) -> np.ndarray:
    """(H, W, 3) uint8, cropped to a multiple of 4 so x4 down-up keeps the size."""
    image = np.asarray(Image.open(root / "sr" / name).convert("RGB"))
    h, w = (s - s % 4 for s in image.shape[:2])
    return image[:h, :w]


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """uint8 (H, W, 3) -> float (H, W, 3) in [0, 1], blurred: a deblurring input."""
    return ndimage.gaussian_filter(image / 255.0, sigma=(sigma, sigma, 0), mode="reflect")


def _bicubic_down_up(image: np.ndarray, scale: int) -> np.ndarray:
    """uint8 (H, W, 3) -> float (H, W, 3) in [0, 1]: the plain bicubic SR baseline."""
    h, w = image.shape[:2]
    channels = []
    for c in range(3):
        plane = Image.fromarray(image[..., c].astype(np.float32) / 255.0, mode="F")
        small = plane.resize((w // scale, h // scale), Image.Resampling.BICUBIC)
        channels.append(np.asarray(small.resize((w, h), Image.Resampling.BICUBIC)))
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)


def _skimage_scores(pred: np.ndarray, target: np.ndarray, channel_axis: int | None) -> dict:
    pred, target = pred.astype(np.float64), target.astype(np.float64)
    return {
        "psnr": peak_signal_noise_ratio(target, pred, data_range=255),
        "ssim": structural_similarity(
            target,
            pred,
            channel_axis=channel_axis,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
        ),
    }


@pytest.fixture
def pairs(shared_data: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(restored float in [0, 1], reference uint8) pairs of real photographs."""
    out = []
    for i, name in enumerate(IMAGES):
        target = _load(shared_data, name)
        degraded = _gaussian_blur(target, 0.8 + 0.4 * i) if i % 2 else _bicubic_down_up(target, 4)
        out.append((degraded.astype(np.float64), target))
    return out


def test_deblur_protocol_matches_skimage_on_real_images(pairs: list) -> None:
    for pred, target in pairs:
        ours = evaluate_pair(pred, target, DEBLUR)
        pred_u8 = np.round(pred * 255).astype(np.uint8)  # the PNG a user would save
        oracle = _skimage_scores(pred_u8, target, channel_axis=-1)
        assert 20 < ours["psnr"] < 35 and 0.4 < ours["ssim"] < 0.9  # realistic degradations
        # Same float64 arithmetic up to summation order: measured differences are <= 4e-15.
        assert ours["psnr"] == pytest.approx(oracle["psnr"], abs=1e-8)
        assert ours["ssim"] == pytest.approx(oracle["ssim"], abs=1e-10)


def test_sr_protocol_matches_skimage_y_channel_on_real_images(pairs: list) -> None:
    protocol = sr_protocol(4)
    assert protocol.name == "sr-y-bt601-crop4-8bit-ssim2d"
    for pred, target in pairs:
        ours = evaluate_pair(pred, target, protocol)
        pred_u8 = np.round(pred * 255).astype(np.uint8)
        y_pred = rgb2ycbcr(pred_u8)[4:-4, 4:-4, 0]  # skimage: Y in [16, 235] for uint8 input
        y_target = rgb2ycbcr(target)[4:-4, 4:-4, 0]
        oracle = _skimage_scores(y_pred, y_target, channel_axis=None)
        assert ours["psnr"] == pytest.approx(oracle["psnr"], abs=1e-8)
        assert ours["ssim"] == pytest.approx(oracle["ssim"], abs=1e-10)


def test_tensor_and_uint8_inputs_give_the_same_scores(pairs: list) -> None:
    pred, target = pairs[0]
    reference = evaluate_pair(pred, target, DEBLUR)
    as_tensors = evaluate_pair(
        torch.from_numpy(pred).permute(2, 0, 1),
        torch.from_numpy(target / 255.0).permute(2, 0, 1),
        DEBLUR,
    )
    as_uint8 = evaluate_pair(np.round(pred * 255).astype(np.uint8), target, DEBLUR)
    assert as_tensors == pytest.approx(reference, abs=1e-12)
    assert as_uint8 == pytest.approx(reference, abs=1e-12)


def test_mean_of_per_image_psnr_is_not_pooled_psnr(pairs: list) -> None:
    # Papers report the mean of per-image PSNR. PSNR of the MSE pooled over the set is
    # lower (log is concave) and dominated by the worst images, and it is what
    # torchmetrics' PeakSignalNoiseRatio() computes by default without `dim`.
    per_image = [evaluate_pair(p, t, DEBLUR)["psnr"] for p, t in pairs]
    mses = [np.mean((np.round(p * 255) - t) ** 2) for p, t in pairs]
    pooled = 10 * math.log10(255**2 / np.mean(mses))
    assert np.mean(per_image) > pooled + 0.5


def test_y_conversion_hand_values() -> None:
    # BT.601 studio swing: white -> 235, black -> 16, pure red -> 16 + 65.481.
    image = torch.tensor(
        [[[1.0, 1.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 0.0]]]
    )
    y = prepare_for_metrics(image[None].double(), Y_TEST)[0, 0] * 255  # (2, 2)
    expected = [[81.481, 235.0], [16.0, 16 + 128.553]]  # red, white; black, green
    assert torch.allclose(y, torch.tensor(expected, dtype=torch.float64), atol=1e-9)

    # Same in the numpy route, through PSNR of flat images: white vs black differ by 219
    # in Y, red vs black by 65.481.
    def flat(rgb: tuple[float, float, float]) -> np.ndarray:
        return np.broadcast_to(np.array(rgb), (16, 16, 3)).copy()

    white, black, red = flat((1, 1, 1)), flat((0, 0, 0)), flat((1, 0, 0))
    assert evaluate_pair(white, black, Y_TEST)["psnr"] == pytest.approx(20 * math.log10(255 / 219))
    assert evaluate_pair(red, black, Y_TEST)["psnr"] == pytest.approx(20 * math.log10(255 / 65.481))


def test_border_crop_hides_exactly_the_border() -> None:
    rng = np.random.default_rng(0)
    target = rng.integers(0, 256, size=(24, 24, 3), dtype=np.uint8)
    pred = target.copy()
    pred[:2] = 255 - pred[:2]  # change only a 2-pixel frame
    pred[-2:] = 255 - pred[-2:]
    pred[:, :2] = 255 - pred[:, :2]
    pred[:, -2:] = 255 - pred[:, -2:]
    assert evaluate_pair(pred, target, sr_protocol(2)) == {"psnr": math.inf, "ssim": 1.0}
    assert math.isfinite(evaluate_pair(pred, target, sr_protocol(1))["psnr"])

    small_t = torch.rand(1, 3, 8, 8)
    small_p = small_t.clone()
    small_p[..., [0, 1, 6, 7], :] = 1 - small_p[..., [0, 1, 6, 7], :]
    small_p[..., [0, 1, 6, 7]] = 1 - small_p[..., [0, 1, 6, 7]]
    a, b = (
        prepare_for_metrics(small_p, sr_protocol(2)),
        prepare_for_metrics(small_t, sr_protocol(2)),
    )
    assert a.shape == (1, 1, 4, 4)
    assert torch.equal(a, b)


def test_quantisation_rounds_to_the_8bit_grid() -> None:
    target = np.full((16, 16, 3), 100, dtype=np.uint8)
    close = np.full((16, 16, 3), 100.4 / 255)  # rounds back to 100; truncation would too
    above = np.full((16, 16, 3), 100.6 / 255)  # rounds to 101; truncation would give 100
    assert evaluate_pair(close, target, DEBLUR)["psnr"] == math.inf
    assert evaluate_pair(above, target, DEBLUR)["psnr"] == pytest.approx(20 * math.log10(255))
    raw = Protocol(name="raw", color="rgb", crop_border=0, quantize=False)
    assert evaluate_pair(close, target, raw)["psnr"] == pytest.approx(20 * math.log10(255 / 0.4))


@pytest.mark.parametrize("protocol", [DEBLUR, sr_protocol(4)])
def test_torchmetrics_route_matches_the_reference(pairs: list, protocol: Protocol) -> None:
    # Centre crops so images of both orientations stack into one batch.
    preds, targets, reference = [], [], []
    for pred, target in pairs:
        h, w = pred.shape[:2]
        top, left = (h - 288) // 2, (w - 288) // 2  # 288: the smallest side in IMAGES
        p, t = pred[top : top + 288, left : left + 288], target[top : top + 288, left : left + 288]
        # float32, as in training (float64 grouped convs make torchmetrics' SSIM 10x slower).
        preds.append(torch.from_numpy(p).permute(2, 0, 1).float())
        targets.append(torch.from_numpy(t / 255.0).permute(2, 0, 1).float())
        reference.append(evaluate_pair(p, t, protocol))
    x = prepare_for_metrics(torch.stack(preds), protocol)  # (B, C, 288 - 2c, 288 - 2c)
    y = prepare_for_metrics(torch.stack(targets), protocol)

    psnr = PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3), reduction="none")(x, y)
    ssim = StructuralSimilarityIndexMeasure(data_range=1.0, reduction="none")(x, y)
    ref_psnr = torch.tensor([r["psnr"] for r in reference])
    ref_ssim = torch.tensor([r["ssim"] for r in reference])
    # The same PSNR up to float32 rounding (measured <= 2e-5 dB).
    assert torch.allclose(psnr, ref_psnr, rtol=0, atol=1e-4)
    # torchmetrics reflect-pads the border and averages the SSIM map over the whole image,
    # not only the valid region, so it reads slightly differently: up to 0.0085 on these
    # 288x288 crops (the 5-pixel frame is 7% of the area), less on full-size images.
    assert torch.allclose(ssim, ref_ssim, rtol=0, atol=1e-2)

    # batch_scores (what validation logs), accumulated over batches the way the system
    # does (a float32 MeanMetric of per-image values), averages the per-image values.
    p, t = torch.stack(preds), torch.stack(targets)
    means = {"psnr": MeanMetric(), "ssim": MeanMetric()}
    for part in (slice(0, 3), slice(3, None)):
        for key, values in batch_scores(p[part], t[part], protocol).items():
            means[key].update(values)
    assert means["psnr"].compute().item() == pytest.approx(ref_psnr.mean().item(), abs=1e-4)
    assert means["ssim"].compute().item() == pytest.approx(ssim.mean().item(), abs=1e-6)


def test_protocol_lookup_and_names() -> None:
    assert get_protocol("deblur", 1) is DEBLUR
    assert DEBLUR.name == "deblur-rgb-8bit-ssim2d" and DEBLUR.crop_border == 0
    assert get_protocol("sr", 2) == sr_protocol(2)
    assert get_protocol("sr-rgb", 4).name == "sr-rgb-crop4-8bit-ssim2d"
    with pytest.raises(
        ValueError, match=r"'gopro'.*expected 'deblur', 'deblur-matlab3d', 'sr' or 'sr-rgb'"
    ):
        get_protocol("gopro", 1)
    with pytest.raises(ValueError, match="differ in size"):
        evaluate_pair(np.zeros((16, 16, 3)), np.zeros((16, 17, 3)), DEBLUR)
