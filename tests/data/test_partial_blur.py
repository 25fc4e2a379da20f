"""Partial blur synthesis: coverage, determinism, exact sharp pixels, seamless blend, kernels."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from restoregan.data.degradations import TrajectoryKernel, blur_image
from restoregan.data.io import DatasetError
from restoregan.data.partial_blur import (
    SHAPES,
    GaussianKernel,
    RegionMaskSampler,
    blend,
    make_kernel_sampler,
    synthesize_partial_blur,
)

SMALL_MOTION = TrajectoryKernel(num_steps=200, max_length=15.0)


@pytest.fixture(scope="module")
def sharp() -> np.ndarray:
    return skdata.astronaut()[::4, ::4][:96, :120].copy()  # (96, 120, 3) uint8


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("shapes", [SHAPES, ("ellipse",), ("polygon",), ("stroke",)])
def test_coverage_is_drawn_within_the_range(shapes: tuple[str, ...]) -> None:
    sampler = RegionMaskSampler(shapes=shapes)
    coverages = [sampler.sample(_rng(seed), (96, 120)).mean() for seed in range(12)]
    assert all(0.2 <= c <= 0.6 for c in coverages), coverages
    assert max(coverages) - min(coverages) > 0.15  # drawn, not fixed


@pytest.mark.parametrize(("coverage", "size"), [((0.05, 0.1), (64, 64)), ((0.7, 0.8), (40, 90))])
def test_other_coverage_ranges_and_sizes(coverage: tuple[float, float], size: tuple) -> None:
    sampler = RegionMaskSampler(coverage=coverage, feather=6.0)
    for seed in range(6):
        mask = sampler.sample(_rng(seed), size)
        assert mask.shape == size and mask.dtype == np.float32
        assert coverage[0] <= mask.mean() <= coverage[1]


def test_the_mask_is_feathered_and_on_the_8_bit_grid() -> None:
    mask = RegionMaskSampler(feather=10.0).sample(_rng(0), (96, 120))
    assert mask.min() == 0.0 and mask.max() == 1.0
    assert ((mask > 0) & (mask < 1)).mean() > 0.02  # a real ramp, not a hard edge
    np.testing.assert_array_equal(np.round(mask * 255) / 255, mask)
    # Smoothstep over 10 pixels: at most 1.5 / 10 between neighbours (+ rounding).
    steps = max(np.abs(np.diff(mask, axis=0)).max(), np.abs(np.diff(mask, axis=1)).max())
    assert steps <= 1.5 / 10 + 1 / 255
    hard = RegionMaskSampler(feather=0.0).sample(_rng(0), (96, 120))
    assert set(np.unique(hard)) == {0.0, 1.0}


def test_same_seed_same_result_other_seed_other_result(sharp: np.ndarray) -> None:
    a = synthesize_partial_blur(sharp, _rng(7), kernel=SMALL_MOTION)
    b = synthesize_partial_blur(sharp, _rng(7), kernel=SMALL_MOTION)
    c = synthesize_partial_blur(sharp, _rng(8), kernel=SMALL_MOTION)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.mask, c.mask) and not np.array_equal(a.blurred, c.blurred)


@pytest.mark.parametrize("kernel", [GaussianKernel(), SMALL_MOTION], ids=["gaussian", "motion"])
def test_pixels_outside_the_mask_are_the_sharp_pixels(sharp: np.ndarray, kernel) -> None:
    out = synthesize_partial_blur(sharp, _rng(1), kernel=kernel)
    assert out.blurred.dtype == np.uint8 and out.blurred.shape == sharp.shape
    assert out.mask.shape == sharp.shape[:2]
    outside, inside = out.mask == 0, out.mask == 1
    assert outside.any() and inside.any()
    np.testing.assert_array_equal(out.blurred[outside], sharp[outside])
    full = blur_image(sharp / np.float32(255.0), out.kernel) * 255.0
    np.testing.assert_array_equal(out.blurred[inside], np.rint(full[inside]).astype(np.uint8))
    assert (out.blurred[inside] != sharp[inside]).mean() > 0.5  # really blurred there
    # In between: the blend weight is the mask.
    expected = out.mask[..., None] * full + (1 - out.mask[..., None]) * sharp
    assert np.abs(out.blurred - expected).max() <= 0.5 + 1e-3


def test_the_blend_has_no_seam(sharp: np.ndarray) -> None:
    """Across a neighbour pair the blend can change by no more than its two sources do plus
    the weight change times the blur's effect; with a hard mask that extra jump is the
    seam, with the feathered one it stays within 1.5 / feather of it."""
    full = blur_image(sharp / np.float32(255.0), GaussianKernel(size=21).sample(_rng(0))) * 255

    def seam(feather: float) -> float:
        mask = RegionMaskSampler(feather=feather).sample(_rng(3), sharp.shape[:2])
        out = blend(sharp, full, mask).astype(np.float64)
        s = sharp.astype(np.float64)
        excess = np.abs(np.diff(out, axis=1)) - np.maximum(
            np.abs(np.diff(s, axis=1)), np.abs(np.diff(full, axis=1))
        )
        return float(excess.max())

    difference = np.abs(full - sharp).max()
    assert seam(12.0) <= 1.5 / 12.0 * difference + 1.0
    assert seam(0.0) > 3 * (1.5 / 12.0 * difference + 1.0)


def test_gaussian_kernel_defaults_follow_opencv() -> None:
    k = GaussianKernel().sample(_rng(0))
    assert k.shape == (71, 71) and k.dtype == np.float32
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(k, k[::-1, ::-1])
    assert np.unravel_index(k.argmax(), k.shape) == (35, 35)  # centred: no shift
    # OpenCV's sigma for size 71 is 0.3 * (35 - 1) + 0.8 = 11.0.
    t = np.arange(71) - 35.0
    profile = np.exp(-(t**2) / (2 * 11.0**2))
    np.testing.assert_allclose(k[35] / k[35, 35], profile, rtol=1e-5)


def test_gaussian_sigma_range_is_drawn_and_fixed_sigma_is_used() -> None:
    drawn = [GaussianKernel(size=31, sigma=[2.0, 6.0]).sample(_rng(s)).max() for s in range(4)]
    assert len(set(drawn)) == 4
    fixed = GaussianKernel(size=31, sigma=2.0).sample(_rng(0))
    assert fixed[15, 15] > GaussianKernel(size=31, sigma=6.0).sample(_rng(0))[15, 15]


def test_kernel_factory_and_errors() -> None:
    assert isinstance(make_kernel_sampler("gaussian", size=11), GaussianKernel)
    motion = make_kernel_sampler("motion", max_length=20.0)
    assert isinstance(motion, TrajectoryKernel) and motion.max_length == 20.0
    with pytest.raises(ValueError, match="'gaussian' or 'motion'"):
        make_kernel_sampler("defocus")
    with pytest.raises(ValueError, match="odd"):
        GaussianKernel(size=70)


def test_bad_settings_and_inputs_raise_clear_errors(sharp: np.ndarray) -> None:
    with pytest.raises(ValueError, match="coverage"):
        RegionMaskSampler(coverage=(0.6, 0.2))
    with pytest.raises(ValueError, match="coverage"):
        RegionMaskSampler(coverage=(0.0, 1.0))
    with pytest.raises(ValueError, match="shapes"):
        RegionMaskSampler(shapes=("circle",))
    with pytest.raises(DatasetError, match="uint8"):
        synthesize_partial_blur(sharp / 255.0, _rng(0))


def test_grayscale_images_and_params() -> None:
    gray = skdata.camera()[::8, ::8]
    out = synthesize_partial_blur(gray, _rng(0), kernel=GaussianKernel(size=15))
    assert out.blurred.shape == gray.shape and out.mask.shape == gray.shape
    np.testing.assert_array_equal(out.blurred[out.mask == 0], gray[out.mask == 0])
    assert RegionMaskSampler().params()["coverage"] == (0.2, 0.6)
    assert GaussianKernel().params() == {"type": "gaussian", "size": 71, "sigma": None}
