"""SSIM "matlab3d" (MATLAB `ssim()` on an RGB array) against an independent implementation.

The oracle below builds the full 11x11x11 Gaussian kernel, pads the volume by edge
replication and slides the window with an FFT convolution: none of the library's
separable `correlate1d` code path is shared.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from skimage import data as skdata

from restoregan.metrics import (
    DEBLUR,
    DEBLUR_MATLAB3D,
    Protocol,
    evaluate_pair,
    get_protocol,
    ssim_2d,
    ssim_matlab3d,
)


def _oracle_matlab3d(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """MATLAB's ssim on a volume, written from its definition: full 3-D kernel, 'replicate'."""
    sigma, size = 1.5, 2 * int(np.ceil(3 * 1.5)) + 1  # MATLAB: 2 * ceil(3 * Radius) + 1
    r = size // 2
    g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma**2))
    kernel = g[:, None, None] * g[None, :, None] * g[None, None, :]
    kernel /= kernel.sum()

    def filt(v: np.ndarray) -> np.ndarray:
        padded = np.pad(v, r, mode="edge")  # pads H, W and the channel axis alike
        return signal.fftconvolve(padded, kernel, mode="valid")

    a, b = a.astype(np.float64), b.astype(np.float64)
    mu_a, mu_b = filt(a), filt(b)
    s_aa = filt(a * a) - mu_a * mu_a
    s_bb = filt(b * b) - mu_b * mu_b
    s_ab = filt(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    num = (2 * mu_a * mu_b + c1) * (2 * s_ab + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (s_aa + s_bb + c2)
    assert num.shape == a.shape  # the map covers every voxel: MATLAB crops nothing
    return float(np.mean(num / den))


@pytest.fixture(scope="module")
def photo_pair() -> tuple[np.ndarray, np.ndarray]:
    """A real photograph (uint8) and a motion-blurred, noisy copy of it (uint8)."""
    sharp = skdata.astronaut()[80:208, 140:300]  # (128, 160, 3)
    kernel = np.zeros((9, 9))
    kernel[4, :] = 1.0 / 9.0  # horizontal motion blur
    blurred = np.stack(
        [
            signal.convolve2d(sharp[..., c] / 255.0, kernel, mode="same", boundary="symm")
            for c in range(3)
        ],
        axis=-1,
    )
    noisy = blurred + np.random.default_rng(0).normal(0, 0.01, blurred.shape)
    return sharp, np.round(np.clip(noisy, 0, 1) * 255).astype(np.uint8)


def test_matches_an_independent_3d_implementation(photo_pair) -> None:
    sharp, blurred = photo_pair
    expected = _oracle_matlab3d(blurred, sharp, 255.0)
    assert ssim_matlab3d(blurred.astype(float), sharp.astype(float), 255.0) == pytest.approx(
        expected, abs=1e-10
    )
    # The same value through the protocol (uint8 in, 8-bit grid: nothing to round).
    got = evaluate_pair(blurred, sharp, DEBLUR_MATLAB3D)
    assert got["ssim"] == pytest.approx(expected, abs=1e-10)
    assert 0.3 < expected < 0.95  # a real, imperfect restoration, not a degenerate case


def test_differs_from_2d_and_psnr_does_not(photo_pair) -> None:
    sharp, blurred = photo_pair
    three_d = evaluate_pair(blurred, sharp, DEBLUR_MATLAB3D)
    two_d = evaluate_pair(blurred, sharp, DEBLUR)
    assert three_d["psnr"] == two_d["psnr"]
    # Mixing channels and keeping the border changes the number: the protocol matters.
    assert abs(three_d["ssim"] - two_d["ssim"]) > 1e-3


def test_channel_axis_is_part_of_the_window(photo_pair) -> None:
    """Channels are neighbours in the window: their order matters, up to the window's mirror
    symmetry; per-channel "2d" cannot tell any order apart."""
    sharp, blurred = (x.astype(np.float64) for x in photo_pair)
    base = ssim_matlab3d(blurred, sharp, 255.0)
    cyclic = [1, 2, 0]  # G, B, R: other channels become neighbours at the padded ends
    assert abs(ssim_matlab3d(blurred[..., cyclic], sharp[..., cyclic], 255.0) - base) > 1e-6
    assert ssim_matlab3d(blurred[..., ::-1], sharp[..., ::-1], 255.0) == pytest.approx(base)
    assert ssim_2d(blurred[..., cyclic], sharp[..., cyclic], 255.0) == pytest.approx(
        ssim_2d(blurred, sharp, 255.0)
    )


def test_identical_images_score_one_and_names() -> None:
    image = skdata.coffee()[:64, :64]
    assert ssim_matlab3d(image, image, 255.0) == pytest.approx(1.0)
    assert get_protocol("deblur-matlab3d", scale=1) is DEBLUR_MATLAB3D
    assert DEBLUR_MATLAB3D.name == "deblur-rgb-8bit-ssim-matlab3d"
    with pytest.raises(ValueError, match="invalid evaluation protocol"):
        Protocol(name="y3d", color="y", crop_border=0, quantize=True, ssim="matlab3d")
