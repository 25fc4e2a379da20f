"""The data check in every datamodule's setup: the splits it builds, before any step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from restoregan.data.blur_lr import BlurLRDataModule
from restoregan.data.demo import DemoDataModule
from restoregan.data.gopro import GoProDataModule
from restoregan.data.io import DatasetError
from restoregan.data.paired_folder import PairedFolderDataModule
from restoregan.data.partial_blur_data import PartialBlurDataModule
from restoregan.data.preflight import DataCheckError
from restoregan.data.sr import DIV2KDataModule, SRBenchmarkDataModule
from tests.data.test_partial_blur_data import SMALL_DEMO
from tests.helpers import TINY_MODEL
from tests.test_scripts import run_script


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _folders(root: Path, make_image, n: int, size=(24, 32)) -> None:
    for i in range(n):
        make_image(root / "blur" / f"img{i}.png", *size, seed=i)
        make_image(root / "sharp" / f"img{i}.png", *size, seed=100 + i)
        mask = np.full(size, 40 * i, np.uint8)
        (root / "mask").mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(root / "mask" / f"img{i}.png")


def _paired(tmp_path: Path, **kwargs) -> PairedFolderDataModule:
    return PairedFolderDataModule(
        input_dir=str(tmp_path / "tr/blur"),
        target_dir=str(tmp_path / "tr/sharp"),
        val_input_dir=str(tmp_path / "va/blur"),
        val_target_dir=str(tmp_path / "va/sharp"),
        mask_dir=str(tmp_path / "tr/mask"),
        val_mask_dir=str(tmp_path / "va/mask"),
        crop_size=16,
        batch_size=2,
        num_workers=0,
        check_cache=str(tmp_path / "cache"),
        **kwargs,
    )


def test_paired_folders_report_every_split_at_setup(tmp_path, make_image):
    _folders(tmp_path / "tr", make_image, 4)
    _folders(tmp_path / "va", make_image, 2)
    dm = _paired(tmp_path)
    dm.setup("fit")  # all good
    make_image(tmp_path / "tr/sharp/img1.png", 24, 30, seed=5)  # other size
    _truncate(tmp_path / "tr/blur/img2.png")
    Image.new("L", (10, 10)).save(tmp_path / "va/mask/img0.png")
    with pytest.raises(DataCheckError) as err:
        _paired(tmp_path).setup("fit")
    message = str(err.value)
    assert message.startswith("3 problem(s) found in the data before training")
    assert "[train] '" + str(tmp_path / "tr/blur/img1.png") in message
    assert "expected the same size" in message
    assert "[train] '" + str(tmp_path / "tr/blur/img2.png") in message and "truncated" in message
    assert "[val] Mask '" + str(tmp_path / "va/mask/img0.png") in message
    # headers: the truncated file passes (its header is intact); off: nothing is checked.
    with pytest.raises(DataCheckError, match=r"^2 problem\(s\).*data.check=headers"):
        _paired(tmp_path, check="headers").setup("fit")
    _paired(tmp_path, check="off").setup("fit")
    with pytest.raises(DatasetError, match=r"data\.check must be one of full, headers, off"):
        _paired(tmp_path, check="fast")


def test_gopro_checks_the_test_split_when_it_is_used(gopro_root):
    _truncate(gopro_root / "test/GOPR0102_11_00/sharp/000002.png")
    common = {"root": str(gopro_root), "crop_size": 16, "batch_size": 2, "num_workers": 0}
    dm = GoProDataModule(**common)
    dm.setup("fit")  # validation holds out train sequences: the test split is not read
    with pytest.raises(
        DataCheckError,
        match=r"(?s)before evaluation.*\[test\] '.*GOPR0102_11_00/sharp/000002\.png'",
    ):
        dm.setup("test")
    with pytest.raises(DataCheckError, match=r"\[val\] .*GOPR0102_11_00/sharp/000002\.png"):
        GoProDataModule(**common, val_source="test").setup("fit")


def test_gopro_resize_is_what_the_crop_needs(gopro_root):
    common = {"root": str(gopro_root), "batch_size": 2, "num_workers": 0}
    GoProDataModule(**common, crop_size=40, resize=[48, 40]).setup("fit")  # 48x32 frames
    with pytest.raises(DataCheckError, match="resized to 48x32, smaller than the crop 40x40"):
        GoProDataModule(**common, crop_size=40, resize=[48, 32]).setup("fit")


def test_div2k_and_sr_benchmarks_need_hr_scale_times_lr(tmp_path, make_image):
    root = tmp_path / "DIV2K"
    for split, ids in (("train", range(1, 5)), ("valid", range(801, 803))):
        for i in ids:
            make_image(root / f"DIV2K_{split}_HR" / f"{i:04d}.png", 64, 72, seed=i)
            lr_size = (16, 18) if i != 3 else (16, 36)
            make_image(root / f"DIV2K_{split}_LR_bicubic/X4/{i:04d}x4.png", *lr_size, seed=i)
    dm = DIV2KDataModule(root=str(root), crop_size=32, batch_size=2, num_workers=0)
    with pytest.raises(DataCheckError, match=r"0003x4\.png' is 36x16 .*expected target = 4 x"):
        dm.setup("fit")
    bench = tmp_path / "sr"
    make_image(bench / "Set5/HR/baby.png", 40, 40)
    make_image(bench / "Set5/LR_bicubic/X4/babyx4.png", 20, 20)
    with pytest.raises(DataCheckError, match=r"babyx4\.png' is 20x20"):
        SRBenchmarkDataModule(root=str(bench), name="Set5").setup("test")


def test_blur_lr_training_images_must_hold_the_crop(tmp_path, make_image):
    make_image(tmp_path / "eval/a.png", 64, 64)
    for i in range(2):
        make_image(tmp_path / "train" / f"{i}.png", 64, 64 if i else 60, seed=i)
    dm = BlurLRDataModule(
        root=str(tmp_path / "eval"),
        train_root=str(tmp_path / "train"),
        crop_size=64,
        batch_size=1,
        num_workers=0,
    )
    with pytest.raises(DataCheckError, match=r"(?s)^1 problem.*0\.png' is 60x64 .*crop 64x64"):
        dm.setup("fit")


def test_generated_sets_are_checked_too(tmp_path):
    demo = DemoDataModule(
        root=str(tmp_path / "demo"),
        max_side=64,
        train_variants=1,
        val_variants=1,
        crop_size=32,
        batch_size=2,
        num_workers=0,
    )
    demo.prepare_data()
    demo.setup("fit")
    _truncate(tmp_path / "demo/train/blur/chelsea_0.png")
    with pytest.raises(DataCheckError, match=r"demo/train/blur/chelsea_0\.png'.*truncated"):
        demo.setup("fit")
    partial = PartialBlurDataModule(cache_dir=str(tmp_path / "pb"), **SMALL_DEMO)
    partial.prepare_data()
    partial.setup("fit")
    Image.new("RGB", (8, 8)).save(tmp_path / "pb/train/mask/chelsea_1.png")
    with pytest.raises(DataCheckError, match=r"(?s)^2 problem.*chelsea_1\.png' is a RGB image"):
        partial.setup("fit")


@pytest.mark.slow  # train.py's imports: about 10 s on 2 shared cores
def test_train_on_a_broken_folder_stops_before_any_step_with_one_message(tmp_path, make_image):
    for i in range(4):
        make_image(tmp_path / "blur" / f"{i}.png", 40, 40, seed=i)
        make_image(tmp_path / "sharp" / f"{i}.png", 40, 40 if i else 36, seed=i)
    (tmp_path / "blur/3.png").write_text("not an image")
    proc = run_script(
        "train.py",
        *TINY_MODEL,
        "data=paired_folder",
        f"data.input_dir={tmp_path / 'blur'}",
        f"data.target_dir={tmp_path / 'sharp'}",
        "data.val_fraction=0.25",
        "trainer.max_steps=2",
        cwd=tmp_path,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "Traceback" not in out and proc.stderr.count("error: ") == 1, out[-3000:]
    message = proc.stderr[proc.stderr.index("error: ") :]
    assert "2 problem(s) found in the data before training (data.check=full)" in message
    assert f"'{tmp_path / 'blur/0.png'}' is 40x40 (WxH) but its target" in message
    assert f"'{tmp_path / 'blur/3.png'}': expected a readable image" in message
    assert not list(tmp_path.rglob("*.ckpt")) and not list(tmp_path.rglob("metrics.csv"))
