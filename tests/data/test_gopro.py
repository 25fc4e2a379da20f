from __future__ import annotations

import shutil

import pytest
import torch

from restoregan.data.gopro import GoProDataModule, gopro_pairs
from restoregan.data.io import DatasetError


def _dm(root, **kwargs):
    defaults = {"crop_size": 16, "batch_size": 2, "num_workers": 0, "val_max_images": 3}
    return GoProDataModule(root=str(root), **{**defaults, **kwargs})


def test_pairs_names_and_blur_types(gopro_root):
    pairs = gopro_pairs(gopro_root, "train")
    assert [n for _, _, n in pairs] == [
        "GOPR0001_11_00/000001.png",
        "GOPR0001_11_00/000002.png",
        "GOPR0002_11_00/000001.png",
        "GOPR0002_11_00/000002.png",
    ]
    assert all(b.parent.name == "blur" and s.parent.name == "sharp" for b, s, _ in pairs)
    gamma = gopro_pairs(gopro_root, "test", blur_type="gamma")
    assert all(b.parent.name == "blur_gamma" for b, _, _ in gamma)
    with pytest.raises(DatasetError, match="linear' or 'gamma"):
        gopro_pairs(gopro_root, "test", blur_type="box")


def test_datamodule_batches(gopro_root):
    dm = _dm(gopro_root)
    assert (dm.crop_size, dm.scale, dm.protocol) == (16, 1, "deblur")
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 16, 16) and batch["target"].shape == (2, 3, 16, 16)
    assert batch["input"].dtype == torch.float32
    assert batch["input"].min() >= 0 and batch["input"].max() <= 1
    assert len(dm.train_dataloader()) == 2  # 4 pairs, batch 2, drop_last
    val = list(dm.val_dataloader())
    assert len(val) == 3  # val_max_images of the 4 test frames
    assert val[0]["input"].shape == (1, 3, 32, 48)  # full frames
    assert val[0]["name"] == ["GOPR0001_11_00/000001.png"]
    dm.setup("test")
    assert len(dm.test_dataloader()) == 4


def test_eval_crop(gopro_root):
    dm = _dm(gopro_root, eval_crop=16)
    dm.setup("validate")
    assert next(iter(dm.val_dataloader()))["target"].shape == (1, 3, 16, 16)


def test_training_reproducible_with_seed(gopro_root):
    dm = _dm(gopro_root)
    dm.setup("fit")
    torch.manual_seed(7)
    first = next(iter(dm.train_dataloader()))
    torch.manual_seed(7)
    again = next(iter(dm.train_dataloader()))
    assert first["name"] == again["name"] and torch.equal(first["input"], again["input"])


def test_missing_root_shows_layout(tmp_path):
    dm = _dm(tmp_path / "nowhere")
    with pytest.raises(
        DatasetError,
        match=r"(?s)GoPro root '.*nowhere' does not exist.*train/<sequence>/blur/<frame>\.png",
    ):
        dm.setup("fit")


def test_missing_sharp_folder(gopro_root):
    shutil.rmtree(gopro_root / "train" / "GOPR0002_11_00" / "sharp")
    with pytest.raises(DatasetError, match=r"GOPR0002_11_00/sharp' does not exist"):
        gopro_pairs(gopro_root, "train")


def test_blurred_frame_without_sharp_partner(gopro_root, make_image):
    make_image(gopro_root / "train" / "GOPR0001_11_00" / "blur" / "000003.png", 32, 48)
    with pytest.raises(
        DatasetError, match=r"no target \(sharp/HR\) partner.*GOPR0001_11_00/blur/000003\.png"
    ):
        gopro_pairs(gopro_root, "train")


def test_no_sequences(tmp_path):
    (tmp_path / "GOPRO_Large" / "train").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"No sequence folders in '.*train'"):
        gopro_pairs(tmp_path / "GOPRO_Large", "train")


def test_frame_smaller_than_crop(gopro_root):
    dm = _dm(gopro_root, crop_size=64)
    dm.setup("fit")
    with pytest.raises(DatasetError, match=r"is 48x32 \(WxH\), smaller than the crop 64x64"):
        next(iter(dm.train_dataloader()))


def test_batch_larger_than_dataset(gopro_root):
    with pytest.raises(DatasetError, match="fewer than batch_size=8"):
        _dm(gopro_root, batch_size=8).setup("fit")
