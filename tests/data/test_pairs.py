from __future__ import annotations

import numpy as np
import pytest
import torch

from restoregan.data.degradations import TrajectoryKernel, downsample_bicubic, gaussian_kernel
from restoregan.data.io import DatasetError, ImageReadError, read_image, write_image
from restoregan.data.pairs import DegradedPairDataset, PairedImageDataset, degrade_region


def _check_item(item, in_shape, tgt_shape):
    assert set(item) == {"input", "target", "name"}
    assert item["input"].shape == in_shape and item["target"].shape == tgt_shape
    for key in ("input", "target"):
        assert item[key].dtype == torch.float32
        assert float(item[key].min()) >= 0.0 and float(item[key].max()) <= 1.0


def test_train_items_are_aligned_crops(tmp_path, make_image):
    make_image(tmp_path / "a" / "x.png", 32, 48, seed=1)
    make_image(tmp_path / "b" / "x.png", 32, 48, seed=1)  # identical content
    ds = PairedImageDataset(
        pairs=[(tmp_path / "a/x.png", tmp_path / "b/x.png", "x.png")], train=True, crop_size=16
    )
    for _ in range(10):
        item = ds[0]
        _check_item(item, (3, 16, 16), (3, 16, 16))
        assert torch.equal(item["input"], item["target"]) and item["name"] == "x.png"


def test_eval_full_frame_and_centre_crop(tmp_path, make_image):
    a = make_image(tmp_path / "a.png", 32, 48, seed=1)
    make_image(tmp_path / "b.png", 32, 48, seed=2)
    pairs = [(tmp_path / "a.png", tmp_path / "b.png", "b.png")]
    _check_item(PairedImageDataset(pairs=pairs, train=False)[0], (3, 32, 48), (3, 32, 48))
    item = PairedImageDataset(pairs=pairs, train=False, eval_crop=16)[0]
    np.testing.assert_allclose(
        item["input"].permute(1, 2, 0).numpy() * 255, a[8:24, 16:32], atol=1e-3
    )


def test_size_mismatch_names_both_files_and_sizes(tmp_path, make_image):
    make_image(tmp_path / "blur.png", 32, 48)
    make_image(tmp_path / "sharp.png", 30, 48)
    ds = PairedImageDataset(
        pairs=[(tmp_path / "blur.png", tmp_path / "sharp.png", "p")], train=False
    )
    with pytest.raises(DatasetError, match=r"blur\.png' is 48x32.*sharp\.png' is 48x30"):
        ds[0]


def test_sr_pair_checks_scale_and_mod_crops_hr(tmp_path, make_image):
    make_image(tmp_path / "lr.png", 8, 12)
    make_image(tmp_path / "hr.png", 34, 50)  # 2 extra rows/cols: cropped to 32x48
    ds = PairedImageDataset(
        pairs=[(tmp_path / "lr.png", tmp_path / "hr.png", "hr.png")], scale=4, train=False
    )
    _check_item(ds[0], (3, 8, 12), (3, 32, 48))
    train = PairedImageDataset(pairs=ds.pairs, scale=4, train=True, crop_size=16)
    _check_item(train[0], (3, 4, 4), (3, 16, 16))
    make_image(tmp_path / "hr_bad.png", 40, 48)
    bad = PairedImageDataset(
        pairs=[(tmp_path / "lr.png", tmp_path / "hr_bad.png", "x")], scale=4, train=False
    )
    with pytest.raises(DatasetError, match=r"target = 4 x input"):
        bad[0]


def test_image_smaller_than_crop(tmp_path, make_image):
    make_image(tmp_path / "a.png", 10, 12)
    ds = PairedImageDataset(
        pairs=[(tmp_path / "a.png", tmp_path / "a.png", "a")], train=True, crop_size=16
    )
    with pytest.raises(DatasetError, match=r"a\.png' is 12x10.*crop 16x16"):
        ds[0]


