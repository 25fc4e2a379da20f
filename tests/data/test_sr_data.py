from __future__ import annotations

import numpy as np
import pytest
import torch

from restoregan.data.blur_lr import BlurLRDataModule
from restoregan.data.degradations import downsample_bicubic
from restoregan.data.io import DatasetError, read_image, to_uint8, write_image
from restoregan.data.sr import DIV2KDataModule, SRBenchmarkDataModule


@pytest.fixture
def div2k_root(tmp_path, make_image):
    root = tmp_path / "DIV2K"
    for split, ids in (("train", range(1, 5)), ("valid", range(801, 804))):
        for i in ids:
            make_image(root / f"DIV2K_{split}_HR" / f"{i:04d}.png", 64, 72, seed=i)
    return root


def _with_lr_folders(root):
    for split in ("train", "valid"):
        for hr in (root / f"DIV2K_{split}_HR").glob("*.png"):
            lr = downsample_bicubic(read_image(hr), 4)
            write_image(root / f"DIV2K_{split}_LR_bicubic" / "X4" / f"{hr.stem}x4.png", lr)


@pytest.mark.parametrize("lr_folders", [True, False])
def test_div2k_batches(div2k_root, lr_folders):
    if lr_folders:
        _with_lr_folders(div2k_root)
    dm = DIV2KDataModule(
        root=str(div2k_root), crop_size=32, batch_size=2, num_workers=0, val_max_images=2
    )
    assert (dm.crop_size, dm.scale, dm.protocol) == (32, 4, "sr")
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 8, 8) and batch["target"].shape == (2, 3, 32, 32)
    val = list(dm.val_dataloader())
    assert (
        len(val) == 2
        and val[0]["input"].shape == (1, 3, 16, 18)
        and val[0]["target"].shape == (1, 3, 64, 72)
    )
    assert val[0]["name"] == ["0801.png"]
    dm.setup("test")
    assert len(dm.test_dataloader()) == 3


def test_div2k_on_the_fly_equals_lr_folder(div2k_root):
    """Training crops made on the fly match crops of the stored LR at the same position."""
    kwargs = {
        "root": str(div2k_root),
        "crop_size": 32,
        "batch_size": 1,
        "num_workers": 0,
        "hflip": False,
        "vflip": False,
        "rot90": False,
    }
    fly = DIV2KDataModule(**kwargs)
    fly.setup("fit")
    _with_lr_folders(div2k_root)
    stored = DIV2KDataModule(**kwargs)
    stored.setup("fit")
    for index in range(4):
        torch.manual_seed(index)
        a = fly.train_set[index]
        torch.manual_seed(index)
        b = stored.train_set[index]
        assert torch.equal(a["target"], b["target"])
        assert torch.equal(a["input"], b["input"])


def test_div2k_errors(tmp_path):
    with pytest.raises(
        DatasetError, match=r"(?s)DIV2K root .* does not exist.*DIV2K_train_HR/0001\.png"
    ):
        DIV2KDataModule(root=str(tmp_path / "x"), num_workers=0).setup("fit")
    with pytest.raises(DatasetError, match="scale must be 2 or 4"):
        DIV2KDataModule(root="x", scale=3)


def test_sr_benchmark_fake_tree(tmp_path, make_image):
    make_image(tmp_path / "Set2" / "HR" / "a.png", 34, 41)  # not a multiple of 4: mod-crop
    make_image(tmp_path / "Set2" / "LR_bicubic" / "X4" / "ax4.png", 8, 10)
    dm = SRBenchmarkDataModule(root=str(tmp_path), name="Set2")
    assert (dm.crop_size, dm.scale, dm.protocol) == (None, 4, "sr")
    dm.setup("test")
    item = next(iter(dm.test_dataloader()))
    assert item["input"].shape == (1, 3, 8, 10) and item["target"].shape == (1, 3, 32, 40)
    with pytest.raises(DatasetError, match="evaluation-only"):
        dm.setup("fit")
    with pytest.raises(
        DatasetError, match=r"(?s)SR benchmark 'Set9' .* does not exist.*LR_bicubic"
    ):
        SRBenchmarkDataModule(root=str(tmp_path), name="Set9").setup("test")


def test_sr_benchmark_real_set5(shared_data):
    dm = SRBenchmarkDataModule(root=str(shared_data / "sr"), name="Set5")
    dm.setup("test")
    items = list(dm.test_dataloader())
    assert [i["name"][0] for i in items] == [
        "baby.png",
        "bird.png",
        "butterfly.png",
        "head.png",
        "woman.png",
    ]
    for item in items:
        _, _, h, w = item["input"].shape
        assert item["target"].shape == (1, 3, 4 * h, 4 * w)
    # Our bicubic reproduces the shipped LR: input ~= downsample(target)
    lr = downsample_bicubic(to_uint8(items[0]["target"][0]), 4)
    assert np.abs(lr.astype(int) - to_uint8(items[0]["input"][0])).max() <= 1


