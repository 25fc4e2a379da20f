from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from restoregan.data.degradations import resize_like_pil
from restoregan.data.gopro import GoProDataModule, gopro_pairs, gopro_split
from restoregan.data.io import DatasetError, read_image, to_uint8
from tests.data.conftest import GOPRO_SEQUENCES


def _dm(root, **kwargs):
    defaults = {"crop_size": 16, "batch_size": 2, "num_workers": 0, "val_max_images": 3}
    return GoProDataModule(root=str(root), **{**defaults, **kwargs})


def _frames(pairs) -> set[str]:
    return {n for _, _, n in pairs}


def _in_test_split(path, root) -> bool:
    return path.resolve().is_relative_to((root / "test").resolve())


def test_pairs_names_and_blur_types(gopro_root):
    pairs = gopro_pairs(gopro_root, "train")
    assert [n for _, _, n in pairs] == [
        f"{seq}/{frame}"
        for seq in GOPRO_SEQUENCES["train"]
        for frame in ("000001.png", "000002.png")
    ]
    assert all(b.parent.name == "blur" and s.parent.name == "sharp" for b, s, _ in pairs)
    gamma = gopro_pairs(gopro_root, "test", blur_type="gamma")
    assert all(b.parent.name == "blur_gamma" for b, _, _ in gamma)
    with pytest.raises(DatasetError, match="linear' or 'gamma"):
        gopro_pairs(gopro_root, "test", blur_type="box")


def test_default_validation_draws_on_no_test_frame(gopro_root):
    """Model selection on held-out TRAIN sequences: no validation file is a test file, and
    no held-out sequence is trained on."""
    dm = _dm(gopro_root, batch_size=1, val_max_images=None)
    dm.setup("fit")
    dm.setup("test")
    val_files = {p for b, s, _ in dm.val_set.pairs for p in (b, s)}
    assert val_files and not any(_in_test_split(p, gopro_root) for p in val_files)
    val_sequences = {n.split("/")[0] for n in _frames(dm.val_set.pairs)}
    train_sequences = {n.split("/")[0] for n in _frames(dm.train_set.pairs)}
    assert val_sequences == {"GOPR0001_11_00", "GOPR0003_11_00"}  # 2, spread evenly
    assert train_sequences == {"GOPR0002_11_00"} and not val_sequences & train_sequences
    assert all(_in_test_split(b, gopro_root) for b, _, _ in dm.test_set.pairs)
    assert len(dm.test_set) == 4  # the whole test split
    assert dm.split_info == {
        "val_source": "train_sequences",
        "val_sequences": "GOPR0001_11_00,GOPR0003_11_00",
    }


def test_held_out_sequences_by_name_and_errors(gopro_root):
    split = gopro_split(gopro_root, val_sequences=["GOPR0002_11_00"])
    assert {n.split("/")[0] for n in _frames(split.val)} == {"GOPR0002_11_00"}
    assert len(split.train) == 4
    with pytest.raises(DatasetError, match=r"unknown: \['GOPR0101_11_00'\]"):
        gopro_split(gopro_root, val_sequences=["GOPR0101_11_00"])  # a test sequence
    with pytest.raises(DatasetError, match="keep at least 1 for training"):
        gopro_split(gopro_root, val_sequences=3)
    with pytest.raises(DatasetError, match="val_source must be one of"):
        GoProDataModule(root=str(gopro_root), val_source="valid")


def test_val_source_test_reproduces_the_reference_codes(gopro_root):
    dm = _dm(gopro_root, val_source="test")
    dm.setup("fit")
    assert len(dm.train_set) == 6  # every train sequence
    assert len(dm.val_set) == 3 and all(
        _in_test_split(b, gopro_root) for b, _, _ in dm.val_set.pairs
    )
    assert dm.split_info == {"val_source": "test"}


def test_unet_patchgan_split_is_a_seeded_frame_split_of_train_plus_test(gopro_root):
    sizes = [4, 2, 2]  # 8 = the 6 train pairs + 2 test pairs, like 2,213 = 2,103 + 110
    a = gopro_split(gopro_root, val_source="unet_patchgan", split_sizes=sizes, seed=1)
    b = gopro_split(gopro_root, val_source="unet_patchgan", split_sizes=sizes, seed=1)
    c = gopro_split(gopro_root, val_source="unet_patchgan", split_sizes=sizes, seed=2)
    parts = [_frames(a.train), _frames(a.val), _frames(a.test)]
    assert [len(p) for p in parts] == sizes
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == _frames(gopro_pairs(gopro_root, "train")) | {
        "GOPR0101_11_00/000001.png",  # 2 test pairs spread evenly over the test split
        "GOPR0102_11_00/000002.png",
    }
    assert [a.train, a.val, a.test] == [b.train, b.val, b.test]
    assert [a.train, a.val] != [c.train, c.val]
    assert a.info == {
        "val_source": "unet_patchgan",
        "split_sizes": "4/2/2",
        "test_pairs_in_pool": "2",
    }
    with pytest.raises(DatasetError, match="split_sizes"):
        gopro_split(gopro_root, val_source="unet_patchgan", split_sizes=[8, 2, 2])
    dm = _dm(gopro_root, val_source="unet_patchgan", split_sizes=sizes, val_max_images=None)
    dm.setup("fit")
    dm.setup("test")
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (4, 2, 2)


