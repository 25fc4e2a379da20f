from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from restoregan.data.degradations import blur_image
from restoregan.data.demo import DEMO_PHOTOS, DemoDataModule, load_demo_photo, synthesize_demo
from restoregan.data.io import DatasetError, read_image, read_kernel

# Small and quick: 3 photographs at 64 px, 2 kernels per training photo.
SMALL = {
    "max_side": 64,
    "train_variants": 2,
    "val_variants": 1,
    "photos": ("astronaut", "chelsea", "coffee"),
    "val_photos": ("coffee",),
}


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_all_bundled_photographs_load_offline_in_colour():
    for name in DEMO_PHOTOS:
        photo = load_demo_photo(name)
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3, name
        assert np.ptp(photo.astype(int), axis=2).mean() > 2, f"{name} looks grayscale"


def test_layout_sizes_and_manifest(tmp_path):
    root = synthesize_demo(tmp_path / "demo", seed=0, **SMALL)
    assert sorted(_files(root)) == [
        "train/blur/astronaut_0.png",
        "train/blur/astronaut_1.png",
        "train/blur/chelsea_0.png",
        "train/blur/chelsea_1.png",
        "train/sharp/astronaut_0.png",
        "train/sharp/astronaut_1.png",
        "train/sharp/chelsea_0.png",
        "train/sharp/chelsea_1.png",
        "val/blur/coffee_0.png",
        "val/sharp/coffee_0.png",
    ]
    assert read_image(root / "train/sharp/chelsea_0.png").shape == (
        43,
        64,
        3,
    )  # 300x451 -> 64 long side
    blur, sharp = (read_image(root / f"train/{k}/astronaut_0.png") for k in ("blur", "sharp"))
    assert blur.shape == sharp.shape and not np.array_equal(blur, sharp)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["params"]["seed"] == 0 and manifest["params"]["kernel"]["num_steps"] == 2000
    assert manifest["pairs"] == {"train": 4, "val": 1}
    assert not [p for p in tmp_path.iterdir() if p.name != "demo"]  # no temp folders left


def test_same_seed_same_bytes_other_seed_other_blur(tmp_path):
    a = _files(synthesize_demo(tmp_path / "a", seed=5, **SMALL))
    b = _files(synthesize_demo(tmp_path / "b", seed=5, **SMALL))
    c = _files(synthesize_demo(tmp_path / "c", seed=6, **SMALL))
    assert a == b
    assert all(a[k] == c[k] for k in a if "/sharp/" in k)
    assert all(a[k] != c[k] for k in a if "/blur/" in k)


def test_changed_seed_regenerates_in_place(tmp_path):
    root = synthesize_demo(tmp_path / "demo", seed=0, **SMALL)
    before = _files(root)
    mtime = (root / "manifest.json").stat().st_mtime_ns
    synthesize_demo(root, seed=0, **SMALL)  # cached: untouched
    assert (root / "manifest.json").stat().st_mtime_ns == mtime
    synthesize_demo(root, seed=1, **SMALL)
    assert json.loads((root / "manifest.json").read_text())["params"]["seed"] == 1
    assert _files(root) != before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_concurrent_generation_is_safe(tmp_path):
    root = tmp_path / "demo"
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: synthesize_demo(root, seed=2, **SMALL), range(4)))
    assert _files(root) == _files(synthesize_demo(tmp_path / "ref", seed=2, **SMALL))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "ref"]


def test_never_deletes_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(DatasetError, match="not a demo cache"):
        synthesize_demo(tmp_path / "mine", **SMALL)
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"


def test_bad_split_arguments(tmp_path):
    with pytest.raises(DatasetError, match="strict subset"):
        synthesize_demo(tmp_path / "d", **{**SMALL, "val_photos": ("flower",)})


def test_datamodule_prepare_setup_and_batches(tmp_path):
    dm = DemoDataModule(
        root=str(tmp_path / "demo"), seed=0, crop_size=32, batch_size=2, num_workers=0, **SMALL
    )
    assert (dm.crop_size, dm.scale, dm.protocol) == (32, 1, "deblur")
    with pytest.raises(DatasetError, match=r"(?s)Demo data at '.*demo' is missing.*prepare_data"):
        dm.setup("fit")
    dm.prepare_data()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 3, 32, 32) and batch["target"].shape == (2, 3, 32, 32)
    assert batch["input"].min() >= 0 and batch["input"].max() <= 1
    val = next(iter(dm.val_dataloader()))
    assert val["name"] == ["coffee_0.png"] and val["input"].shape == (1, 3, 43, 64)
    other_seed = DemoDataModule(
        root=str(tmp_path / "demo"), seed=9, crop_size=32, batch_size=2, num_workers=0, **SMALL
    )
    with pytest.raises(DatasetError, match="other parameters"):
        other_seed.setup("fit")


def test_each_pair_saves_the_kernel_that_blurred_it(tmp_path):
    root = synthesize_demo(tmp_path / "demo", seed=0, **SMALL)
    assert sorted(p.name for p in (root / "train" / "kernel").iterdir()) == [
        "astronaut_0.npy",
        "astronaut_1.npy",
        "chelsea_0.npy",
        "chelsea_1.npy",
    ]
    for split, name in (("train", "chelsea_1"), ("val", "coffee_0")):
        kernel = read_kernel(root / split / "kernel" / f"{name}.npy")
        sharp = read_image(root / split / "sharp" / f"{name}.png")
        blurred = blur_image(sharp / np.float32(255), kernel) * 255
        np.testing.assert_array_equal(
            read_image(root / split / "blur" / f"{name}.png"), np.rint(blurred)
        )
    dm = DemoDataModule(root=str(root), seed=0, crop_size=32, num_workers=0, **SMALL)
    dm.setup("validate")
    item = dm.val_set[0]
    np.testing.assert_array_equal(
        item["kernel"].numpy(), read_kernel(root / "val" / "kernel" / "coffee_0.npy")
    )