def test_blur_lr_real_set5_levin(shared_data):
    kwargs = {
        "root": str(shared_data / "sr" / "Set5" / "HR"),
        "kernel": "levin",
        "kernels_dir": str(shared_data / "kernels" / "levin09"),
        "num_workers": 0,
    }
    dm = BlurLRDataModule(seed=0, **kwargs)
    assert (dm.scale, dm.protocol) == (4, "sr")
    dm.setup("test")
    items = list(dm.test_dataloader())
    assert len(items) == 5
    for item in items:
        _, _, h, w = item["input"].shape
        assert item["target"].shape == (1, 3, 4 * h, 4 * w)
        assert item["input"].min() >= 0 and item["input"].max() <= 1
    again = BlurLRDataModule(seed=0, **kwargs)
    again.setup("test")
    assert torch.equal(next(iter(again.test_dataloader()))["input"], items[0]["input"])
    # blurred, so not the plain bicubic LR
    plain = downsample_bicubic(to_uint8(items[0]["target"][0]), 4)
    assert np.abs(plain.astype(int) - to_uint8(items[0]["input"][0])).mean() > 1
    with pytest.raises(DatasetError, match="train_root"):
        BlurLRDataModule(**kwargs).setup("fit")


def test_blur_lr_folder_training(tmp_path, make_image):
    for i in range(4):
        make_image(tmp_path / "hr" / f"{i}.png", 48, 48, seed=i)
    dm = BlurLRDataModule(
        root=str(tmp_path / "hr"),
        train_root=str(tmp_path / "hr"),
        crop_size=32,
        batch_size=2,
        num_workers=0,
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 8, 8) and batch["target"].shape == (2, 3, 32, 32)


def test_blur_lr_gopro_real_blur(gopro_root):
    dm = BlurLRDataModule(
        source="gopro",
        root=str(gopro_root),
        kernel="none",
        crop_size=16,
        batch_size=2,
        num_workers=0,
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 4, 4) and batch["target"].shape == (2, 3, 16, 16)
    dm.setup("test")
    item = next(iter(dm.test_dataloader()))
    assert item["input"].shape == (1, 3, 8, 12) and item["target"].shape == (1, 3, 32, 48)
    blur = read_image(gopro_root / "test" / "GOPR0101_11_00" / "blur" / "000001.png")
    np.testing.assert_array_equal(to_uint8(item["input"][0]), downsample_bicubic(blur, 4))
    sharp = read_image(gopro_root / "test" / "GOPR0101_11_00" / "sharp" / "000001.png")
    np.testing.assert_array_equal(to_uint8(item["target"][0]), sharp)


def test_blur_lr_argument_errors():
    with pytest.raises(DatasetError, match="kernels_dir"):
        BlurLRDataModule(root="x", kernel="levin")
    with pytest.raises(DatasetError, match="source must be"):
        BlurLRDataModule(root="x", source="web")


def test_blur_lr_sharp_lr_target_differs_from_input_by_the_blur_only(tmp_path, make_image):
    hr = make_image(tmp_path / "hr" / "a.png", 48, 64, seed=3)
    common = {"root": str(tmp_path / "hr"), "num_workers": 0, "seed": 5}
    dm = BlurLRDataModule(target="lr", crop_size=None, **common)
    assert (dm.scale, dm.protocol) == (1, "deblur")
    dm.setup("test")
    item = dm.test_set[0]
    assert item["input"].shape == item["target"].shape == (3, 12, 16)
    np.testing.assert_array_equal(to_uint8(item["target"]), downsample_bicubic(hr, 4))
    # The input is the one the HR-target module gives for the same seed: same kernel.
    hr_dm = BlurLRDataModule(**common)
    hr_dm.setup("test")
    assert torch.equal(hr_dm.test_set[0]["input"], item["input"])
    assert not torch.equal(item["input"], item["target"])


def test_blur_lr_sharp_lr_training_crops_are_windows_of_the_full_frames(gopro_root):
    """LR-side crops of (blurred, sharp) are the same window of the downsampled full frames."""
    dm = BlurLRDataModule(
        source="gopro",
        root=str(gopro_root),
        target="lr",
        kernel="none",
        crop_size=4,
        batch_size=2,
        num_workers=0,
        hflip=False,
        vflip=False,
        rot90=False,
    )
    dm.setup("fit")
    assert dm.crop_size == 4
    (blur_path, sharp_path, _), item = dm.train_set.pairs[0], dm.train_set[0]
    assert item["input"].shape == item["target"].shape == (3, 4, 4)
    lr_blur = downsample_bicubic(read_image(blur_path), 4)  # (8, 12, 3)
    lr_sharp = downsample_bicubic(read_image(sharp_path), 4)
    crop_in, crop_target = to_uint8(item["input"]), to_uint8(item["target"])
    windows = [
        (top, left)
        for top in range(lr_blur.shape[0] - 3)
        for left in range(lr_blur.shape[1] - 3)
        if np.array_equal(lr_sharp[top : top + 4, left : left + 4], crop_target)
        and np.array_equal(lr_blur[top : top + 4, left : left + 4], crop_in)
    ]
    assert windows, "the crops are not one window of the downsampled frames"
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == batch["target"].shape == (2, 3, 4, 4)
    with pytest.raises(DatasetError, match="target must be 'hr' or 'lr'"):
        BlurLRDataModule(root="x", target="sr")
