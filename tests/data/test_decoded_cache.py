"""The decoded sub-image cache: build, reuse, rebuild, alignment, bad files, killed builds."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from restoregan.data.cache import read_manifest
from restoregan.data.decoded_cache import (
    CachedPairDataset,
    build_subimage_cache,
    cached_train_set,
    subimage_starts,
)
from restoregan.data.gopro import GoProDataModule
from restoregan.data.io import DatasetError
from restoregan.data.pairs import DegradedPairDataset, PairedImageDataset

NO_AUG = {"hflip": False, "vflip": False, "rot90": False}


def _source(pairs, **kwargs) -> PairedImageDataset:
    return PairedImageDataset(pairs=pairs, train=True, crop_size=8, seed=3, **NO_AUG, **kwargs)


@pytest.fixture
def folder_pairs(tmp_path, make_image):
    """Three 40x30 (HxW) noise pairs with 8-bit masks."""
    pairs, masks = [], []
    for i in range(3):
        a, b = tmp_path / "src" / f"blur/{i}.png", tmp_path / "src" / f"sharp/{i}.png"
        make_image(a, 40, 30, seed=10 + i)
        make_image(b, 40, 30, seed=20 + i)
        m = tmp_path / "src" / f"mask/{i}.png"
        m.parent.mkdir(parents=True, exist_ok=True)
        mask = np.random.default_rng(i).integers(0, 256, (40, 30), dtype=np.uint8)
        Image.fromarray(mask).save(m)
        pairs.append((a, b, f"{i}.png"))
        masks.append(m)
    return pairs, masks


def test_subimage_starts_cover_the_border() -> None:
    assert subimage_starts(48, 16, 8) == ([0, 8, 16, 24, 32], 16)
    assert subimage_starts(50, 16, 8) == ([0, 8, 16, 24, 32, 34], 16)
    assert subimage_starts(10, 16, 8) == ([0], 10)
    # On the LR grid of x4: a window and every start are multiples of 4.
    assert subimage_starts(50, 16, 8, 4) == ([0, 8, 16, 24, 32], 16)
    assert subimage_starts(1280, 480, 240)[0] == [0, 240, 480, 720, 800]


def _find(frame: np.ndarray, crop: np.ndarray) -> tuple[int, int]:
    """Where ``crop`` sits in ``frame`` (noise images: a unique place)."""
    h, w = crop.shape[:2]
    hits = [
        (t, left)
        for t in range(frame.shape[0] - h + 1)
        for left in range(frame.shape[1] - w + 1)
        if np.array_equal(frame[t : t + h, left : left + w], crop)
    ]
    assert len(hits) == 1, hits
    return hits[0]


def _uint8(t: torch.Tensor) -> np.ndarray:
    return np.rint(t.permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def test_build_then_reuse_without_decoding(tmp_path, folder_pairs, monkeypatch) -> None:
    pairs, masks = folder_pairs
    source = _source(pairs, masks=masks)
    root = build_subimage_cache(tmp_path / "cache", source, size=16, step=8)
    manifest = read_manifest(root)
    # 40 rows: 0, 8, 16, 24; 30 columns: 0, 8, 14 -> 12 sub-images per frame.
    assert len(manifest["items"]) == 3 * 12
    assert manifest["params"]["files"][0][0] == str(pairs[0][0].resolve())

    def no_decode(self, index):
        raise AssertionError("the second use decoded a frame: the cache was rebuilt")

    monkeypatch.setattr(PairedImageDataset, "frame", no_decode)
    assert build_subimage_cache(tmp_path / "cache", source, size=16, step=8) == root
    assert len(CachedPairDataset(root, source)) == 3


def test_changed_source_rebuilds(tmp_path, folder_pairs, make_image) -> None:
    pairs, _ = folder_pairs
    source = _source(pairs)
    root = build_subimage_cache(tmp_path / "cache", source, size=16, step=8)
    before = CachedPairDataset(root, source).subimage(0)[1].copy()
    new = make_image(pairs[0][1], 40, 30, seed=99)  # same path, new pixels and mtime
    os.utime(pairs[0][1], ns=(1, 1))  # the mtime surely differs from the first build's
    build_subimage_cache(tmp_path / "cache", source, size=16, step=8)
    after = CachedPairDataset(root, source).subimage(0)[1]
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, new[:16, :16])
    # Other crop parameters are another cache: rebuilt too.
    build_subimage_cache(tmp_path / "cache", source, size=24, step=12)
    assert read_manifest(root)["params"]["size"] == 24


def test_crops_from_the_cache_are_aligned_with_the_source(tmp_path, folder_pairs) -> None:
    pairs, masks = folder_pairs
    source = _source(pairs, masks=masks)
    data = CachedPairDataset(
        build_subimage_cache(tmp_path / "cache", source, size=16, step=8), source
    )
    for n in (0, 5, 11, 20):  # every stored sub-image is its frame's region, mask included
        frame, top, left, h, w = data.items[n][:5]
        inp, target, mask = source.frame(frame)
        sub = data.subimage(n)
        np.testing.assert_array_equal(sub[0], inp[top : top + h, left : left + w])
        np.testing.assert_array_equal(sub[1], target[top : top + h, left : left + w])
        np.testing.assert_array_equal(sub[2], mask[top : top + h, left : left + w])
    for key in [(0, 0), (1, 2), (4, 1)]:  # training items: input, target, mask at one place
        item = data[key]
        inp, target, mask = source.frame(key[1])
        t, left = _find(target, _uint8(item["target"]))
        np.testing.assert_array_equal(_uint8(item["input"]), inp[t : t + 8, left : left + 8])
        torch.testing.assert_close(
            item["mask"][0], torch.from_numpy(mask[t : t + 8, left : left + 8])
        )
        assert item["name"] == pairs[key[1]][2]
    # Same key, same crop (resume is exact); another epoch, another crop.
    assert torch.equal(data[(1, 2)]["target"], data[(1, 2)]["target"])
    assert not torch.equal(data[(1, 2)]["target"], data[(2, 2)]["target"])


def test_sr_subimages_keep_the_lr_grid(tmp_path, make_image) -> None:
    hr = tmp_path / "hr" / "a.png"
    make_image(hr, 36, 44, seed=5)
    source = DegradedPairDataset(
        pairs=[(hr, hr, "a.png")], kernels=None, seed=0, scale=4, train=True, crop_size=8, **NO_AUG
    )
    data = CachedPairDataset(
        build_subimage_cache(tmp_path / "cache", source, size=16, step=8), source
    )
    inp, target, _ = source.frame(0)
    for n, (_, top, left, h, w, *_) in enumerate(data.items):
        assert top % 4 == 0 and left % 4 == 0
        lr, tg, _ = data.subimage(n)
        np.testing.assert_array_equal(tg, target[top : top + h, left : left + w])
        np.testing.assert_array_equal(
            lr, inp[top // 4 : (top + h) // 4, left // 4 : (left + w) // 4]
        )
    item = data[(0, 0)]
    t, left = _find(target, _uint8(item["target"]))
    assert t % 4 == 0 and left % 4 == 0 and item["input"].shape == (3, 2, 2)
    np.testing.assert_array_equal(
        _uint8(item["input"]), inp[t // 4 : t // 4 + 2, left // 4 : left // 4 + 2]
    )


def _no_temp_left(parent: Path) -> bool:
    return not list(parent.glob(".cache.tmp-*"))


def test_corrupt_image_is_named_and_leaves_nothing(tmp_path, folder_pairs) -> None:
    pairs, _ = folder_pairs
    pairs[1][1].write_bytes(pairs[1][1].read_bytes()[:200])  # a truncated PNG
    with pytest.raises(DatasetError, match=r"sharp/1\.png") as err:
        build_subimage_cache(tmp_path / "cache", _source(pairs), size=16, step=8)
    assert "decoded cache" in str(err.value) and "truncated" in str(err.value)
    assert not (tmp_path / "cache").exists() and _no_temp_left(tmp_path)


def test_interrupted_build_leaves_no_half_cache(tmp_path, folder_pairs, monkeypatch) -> None:
    pairs, _ = folder_pairs
    real = PairedImageDataset.frame

    def interrupted(self, index):
        if index == 2:
            raise KeyboardInterrupt
        return real(self, index)

    monkeypatch.setattr(PairedImageDataset, "frame", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_subimage_cache(tmp_path / "cache", _source(pairs), size=16, step=8)
    assert not (tmp_path / "cache").exists() and _no_temp_left(tmp_path)


def test_killed_build_is_swept_by_the_next(tmp_path, folder_pairs) -> None:
    pairs, _ = folder_pairs
    # SIGKILL runs no `finally`: what it leaves is a temp folder owned by a dead process.
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / ".cache.tmp-killed"
    (stale / "input.u8").parent.mkdir(parents=True)
    (stale / "input.u8").write_bytes(b"half")
    (stale / ".owner").write_text(f"{socket.gethostname()} {dead.pid}\n")
    alive = tmp_path / ".cache.tmp-running"  # a build in progress (this process) is kept
    alive.mkdir()
    (alive / ".owner").write_text(f"{socket.gethostname()} {os.getpid()}\n")
    root = build_subimage_cache(tmp_path / "cache", _source(pairs), size=16, step=8)
    assert not stale.exists() and alive.exists()
    assert not (root / ".owner").exists()


def test_crop_larger_than_subimages_is_refused(tmp_path, folder_pairs) -> None:
    pairs, _ = folder_pairs
    source = PairedImageDataset(pairs=pairs, train=True, crop_size=24, seed=0)
    root = build_subimage_cache(tmp_path / "cache", source, size=16, step=8)
    with pytest.raises(DatasetError, match="crop_size=24 is larger"):
        CachedPairDataset(root, source)


def test_gopro_cache_option_and_worker_pickling(tmp_path, gopro_root) -> None:
    kwargs = {"root": str(gopro_root), "crop_size": 16, "batch_size": 2, "num_workers": 0}
    dm = GoProDataModule(cache=str(tmp_path / "c"), **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    assert isinstance(dm.train_set, CachedPairDataset)
    assert (tmp_path / "c" / "gopro-train" / "manifest.json").is_file()
    assert isinstance(dm.val_set, PairedImageDataset)  # validation: full source frames
    assert dm.val_set[0]["target"].shape == (3, 32, 48)
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == batch["target"].shape == (2, 3, 16, 16)
    clone = pickle.loads(pickle.dumps(dm.train_set))  # what a spawned worker receives
    assert torch.equal(clone[(0, 1)]["target"], dm.train_set[(0, 1)]["target"])
    loader = DataLoader(dm.train_set, batch_size=2, num_workers=1)
    assert next(iter(loader))["target"].shape == (2, 3, 16, 16)
    assert cached_train_set(None, dm.train_set.source, what="x") is dm.train_set.source