def test_unreadable_member_raises_image_error(tmp_path, make_image):
    make_image(tmp_path / "a.png", 10, 12)
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    ds = PairedImageDataset(pairs=[(tmp_path / "a.png", tmp_path / "b.png", "b")], train=False)
    with pytest.raises(ImageReadError, match=r"b\.png"):
        ds[0]


@pytest.mark.parametrize("kernel", [None, gaussian_kernel(1.2)])
def test_degraded_region_equals_crop_of_degraded_frame(kernel):
    image = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    full = degrade_region(image, 0, 0, (64, 80), kernel=kernel, scale=4)
    assert full.shape == (16, 20, 3) and full.dtype == np.uint8
    if kernel is None:
        np.testing.assert_array_equal(full, downsample_bicubic(image, 4))
    for top, left in ((0, 0), (16, 32), (32, 48), (48, 64)):
        part = degrade_region(image, top, left, (16, 16), kernel=kernel, scale=4)
        expected = full[top // 4 : top // 4 + 4, left // 4 : left // 4 + 4]
        assert np.abs(part.astype(int) - expected).max() <= 1  # float rounding at most


def test_degraded_dataset_eval_is_deterministic_per_name(tmp_path, make_image):
    for i in range(3):
        make_image(tmp_path / f"{i}.png", 32, 48, seed=i)
    pairs = [(tmp_path / f"{i}.png", tmp_path / f"{i}.png", f"{i}.png") for i in range(3)]
    kwargs = {"scale": 4, "kernels": TrajectoryKernel(), "train": False}
    a = DegradedPairDataset(pairs=pairs, seed=1, **kwargs)
    b = DegradedPairDataset(pairs=pairs[::-1], seed=1, **kwargs)  # order does not matter
    c = DegradedPairDataset(pairs=pairs, seed=2, **kwargs)
    _check_item(a[0], (3, 8, 12), (3, 32, 48))
    assert torch.equal(a[0]["input"], b[2]["input"])
    assert not torch.equal(a[0]["input"], c[0]["input"])
    train = DegradedPairDataset(pairs=pairs, seed=1, crop_size=16, **{**kwargs, "train": True})
    _check_item(train[1], (3, 4, 4), (3, 16, 16))


def test_degraded_dataset_real_blur_source_must_match_target(tmp_path, make_image):
    make_image(tmp_path / "blur.png", 32, 48)
    make_image(tmp_path / "sharp.png", 32, 44)
    ds = DegradedPairDataset(
        pairs=[(tmp_path / "blur.png", tmp_path / "sharp.png", "s")],
        scale=4,
        kernels=None,
        seed=0,
        train=False,
    )
    with pytest.raises(DatasetError, match=r"blur\.png' is 48x32.*sharp\.png' is 44x32"):
        ds[0]


def test_written_lr_round_trips(tmp_path):
    # the on-the-fly LR equals what a saved 8-bit PNG would hold
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    lr = degrade_region(image, 0, 0, (16, 16), kernel=gaussian_kernel(1.0), scale=2)
    write_image(tmp_path / "lr.png", lr)
    np.testing.assert_array_equal(read_image(tmp_path / "lr.png"), lr)


def test_degraded_training_items_are_a_function_of_seed_epoch_and_index(tmp_path, make_image):
    for i in range(2):
        make_image(tmp_path / f"{i}.png", 32, 48, seed=i)
    pairs = [(tmp_path / f"{i}.png", tmp_path / f"{i}.png", f"{i}.png") for i in range(2)]
    ds = DegradedPairDataset(
        pairs=pairs, seed=1, kernels=TrajectoryKernel(), train=True, crop_size=16
    )
    first = ds[(3, 1)]
    torch.manual_seed(0)
    np.random.seed(0)
    assert torch.equal(first["input"], ds[(3, 1)]["input"])
    assert not torch.equal(first["input"], ds[(4, 1)]["input"])  # new epoch: new kernel and crop
    assert torch.equal(ds[1]["input"], ds[(0, 1)]["input"])
