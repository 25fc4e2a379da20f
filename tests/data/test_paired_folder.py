from __future__ import annotations

import pytest

from restoregan.data.io import DatasetError
from restoregan.data.paired_folder import PairedFolderDataModule


def _tree(root, make_image, n=10):
    for i in range(n):
        make_image(root / "blur" / f"img{i}.png", 24, 24, seed=i)
        make_image(root / "sharp" / f"img{i}.jpg", 24, 24, seed=100 + i)


def _dm(root, **kwargs):
    defaults = {"crop_size": 16, "batch_size": 2, "num_workers": 0}
    return PairedFolderDataModule(
        input_dir=str(root / "blur"), target_dir=str(root / "sharp"), **{**defaults, **kwargs}
    )


def test_split_by_fraction_is_seeded_and_disjoint(tmp_path, make_image):
    _tree(tmp_path, make_image)
    dm = _dm(tmp_path, val_fraction=0.2, seed=3)
    dm.setup("fit")
    train = {n for _, _, n in dm.train_set.pairs}
    val = {n for _, _, n in dm.val_set.pairs}
    assert len(train) == 8 and len(val) == 2 and not train & val
    again = _dm(tmp_path, val_fraction=0.2, seed=3)
    again.setup("fit")
    assert {n for _, _, n in again.val_set.pairs} == val
    other = _dm(tmp_path, val_fraction=0.2, seed=4)
    other.setup("fit")
    assert {n for _, _, n in other.val_set.pairs} != val
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 16, 16) and dm.protocol == "deblur" and dm.scale == 1


def test_separate_val_dirs(tmp_path, make_image):
    _tree(tmp_path / "tr", make_image, n=4)
    _tree(tmp_path / "va", make_image, n=2)
    dm = PairedFolderDataModule(
        input_dir=str(tmp_path / "tr/blur"),
        target_dir=str(tmp_path / "tr/sharp"),
        val_input_dir=str(tmp_path / "va/blur"),
        val_target_dir=str(tmp_path / "va/sharp"),
        crop_size=16,
        batch_size=2,
        num_workers=0,
    )
    dm.setup("fit")
    dm.setup("test")
    assert len(dm.train_set) == 4 and len(dm.val_set) == 2 and len(dm.test_set) == 2
    assert next(iter(dm.val_dataloader()))["target"].shape == (1, 3, 24, 24)


def test_missing_dir_shows_layout(tmp_path):
    with pytest.raises(
        DatasetError, match=r"(?s)input_dir\) '.*blur' does not exist.*<target_dir>/<stem>"
    ):
        _dm(tmp_path).setup("fit")


def test_no_pairs_found_says_where_and_patterns(tmp_path):
    (tmp_path / "blur").mkdir()
    (tmp_path / "sharp").mkdir()
    with pytest.raises(
        DatasetError, match=r"No images found in '.*blur' \(looked for \*\.png, \*\.jpg"
    ):
        _dm(tmp_path).setup("fit")


def test_unpaired_blurred_image_is_named(tmp_path, make_image):
    _tree(tmp_path, make_image, n=3)
    make_image(tmp_path / "blur" / "orphan.png", 24, 24)
    with pytest.raises(DatasetError, match=r"orphan\.png"):
        _dm(tmp_path).setup("fit")


def test_too_few_images_for_split(tmp_path, make_image):
    _tree(tmp_path, make_image, n=1)
    with pytest.raises(DatasetError, match="too few"):
        _dm(tmp_path, batch_size=1).setup("fit")


def test_bad_arguments():
    with pytest.raises(DatasetError, match="both val_input_dir and val_target_dir"):
        PairedFolderDataModule(input_dir="a", target_dir="b", val_input_dir="c")
    with pytest.raises(DatasetError, match="val_fraction"):
        PairedFolderDataModule(input_dir="a", target_dir="b", val_fraction=0.0)
