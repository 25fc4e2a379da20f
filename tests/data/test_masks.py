"""Blur masks and kernels in dataset items: read, checked, cropped and flipped with the pair."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from restoregan.data.degradations import blur_image, gaussian_kernel
from restoregan.data.io import DatasetError, read_kernel, read_mask, write_kernel
from restoregan.data.paired_folder import PairedFolderDataModule
from restoregan.data.pairs import DegradedPairDataset, PairedImageDataset
from restoregan.data.transforms import PairedColorJitter
from tests.data.conftest import random_image


def _write_mask(path, array: np.ndarray, mode: str = "L") -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).convert(mode).save(path)
    return array


def _pair_with_its_mask(tmp_path, height=24, width=30):
    """Identical input and target; the mask is the target's red channel, so every pixel
    shows where it came from."""
    image = random_image(height, width, seed=7)
    Image.fromarray(image).save(tmp_path / "x.png")
    _write_mask(tmp_path / "m.png", image[..., 0])
    return [(tmp_path / "x.png", tmp_path / "x.png", "x.png")], [tmp_path / "m.png"]


def test_training_crops_flips_and_rotations_move_the_mask_with_the_pair(tmp_path):
    pairs, masks = _pair_with_its_mask(tmp_path)
    ds = PairedImageDataset(pairs=pairs, masks=masks, train=True, crop_size=16, seed=3)
    seen = set()
    for epoch in range(40):
        item = ds[(epoch, 0)]
        assert item["mask"].shape == (1, 16, 16) and item["mask"].dtype == torch.float32
        assert torch.equal(item["input"], item["target"])
        # mask == red channel of the target at every pixel: same window, same symmetry
        assert torch.equal(item["mask"][0], item["target"][0])
        seen.add(item["target"].numpy().tobytes())
    assert len(seen) > 20  # crops and symmetries really vary


def test_colour_jitter_changes_the_pair_but_never_the_mask(tmp_path):
    pairs, masks = _pair_with_its_mask(tmp_path)
    plain = PairedImageDataset(pairs=pairs, masks=masks, train=True, crop_size=16, seed=3)
    jitter = PairedColorJitter(brightness=0.4, saturation=0.4, hue=0.1)
    jittered = PairedImageDataset(
        pairs=pairs, masks=masks, train=True, crop_size=16, seed=3, color_jitter=jitter
    )
    a, b = plain[(0, 0)], jittered[(0, 0)]
    assert torch.equal(a["mask"], b["mask"])  # same geometry: the jitter has its own stream
    assert not torch.equal(a["target"], b["target"])
    assert torch.equal(b["input"], b["target"])


def test_eval_items_keep_the_full_mask_and_centre_crop_it(tmp_path):
    pairs, masks = _pair_with_its_mask(tmp_path)
    full = PairedImageDataset(pairs=pairs, masks=masks, train=False)[0]
    expected = torch.from_numpy(random_image(24, 30, seed=7)[..., 0] / np.float32(255))
    assert torch.equal(full["mask"][0], expected)
    crop = PairedImageDataset(pairs=pairs, masks=masks, train=False, eval_crop=16)[0]
    assert torch.equal(crop["mask"][0], expected[4:20, 7:23])


def test_a_dataset_without_masks_has_no_mask_key_and_batches_still_collate(tmp_path):
    pairs, masks = _pair_with_its_mask(tmp_path)
    assert set(PairedImageDataset(pairs=pairs, train=True, crop_size=16)[0]) == {
        "input",
        "target",
        "name",
    }
    loader = torch.utils.data.DataLoader(
        PairedImageDataset(pairs=pairs * 4, masks=masks * 4, train=True, crop_size=16),
        batch_size=4,
    )
    assert next(iter(loader))["mask"].shape == (4, 1, 16, 16)


def test_mask_of_another_size_names_the_file(tmp_path):
    pairs, _ = _pair_with_its_mask(tmp_path)
    _write_mask(tmp_path / "small.png", np.zeros((24, 29), np.uint8))
    ds = PairedImageDataset(pairs=pairs, masks=[tmp_path / "small.png"], train=False)
    with pytest.raises(DatasetError, match=r"Mask '.*small\.png' is 29x24 .*'.*x\.png' is 30x24"):
        ds[0]


def test_read_mask_modes_and_colour_masks_are_refused(tmp_path):
    gray = (np.arange(12, dtype=np.uint8) * 20).reshape(3, 4)
    _write_mask(tmp_path / "l.png", gray)
    np.testing.assert_array_equal(read_mask(tmp_path / "l.png"), gray / np.float32(255))
    _write_mask(tmp_path / "b.png", gray > 100, mode="1")
    np.testing.assert_array_equal(read_mask(tmp_path / "b.png"), (gray > 100).astype(np.float32))
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "w.png")
    np.testing.assert_allclose(read_mask(tmp_path / "w.png"), gray / 255.0, atol=1e-6)
    Image.fromarray(np.stack([gray] * 3, axis=2)).save(tmp_path / "rgb.png")
    with pytest.raises(DatasetError, match=r"Mask '.*rgb\.png' is a RGB image.*single-channel"):
        read_mask(tmp_path / "rgb.png")
    with pytest.raises(DatasetError, match="no file"):
        read_mask(tmp_path / "missing.png")


def test_kernels_round_trip_and_bad_kernels_are_named(tmp_path):
    k = gaussian_kernel(1.5)
    write_kernel(tmp_path / "k.npy", k)
    np.testing.assert_allclose(read_kernel(tmp_path / "k.npy"), k, rtol=1e-6)
    np.save(tmp_path / "bad.npy", np.ones(5))
    with pytest.raises(DatasetError, match=r"'.*bad\.npy' is not a blur kernel"):
        read_kernel(tmp_path / "bad.npy")


def test_evaluation_items_carry_their_kernel_training_items_do_not(tmp_path):
    pairs, masks = _pair_with_its_mask(tmp_path)
    write_kernel(tmp_path / "k.npy", gaussian_kernel(1.0))
    kw = {"pairs": pairs, "masks": masks, "kernel_files": [tmp_path / "k.npy"]}
    item = PairedImageDataset(train=False, **kw)[0]
    assert torch.allclose(item["kernel"], torch.from_numpy(gaussian_kernel(1.0)), atol=1e-7)
    assert "kernel" not in PairedImageDataset(train=True, crop_size=16, **kw)[0]
    with pytest.raises(ValueError, match="2 masks given for 1 pairs"):
        PairedImageDataset(pairs=pairs, masks=masks * 2, train=False)


def test_degraded_pairs_carry_the_kernel_that_made_them(tmp_path, make_image):
    sharp = make_image(tmp_path / "s.png", 24, 24, seed=2)
    bank = [gaussian_kernel(0.8), gaussian_kernel(2.0)]
    pairs = [(tmp_path / "s.png", tmp_path / "s.png", "s.png")]
    item = DegradedPairDataset(pairs=pairs, kernels=bank, seed=0, train=False)[0]
    kernel = item["kernel"].numpy()
    expected = np.rint(blur_image(sharp / np.float32(255), kernel) * 255)
    np.testing.assert_array_equal(item["input"].permute(1, 2, 0).numpy() * 255, expected)
    train = DegradedPairDataset(pairs=pairs, kernels=bank, seed=0, train=True, crop_size=8)
    assert "kernel" not in train[0]
    sr = DegradedPairDataset(pairs=pairs, kernels=bank, seed=0, train=False, scale=2)
    assert "kernel" not in sr[0]  # input is not kernel * target at another resolution


def test_resize_is_for_deblurring_pairs_only(tmp_path):
    pairs, masks = _pair_with_its_mask(tmp_path)
    item = PairedImageDataset(pairs=pairs, masks=masks, train=False, resize=[15, 12])[0]
    assert item["input"].shape == (3, 12, 15) and item["mask"].shape == (1, 12, 15)
    with pytest.raises(DatasetError, match=r"resize must be \[width, height\]"):
        PairedImageDataset(pairs=pairs, train=False, scale=2, resize=[15, 12])


def _local_blur_tree(root, make_image, n, *, suffix="", size=(20, 20)):
    for i in range(n):
        make_image(root / "blur" / f"img{i}.png", *size, seed=i)
        make_image(root / "sharp" / f"img{i}.png", *size, seed=i)
        _write_mask(root / "mask" / f"img{i}{suffix}.png", np.full(size, 10 * i, np.uint8))


def test_paired_folder_with_masks(tmp_path, make_image):
    _local_blur_tree(tmp_path / "tr", make_image, 6, suffix="_mask")
    _local_blur_tree(tmp_path / "va", make_image, 2, suffix="_mask")
    dm = PairedFolderDataModule(
        input_dir=str(tmp_path / "tr/blur"),
        target_dir=str(tmp_path / "tr/sharp"),
        mask_dir=str(tmp_path / "tr/mask"),
        val_input_dir=str(tmp_path / "va/blur"),
        val_target_dir=str(tmp_path / "va/sharp"),
        val_mask_dir=str(tmp_path / "va/mask"),
        mask_suffix="_mask",
        crop_size=16,
        batch_size=2,
        num_workers=0,
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["mask"].shape == (2, 1, 16, 16)
    val = dm.val_set[1]
    assert val["name"] == "img1.png" and torch.all(val["mask"] == 10 / 255)


def test_paired_folder_held_out_split_keeps_each_pair_with_its_mask(tmp_path, make_image):
    _local_blur_tree(tmp_path, make_image, 10)
    dm = PairedFolderDataModule(
        input_dir=str(tmp_path / "blur"),
        target_dir=str(tmp_path / "sharp"),
        mask_dir=str(tmp_path / "mask"),
        crop_size=16,
        batch_size=2,
        num_workers=0,
        val_fraction=0.2,
    )
    dm.setup("fit")
    for ds in (dm.train_set, dm.val_set):
        for (_, target, _), mask in zip(ds.pairs, ds.masks, strict=True):
            assert mask.stem == target.stem


def test_paired_folder_mask_errors(tmp_path, make_image):
    _local_blur_tree(tmp_path, make_image, 3)
    (tmp_path / "mask" / "img2.png").unlink()
    common = {"input_dir": str(tmp_path / "blur"), "target_dir": str(tmp_path / "sharp")}
    dm = PairedFolderDataModule(**common, mask_dir=str(tmp_path / "mask"), batch_size=1)
    with pytest.raises(DatasetError, match=r"1 pair\(s\) have no mask.*img2"):
        dm.setup("fit")
    with pytest.raises(DatasetError, match="val_mask_dir needs"):
        PairedFolderDataModule(**common, val_mask_dir=str(tmp_path / "mask"))
