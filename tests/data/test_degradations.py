from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restoregan.data.degradations import (
    TrajectoryKernel,
    blur_image,
    downsample_bicubic,
    gaussian_kernel,
    load_levin_kernels,
    random_trajectory,
    rasterise_trajectory,
    resize_bicubic,
    resize_like_pil,
)
from restoregan.data.io import DatasetError, read_image


def _centroid(kernel: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(kernel.shape)
    return float((kernel * rows).sum()), float((kernel * cols).sum())


def test_trajectory_has_the_requested_length():
    traj = random_trajectory(np.random.default_rng(0), num_steps=2000, max_length=60.0)
    assert traj.shape == (2000,) and traj[0] == 0
    np.testing.assert_allclose(np.abs(np.diff(traj)).sum(), 60.0, rtol=1e-9)


@pytest.mark.parametrize("expl", [0.005, None])
def test_trajectory_kernels_are_normalised_centred_and_deterministic(expl):
    sampler = TrajectoryKernel(expl=expl)
    for seed in range(5):
        kernel = sampler.sample(np.random.default_rng(seed))
        assert kernel.dtype == np.float32 and kernel.ndim == 2
        assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert kernel.min() >= 0
        np.testing.assert_allclose(kernel.sum(), 1.0, rtol=1e-5)
        # centred on its centre of mass: blurring does not shift the image
        np.testing.assert_allclose(_centroid(kernel), [kernel.shape[0] // 2] * 2, atol=1e-3)
        np.testing.assert_array_equal(kernel, sampler.sample(np.random.default_rng(seed)))
    a, b = (sampler.sample(np.random.default_rng(s)) for s in (1, 2))
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_longer_exposure_spreads_the_psf():
    traj = random_trajectory(np.random.default_rng(3))
    short, full = (rasterise_trajectory(traj, exposure=e) for e in (0.01, 1.0))
    assert short.max() > full.max()
    with pytest.raises(ValueError, match="exposure"):
        rasterise_trajectory(traj, exposure=0.0)


def test_kernel_params_for_manifests():
    params = TrajectoryKernel().params()
    assert params["type"] == "trajectory" and params["num_steps"] == 2000
    assert params["expl"] == 0.005 and params["exposures"] == (0.01, 0.1, 0.5, 1.0)


def test_blur_with_delta_is_identity_and_keeps_size():
    image = np.random.default_rng(0).random((13, 17, 3)).astype(np.float32)
    delta = np.zeros((5, 5), np.float32)
    delta[2, 2] = 1
    out = blur_image(image, delta)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, image, atol=1e-5)


def test_blur_direction_and_symmetric_border():
    image = np.zeros((9, 9), np.float32)
    image[4, 4] = 1
    kernel = np.zeros((3, 3), np.float32)
    kernel[1, 2] = 1  # convolution moves content right by one pixel
    np.testing.assert_allclose(blur_image(image, kernel)[4, 5], 1.0, atol=1e-6)
    flat = np.full((6, 7, 3), 0.3, np.float32)
    big = gaussian_kernel(3.0)  # larger than the image: symmetric padding still works
    np.testing.assert_allclose(blur_image(flat, big), flat, atol=1e-5)


def test_blur_rejects_uint8():
    with pytest.raises(TypeError, match="float"):
        blur_image(np.zeros((4, 4, 3), np.uint8), gaussian_kernel(1.0))


def test_gaussian_kernel():
    kernel = gaussian_kernel(1.5)
    assert kernel.shape == (11, 11)
    np.testing.assert_allclose(kernel.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(kernel, kernel.T)
    assert kernel[5, 5] == kernel.max()


def test_levin_kernels_missing(tmp_path):
    with pytest.raises(DatasetError, match=r"levin09_1\.npy"):
        load_levin_kernels(tmp_path)


def test_levin_kernels_real(shared_data):
    kernels = load_levin_kernels(shared_data / "kernels" / "levin09")
    assert len(kernels) == 8
    for k in kernels:
        assert 13 <= k.shape[0] <= 27 and k.min() >= 0
        np.testing.assert_allclose(k.sum(), 1.0, rtol=1e-5)


def test_downsample_sizes_and_constant_image():
    image = np.full((17, 12, 3), 0.25, np.float32)
    out = downsample_bicubic(image, 4)
    assert out.shape == (5, 3, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25, atol=1e-6)
    assert downsample_bicubic(np.full((8, 8, 3), 9, np.uint8), 2).dtype == np.uint8


def test_downsample_antialiases():
    # A one-pixel checkerboard is above the new Nyquist limit: antialiasing averages it out.
    checker = (np.indices((32, 32)).sum(0) % 2).astype(np.float32)
    np.testing.assert_allclose(downsample_bicubic(checker, 4), 0.5, atol=0.02)


def test_resize_upscale_shape():
    assert resize_bicubic(np.zeros((4, 6), np.float32), (8, 12)).shape == (8, 12)


def test_downsample_matches_set5_lr(shared_data):
    """MATLAB-style bicubic reproduces the released Set5 x4 LR images (to 1 grey level)."""
    set5 = shared_data / "sr" / "Set5"
    for hr_path in sorted((set5 / "HR").glob("*.png")):
        hr = read_image(hr_path)
        lr = read_image(set5 / "LR_bicubic" / "X4" / f"{hr_path.stem}x4.png")
        hr = hr[: lr.shape[0] * 4, : lr.shape[1] * 4]
        diff = np.abs(downsample_bicubic(hr, 4).astype(int) - lr)
        assert diff.max() <= 1, hr_path.name
        assert (diff > 0).mean() < 0.005, hr_path.name


def test_resize_like_pil_is_pils_bicubic_for_images_and_masks():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (36, 64, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(image).resize((32, 18), Image.BICUBIC))
    np.testing.assert_array_equal(resize_like_pil(image, (18, 32)), expected)
    mask = (rng.random((36, 64)) > 0.5).astype(np.float32)  # sharp edges overshoot in bicubic
    small = resize_like_pil(mask, (18, 32))
    assert small.shape == (18, 32) and small.dtype == np.float32
    assert small.min() >= 0.0 and small.max() <= 1.0 and 0.3 < small.mean() < 0.7
