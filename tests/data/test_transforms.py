from __future__ import annotations

import numpy as np
import pytest
import torch

from restoregan.data.degradations import downsample_bicubic
from restoregan.data.io import DatasetError
from restoregan.data.transforms import (
    PairedAugment,
    PairedColorJitter,
    center_crop_position,
    crop_pair,
    item_rngs,
    random_crop_position,
    split_key,
)
from tests.data.conftest import random_image

JITTER = PairedColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)


def _rng(i: int = 0) -> np.random.Generator:
    return item_rngs(0, 0, i).augment


def test_identical_pair_stays_identical_through_crop_and_augmentation():
    image = random_image(40, 50)
    augment = PairedAugment(color_jitter=JITTER)
    for i in range(20):
        rngs = item_rngs(0, 0, i)
        top, left = random_crop_position(40, 50, crop_size=16, rng=rngs.crop)
        a, b, _ = crop_pair(image, image.copy(), None, top=top, left=left, crop_size=16)
        assert a.shape == (16, 16, 3)
        x, y, _ = augment(a, b, None, rngs.augment)
        np.testing.assert_array_equal(x, y)


def test_crop_is_the_window_at_the_position_and_reaches_every_position():
    image, other = random_image(20, 23), random_image(20, 23, seed=1)
    mask = np.random.default_rng(1).random((20, 23)).astype(np.float32)
    seen = set()
    for i in range(400):
        top, left = random_crop_position(20, 23, crop_size=16, rng=item_rngs(0, 0, i).crop)
        a, b, m = crop_pair(image, other, mask, top=top, left=left, crop_size=16)
        np.testing.assert_array_equal(a, image[top : top + 16, left : left + 16])
        np.testing.assert_array_equal(b, other[top : top + 16, left : left + 16])
        np.testing.assert_array_equal(m, mask[top : top + 16, left : left + 16])
        seen.add((top, left))
    # 5 x 8 positions, the last row and column included (an off-by-one loses them).
    assert seen == {(t, c) for t in range(5) for c in range(8)}


def test_sr_crop_matches_downsampled_position():
    hr = random_image(64, 80)
    lr = downsample_bicubic(hr, 4)
    positions = set()
    for i in range(30):
        top, left = random_crop_position(64, 80, crop_size=32, scale=4, rng=item_rngs(0, 0, i).crop)
        assert top % 4 == 0 and left % 4 == 0
        positions.add((top, left))
        lr_crop, hr_crop, _ = crop_pair(lr, hr, None, top=top, left=left, crop_size=32, scale=4)
        assert lr_crop.shape == (8, 8, 3) and hr_crop.shape == (32, 32, 3)
        np.testing.assert_array_equal(hr_crop, hr[top : top + 32, left : left + 32])
        np.testing.assert_array_equal(
            lr_crop, lr[top // 4 : top // 4 + 8, left // 4 : left // 4 + 8]
        )
    assert max(t for t, _ in positions) == 32 and max(c for _, c in positions) == 48


def test_center_crop_is_centred():
    assert center_crop_position(20, 30, crop_size=10) == (5, 10)
    assert center_crop_position(64, 80, crop_size=32, scale=4) == (16, 24)


def test_crop_larger_than_image_names_image_size_and_crop():
    with pytest.raises(DatasetError, match=r"'blur/0001\.png' is 30x20.*crop 32x32"):
        random_crop_position(20, 30, crop_size=32, name="blur/0001.png", rng=_rng())


def test_crop_must_be_multiple_of_scale():
    with pytest.raises(DatasetError, match="multiple of the scale"):
        random_crop_position(32, 32, crop_size=30, scale=4, rng=_rng())


def test_flips_and_rotations_cover_all_symmetries_and_move_the_mask_with_the_pair():
    x = np.arange(9, dtype=np.uint8).reshape(3, 3, 1).repeat(3, axis=2)
    mask = np.arange(9, dtype=np.float32).reshape(3, 3) / 8
    augment = PairedAugment()
    seen = set()
    for i in range(200):
        a, b, m = augment(x, x + 100, mask, _rng(i))
        np.testing.assert_array_equal(a + 100, b)
        # the mask went through the same symmetry as the images
        np.testing.assert_array_equal(m * 8, a[..., 0].astype(np.float32))
        seen.add(a[..., 0].tobytes())
    assert len(seen) == 8


def test_sr_pairs_flip_on_their_own_grids():
    lr = random_image(4, 4, seed=1)
    hr = np.kron(lr, np.ones((4, 4, 1), dtype=np.uint8))  # nearest-neighbour x4
    for i in range(20):
        a, b, _ = PairedAugment()(lr, hr, None, _rng(i))
        np.testing.assert_array_equal(np.kron(a, np.ones((4, 4, 1), dtype=np.uint8)), b)


def test_augmentation_is_a_function_of_seed_epoch_and_index():
    image = random_image(40, 50)
    augment = PairedAugment(color_jitter=PairedColorJitter(brightness=0.5, hue=0.2))

    def run(seed, epoch, index):
        rngs = item_rngs(seed, epoch, index)
        top, left = random_crop_position(40, 50, crop_size=16, rng=rngs.crop)
        a, _, _ = crop_pair(image, image, None, top=top, left=left, crop_size=16)
        return augment(a, a, None, rngs.augment)[0]

    first = run(1, 2, 3)
    torch.manual_seed(999)  # the global RNGs play no part
    np.random.seed(999)
    np.testing.assert_array_equal(first, run(1, 2, 3))
    others = [run(2, 2, 3), run(1, 3, 3), run(1, 2, 4)]
    assert all(not np.array_equal(first, o) for o in others)


def test_keys_are_indices_or_epoch_index_pairs():
    assert split_key(5) == (0, 5)
    assert split_key((3, 5)) == (3, 5)
    assert split_key(np.int64(2)) == (0, 2)
    with pytest.raises(TypeError):
        split_key("5")
    with pytest.raises(ValueError, match="epoch"):
        split_key((-1, 2))


def test_color_jitter_is_identical_on_both_images_and_leaves_the_mask():
    a = random_image(16, 16, seed=3)
    b = random_image(16, 16, seed=4)
    mask = np.full((16, 16), 0.25, np.float32)
    bright = PairedAugment(
        hflip=False, vflip=False, rot90=False, color_jitter=PairedColorJitter(brightness=0.5)
    )
    factors = set()
    for i in range(10):
        x, y, m = bright(a, b, mask, _rng(i))
        np.testing.assert_array_equal(m, mask)
        # brightness multiplies: the same factor on both images (pixels that did not clip)
        ok_a, ok_b = (a > 20) & (x < 255), (b > 20) & (y < 255)
        fa = np.median(x[ok_a] / a[ok_a])
        fb = np.median(y[ok_b] / b[ok_b])
        assert abs(fa - fb) < 0.02
        factors.add(round(float(fa), 2))
    assert len(factors) > 5  # drawn per item, not fixed
    full = PairedAugment(hflip=False, vflip=False, rot90=False, color_jitter=JITTER)
    x, _, _ = full(a, a, None, _rng(0))
    assert not np.array_equal(x, a)


def test_color_jitter_settings():
    assert PairedColorJitter().transform() is None  # nothing to do: pixels untouched
    image = random_image(8, 8)
    off = PairedAugment(hflip=False, vflip=False, rot90=False, color_jitter=PairedColorJitter())
    np.testing.assert_array_equal(off(image, image, None, _rng())[0], image)
    with pytest.raises(ValueError):
        PairedColorJitter(hue=0.7)
