"""Classical baselines on real photographs blurred with a known kernel.

Photos: the Set14 / BSD100 reference images when /work/shared/data is there, otherwise
the photographs bundled with scikit-image. Kernels: Levin et al.'s recorded camera
shakes when present, otherwise camera-shake trajectories (DeblurGAN's synthesis).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from restoregan import baselines
from restoregan.data.degradations import TrajectoryKernel, blur_image
from restoregan.metrics import DEBLUR, evaluate_pair
from tests.helpers import SHARED_DATA


def _photos() -> list[np.ndarray]:
    shared = [
        SHARED_DATA / "sr" / "Set14" / "HR" / "img_004.png",
        SHARED_DATA / "sr" / "BSD100" / "HR" / "img_002.png",
    ]
    if all(p.is_file() for p in shared):
        return [np.asarray(Image.open(p).convert("RGB"))[:192, :192] for p in shared]
    return [skdata.astronaut()[:192, 100:292], skdata.coffee()[100:292, 200:392]]


def _kernels() -> list[np.ndarray]:
    levin = SHARED_DATA / "kernels" / "levin09"
    if levin.is_dir():
        ks = [np.load(levin / f"levin09_{i}.npy").astype(np.float64) for i in (1, 4)]
        return [k / k.sum() for k in ks]
    rng = np.random.default_rng(3)
    return [TrajectoryKernel().sample(rng) for _ in range(2)]


def _cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(sharp float, blurred 8-bit-rounded float, kernel) for every photo x kernel."""
    out = []
    for photo in _photos():
        sharp = photo.astype(np.float32) / 255.0
        for kernel in _kernels():
            blurred = np.round(blur_image(sharp, kernel) * 255.0) / 255.0  # as a PNG holds it
            out.append((sharp, blurred.astype(np.float32), kernel))
    return out


CASES = _cases()


@pytest.mark.parametrize("method", ["wiener", "richardson_lucy"])
def test_true_kernel_deconvolution_beats_the_blurred_input(method: str) -> None:
    restore = getattr(baselines, method)
    gains = []
    for sharp, blurred, kernel in CASES:
        restored = restore(blurred, kernel)
        assert restored.shape == sharp.shape and restored.dtype == np.float32
        assert restored.min() >= 0.0 and restored.max() <= 1.0
        given = evaluate_pair(blurred, sharp, DEBLUR)["psnr"]
        got = evaluate_pair(restored, sharp, DEBLUR)["psnr"]
        gains.append(got - given)
    # Every image improves, by a margin no rounding or border effect could produce.
    assert min(gains) > 1.0, gains
    assert np.mean(gains) > 2.0, gains


def test_a_wrong_kernel_does_not_help() -> None:
    """The gain comes from the kernel: deconvolving with a transposed one loses it."""
    sharp, blurred, kernel = CASES[0]
    right = evaluate_pair(baselines.wiener(blurred, kernel), sharp, DEBLUR)["psnr"]
    wrong = evaluate_pair(baselines.wiener(blurred, kernel.T[::-1]), sharp, DEBLUR)["psnr"]
    assert right > wrong + 1.0


def test_nl_means_removes_noise_but_not_blur() -> None:
    sharp, blurred, _ = CASES[0]
    noisy = np.clip(blurred + np.random.default_rng(0).normal(0, 0.05, blurred.shape), 0, 1)
    noisy = noisy.astype(np.float32)
    for joint in (False, True):
        denoised = baselines.nl_means(noisy, sigma=0.05, joint_channels=joint)
        # Closer to the noise-free blurred image than the noisy one was...
        assert (
            evaluate_pair(denoised, blurred, DEBLUR)["psnr"]
            > evaluate_pair(noisy, blurred, DEBLUR)["psnr"] + 3
        )
    # ...but on a noise-free blurred input it changes little: it knows nothing of the blur.
    same = baselines.nl_means(blurred)
    assert (
        abs(
            evaluate_pair(same, sharp, DEBLUR)["psnr"]
            - evaluate_pair(blurred, sharp, DEBLUR)["psnr"]
        )
        < 0.5
    )


def test_inputs_are_checked() -> None:
    _, blurred, kernel = CASES[0]
    with pytest.raises(ValueError, match=r"\(H, W, 3\) float image"):
        baselines.wiener((blurred * 255).astype(np.uint8), kernel)
    with pytest.raises(ValueError, match="sums to 1"):
        baselines.richardson_lucy(blurred, kernel * 2)
