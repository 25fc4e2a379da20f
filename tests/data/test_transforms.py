from __future__ import annotations

import numpy as np
import pytest
import torch

from restoregan.data.degradations import downsample_bicubic
from restoregan.data.io import DatasetError, to_tensor
from restoregan.data.transforms import (
    PairedColorJitter,
    paired_center_crop,
    paired_flip_rot,
    paired_random_crop,
    random_crop_position,
)


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_identical_pair_stays_identical_through_crop_and_augmentation():
    image = random_image(40, 50)
    for _ in range(20):
        a, b = paired_random_crop(image, image.copy(), crop_size=16)
        assert a.shape == (16, 16, 3)
        np.testing.assert_array_equal(a, b)
        x, y = paired_flip_rot(to_tensor(a), to_tensor(b))
        x, y = PairedColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)(x, y)
        assert torch.equal(x, y) and x.min() >= 0 and x.max() <= 1


def test_crop_is_taken_at_the_drawn_position():
    image = random_image(40, 50)
    torch.manual_seed(5)
    top, left = random_crop_position(40, 50, crop_size=16)
    torch.manual_seed(5)
    crop, _ = paired_random_crop(image, image, crop_size=16)
    np.testing.assert_array_equal(crop, image[top : top + 16, left : left + 16])


def test_sr_crop_matches_downsampled_position():
    hr = random_image(64, 80)
    lr = downsample_bicubic(hr, 4)
    for _ in range(10):
        lr_crop, hr_crop = paired_random_crop(lr, hr, crop_size=32, scale=4)
        assert lr_crop.shape == (8, 8, 3) and hr_crop.shape == (32, 32, 3)
        # the LR crop is the LR image at HR position / 4: find it by exact match
        hits = [
            (r, c)
            for r in range(0, 64 - 31, 4)
            for c in range(0, 80 - 31, 4)
            if np.array_equal(hr[r : r + 32, c : c + 32], hr_crop)
        ]
        (r, c), *_ = hits
        np.testing.assert_array_equal(lr_crop, lr[r // 4 : r // 4 + 8, c // 4 : c // 4 + 8])


def test_center_crop_is_deterministic_and_centred():
    image = random_image(20, 30)
    a, b = paired_center_crop(image, image, crop_size=10)
    np.testing.assert_array_equal(a, image[5:15, 10:20])
    np.testing.assert_array_equal(a, b)


def test_crop_larger_than_image_names_image_size_and_crop():
    with pytest.raises(DatasetError, match=r"'blur/0001\.png' is 30x20.*crop 32x32"):
        paired_random_crop(
            random_image(20, 30), random_image(20, 30), crop_size=32, name="blur/0001.png"
        )


def test_crop_must_be_multiple_of_scale():
    with pytest.raises(DatasetError, match="multiple of the scale"):
        paired_random_crop(random_image(8, 8), random_image(32, 32), crop_size=30, scale=4)


def test_flip_rot_covers_all_symmetries_and_keeps_pairs_aligned():
    x = torch.arange(9.0).reshape(1, 3, 3)
    seen = set()
    for _ in range(200):
        a, b = paired_flip_rot(x, x + 100)
        assert torch.equal(a + 100, b)
        seen.add(tuple(a.flatten().tolist()))
    assert len(seen) == 8


def test_augmentation_reproduced_by_torch_seed_and_rng_state():
    image = random_image(40, 50)

    def run():
        a, _ = paired_random_crop(image, image, crop_size=16)
        x, _ = paired_flip_rot(to_tensor(a), to_tensor(a))
        return PairedColorJitter(brightness=0.5, hue=0.2)(x, x)[0]

    torch.manual_seed(123)
    first = run()
    torch.manual_seed(123)
    assert torch.equal(first, run())
    state = torch.get_rng_state()
    after_state = run()
    torch.set_rng_state(state)
    assert torch.equal(after_state, run())


def test_color_jitter_changes_colours_and_validates():
    x = torch.rand(3, 8, 8)
    torch.manual_seed(0)
    y, _ = PairedColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2)(x, x)
    assert not torch.allclose(x, y)
    assert torch.equal(PairedColorJitter()(x, x)[0], x)
    with pytest.raises(ValueError):
        PairedColorJitter(hue=0.7)