def test_datamodule_batches(gopro_root):
    dm = _dm(gopro_root, val_sequences=1)
    assert (dm.crop_size, dm.scale, dm.protocol) == (16, 1, "deblur")
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 16, 16) and batch["target"].shape == (2, 3, 16, 16)
    assert batch["input"].dtype == torch.float32
    assert batch["input"].min() >= 0 and batch["input"].max() <= 1
    assert len(dm.train_dataloader()) == 2  # 4 pairs, batch 2, drop_last
    val = list(dm.val_dataloader())
    assert len(val) == 2  # the 2 frames of the held-out sequence
    assert val[0]["input"].shape == (1, 3, 32, 48)  # full frames
    assert val[0]["name"] == ["GOPR0001_11_00/000001.png"]
    dm.setup("test")
    assert len(dm.test_dataloader()) == 4


def test_split_is_logged_as_hyperparameters(gopro_root):
    logged = {}

    class Logger:
        def log_hyperparams(self, params):
            logged.update(params)

    class Trainer:
        def __init__(self) -> None:
            self.loggers = [Logger()]

    dm = _dm(gopro_root)
    dm.trainer = Trainer()
    dm.setup("fit")
    assert logged["data/val_source"] == "train_sequences"
    assert logged["data/val_sequences"] == "GOPR0001_11_00,GOPR0003_11_00"


def test_eval_crop(gopro_root):
    dm = _dm(gopro_root, eval_crop=16)
    dm.setup("validate")
    assert next(iter(dm.val_dataloader()))["target"].shape == (1, 3, 16, 16)


def test_resize_like_deblurgan_train_and_optionally_eval(gopro_root):
    dm = _dm(gopro_root, resize=[24, 16], crop_size=16, hflip=False, vflip=False, rot90=False)
    dm.setup("fit")
    _, sharp_path, _ = dm.train_set.pairs[0]
    small = resize_like_pil(read_image(sharp_path), (16, 24))
    crop = to_uint8(dm.train_set[0]["target"])
    windows = [c for c in range(24 - 16 + 1) if np.array_equal(small[:, c : c + 16], crop)]
    assert windows, "the training crop is not a window of the resized frame"
    assert dm.val_set[0]["target"].shape == (3, 32, 48)  # evaluation at full size by default
    resized_eval = _dm(gopro_root, resize=[24, 16], resize_eval=True)
    resized_eval.setup("fit")
    assert resized_eval.val_set[0]["input"].shape == (3, 16, 24)
    assert resized_eval.split_info["resize"] == "24x16 (train+eval)"


def test_training_items_depend_on_seed_epoch_and_index_only(gopro_root):
    dm = _dm(gopro_root, val_sequences=1)
    dm.setup("fit")
    first = dm.train_set[(1, 2)]
    torch.manual_seed(123)
    again = dm.train_set[(1, 2)]
    assert torch.equal(first["input"], again["input"])
    assert torch.equal(dm.train_set[2]["input"], dm.train_set[(0, 2)]["input"])
    assert not torch.equal(first["input"], dm.train_set[(2, 2)]["input"])  # a new epoch
    other = _dm(gopro_root, val_sequences=1, seed=1)
    other.setup("fit")
    assert not torch.equal(first["input"], other.train_set[(1, 2)]["input"])


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
    # Found before training by the data check (restoregan.data.preflight) ...
    with pytest.raises(DatasetError, match=r"is 48x32 \(WxH\), smaller than the crop 64x64"):
        _dm(gopro_root, crop_size=64, batch_size=1).setup("fit")
    # ... and, with the check off, by the item that reads it.
    dm = _dm(gopro_root, crop_size=64, batch_size=1, check="off")
    dm.setup("fit")
    with pytest.raises(DatasetError, match=r"is 48x32 \(WxH\), smaller than the crop 64x64"):
        next(iter(dm.train_dataloader()))


def test_batch_larger_than_dataset(gopro_root):
    with pytest.raises(DatasetError, match="fewer than batch_size=8"):
        _dm(gopro_root, batch_size=8).setup("fit")


def test_the_test_split_needs_no_valid_validation_setting(gopro_root):
    dm = _dm(gopro_root, val_sequences=5)  # more than the 3 train sequences
    dm.setup("test")  # what src/eval.py does
    assert len(dm.test_set) == 4
    with pytest.raises(DatasetError, match="val_sequences=5"):
        dm.setup("fit")
