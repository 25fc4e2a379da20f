"""data=partial_blur / demo_partial: cached synthesis from every source, masks and kernels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from restoregan.data.degradations import TrajectoryKernel, blur_image
from restoregan.data.io import DatasetError, read_image, read_kernel, read_mask
from restoregan.data.partial_blur import GaussianKernel, RegionMaskSampler
from restoregan.data.partial_blur_data import PartialBlurDataModule

SMALL_DEMO = {
    "source": "demo",
    "photos": ("astronaut", "chelsea", "coffee"),
    "val_photos": ("coffee",),
    "max_side": 64,
    "train_variants": 2,
    "gaussian": GaussianKernel(size=15),
    "crop_size": 32,
    "batch_size": 2,
    "num_workers": 0,
}


def _dm(tmp_path, name="cache", **kwargs):
    return PartialBlurDataModule(cache_dir=str(tmp_path / name), **{**SMALL_DEMO, **kwargs})


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.*"))}


def test_layout_and_every_pair_is_its_sharp_image_blended_with_its_kernel_by_its_mask(tmp_path):
    dm = _dm(tmp_path)
    dm.prepare_data()
    root = tmp_path / "cache"
    items = json.loads((root / "manifest.json").read_text())["items"]
    assert items == {
        "train": ["astronaut_0.png", "astronaut_1.png", "chelsea_0.png", "chelsea_1.png"],
        "val": ["coffee_0.png"],
        "test": ["coffee_0.png"],
    }
    for split, names in items.items():
        for name in names:
            sharp = read_image(root / split / "sharp" / name)
            blurred = read_image(root / split / "blur" / name)
            mask = read_mask(root / split / "mask" / name)
            kernel = read_kernel(root / split / "kernel" / name.replace(".png", ".npy"))
            assert kernel.shape == (15, 15)
            assert 0.2 <= mask.mean() <= 0.6  # the default coverage range
            np.testing.assert_array_equal(blurred[mask == 0], sharp[mask == 0])
            full = blur_image(sharp / np.float32(255), kernel) * 255
            expected = mask[..., None] * full + (1 - mask[..., None]) * sharp
            assert np.abs(blurred - expected).max() <= 0.5 + 1e-3
    # Two variants of one photo: same sharp image, other regions.
    masks = [read_mask(root / "train" / "mask" / f"astronaut_{k}.png") for k in (0, 1)]
    assert not np.array_equal(*masks)


def test_same_settings_same_bytes_cached_once_and_a_change_regenerates(tmp_path):
    a, b = _dm(tmp_path, "a"), _dm(tmp_path, "b")
    a.prepare_data()
    b.prepare_data()
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    mtime = (tmp_path / "a" / "manifest.json").stat().st_mtime_ns
    _dm(tmp_path, "a").prepare_data()
    assert (tmp_path / "a" / "manifest.json").stat().st_mtime_ns == mtime
    other = _dm(tmp_path, "a", regions=RegionMaskSampler(coverage=(0.05, 0.1)))
    with pytest.raises(DatasetError, match="other settings"):
        other.setup("fit")
    other.prepare_data()
    mask = read_mask(tmp_path / "a" / "train" / "mask" / "chelsea_0.png")
    assert 0.05 <= mask.mean() <= 0.1
    seeded = _dm(tmp_path, "c", seed=1)
    seeded.prepare_data()
    c = _files(tmp_path / "c")
    assert c["train/sharp/chelsea_0.png"] == _files(tmp_path / "b")["train/sharp/chelsea_0.png"]
    assert c["train/blur/chelsea_0.png"] != _files(tmp_path / "b")["train/blur/chelsea_0.png"]


def test_batches_carry_masks_and_evaluation_items_their_kernels(tmp_path):
    dm = _dm(tmp_path)
    with pytest.raises(DatasetError, match=r"(?s)Partial-blur data at .* is missing.*prepare_data"):
        dm.setup("fit")
    dm.prepare_data()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 32, 32) and batch["mask"].shape == (2, 1, 32, 32)
    assert "kernel" not in batch
    val = next(iter(dm.val_dataloader()))
    assert val["name"] == ["coffee_0.png"]
    assert val["mask"].shape == (1, 1, 43, 64) and val["kernel"].shape == (1, 15, 15)
    # where the mask is 0 the input is the target, bit for bit
    clear = val["mask"][0, 0] == 0
    assert clear.any() and torch.equal(val["input"][0][:, clear], val["target"][0][:, clear])


def test_motion_kernels(tmp_path):
    dm = _dm(tmp_path, kernel="motion", motion=TrajectoryKernel(num_steps=200, max_length=9.0))
    dm.prepare_data()
    params = json.loads((tmp_path / "cache" / "manifest.json").read_text())["params"]
    assert params["kernel"]["type"] == "trajectory"
    dm.setup("validate")
    kernel = dm.val_set[0]["kernel"]
    assert kernel.shape[0] <= 11 and abs(float(kernel.sum()) - 1) < 1e-5


def test_gopro_sharp_frames_split_by_train_sequences(tmp_path, gopro_root):
    dm = PartialBlurDataModule(
        source="gopro",
        root=str(gopro_root),
        cache_dir=str(tmp_path / "cache"),
        gaussian=GaussianKernel(size=9),
        val_sequences=1,
        crop_size=16,
        batch_size=2,
        num_workers=0,
    )
    dm.prepare_data()
    items = json.loads((tmp_path / "cache" / "manifest.json").read_text())["items"]
    assert items["val"] == ["GOPR0001_11_00/000001_0.png", "GOPR0001_11_00/000002_0.png"]
    assert {n.split("/")[0] for n in items["train"]} == {"GOPR0002_11_00", "GOPR0003_11_00"}
    assert {n.split("/")[0] for n in items["test"]} == {"GOPR0101_11_00", "GOPR0102_11_00"}
    # the sharp frame is the GoPro sharp frame itself
    np.testing.assert_array_equal(
        read_image(tmp_path / "cache/test/sharp/GOPR0101_11_00/000002_0.png"),
        read_image(gopro_root / "test/GOPR0101_11_00/sharp/000002.png"),
    )
    dm.setup("fit")
    assert next(iter(dm.train_dataloader()))["mask"].shape == (2, 1, 16, 16)


def test_folder_and_div2k_sources(tmp_path, make_image):
    for i in range(5):
        make_image(tmp_path / "photos" / f"p{i}.jpg", 24, 32, seed=i)
    folder = PartialBlurDataModule(
        source="folder",
        root=str(tmp_path / "photos"),
        cache_dir=str(tmp_path / "f"),
        val_fraction=0.4,
        gaussian=GaussianKernel(size=9),
        crop_size=16,
        batch_size=1,
    )
    folder.prepare_data()
    items = json.loads((tmp_path / "f" / "manifest.json").read_text())["items"]
    assert len(items["train"]) == 3 and len(items["val"]) == 2 == len(items["test"])
    assert not set(items["train"]) & set(items["val"])
    for split, ids in (("train", (1, 2)), ("valid", (801,))):
        for i in ids:
            make_image(tmp_path / "DIV2K" / f"DIV2K_{split}_HR" / f"{i:04d}.png", 24, 32, seed=i)
    div2k = PartialBlurDataModule(
        source="div2k",
        root=str(tmp_path / "DIV2K"),
        cache_dir=str(tmp_path / "d"),
        gaussian=GaussianKernel(size=9),
        crop_size=16,
        batch_size=1,
    )
    div2k.prepare_data()
    items = json.loads((tmp_path / "d" / "manifest.json").read_text())["items"]
    assert items == {
        "train": ["0001_0.png", "0002_0.png"],
        "val": ["0801_0.png"],
        "test": ["0801_0.png"],
    }


def test_argument_errors(tmp_path):
    with pytest.raises(DatasetError, match="source must be one of"):
        PartialBlurDataModule(source="web", cache_dir=str(tmp_path))
    with pytest.raises(DatasetError, match="'gaussian' or 'motion'"):
        PartialBlurDataModule(kernel="defocus", cache_dir=str(tmp_path))
    with pytest.raises(DatasetError, match=r"needs data\.root"):
        PartialBlurDataModule(source="gopro", cache_dir=str(tmp_path / "x")).prepare_data()
