"""data.degrade_on=gpu: the batch blurred on the device equals the CPU-degraded items."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from restoregan.data.blur_lr import BlurLRDataModule
from restoregan.data.degradations import TrajectoryKernel, blur_image, gaussian_kernel
from restoregan.data.gpu_degrade import (
    centre_pad_kernel,
    degrade_batch,
    kernel_bound,
    symmetric_window,
)
from restoregan.data.io import DatasetError
from restoregan.data.pairs import DegradedPairDataset


def test_centre_padding_keeps_the_blur() -> None:
    image = np.random.default_rng(0).random((20, 18, 3), dtype=np.float32)
    kernel = np.random.default_rng(1).random((4, 7)).astype(np.float32)  # even and odd sides
    kernel /= kernel.sum()
    padded = centre_pad_kernel(kernel, 11)
    assert padded.shape == (11, 11) and padded.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(blur_image(image, padded), blur_image(image, kernel), atol=1e-5)
    with pytest.raises(ValueError):
        centre_pad_kernel(kernel, 10)


def test_symmetric_window_is_the_padded_frame() -> None:
    image = np.arange(10 * 12 * 3).reshape(10, 12, 3)
    full = np.pad(image, ((4, 4), (4, 4), (0, 0)), mode="symmetric")
    for top, left in [(-4, -4), (-2, 3), (2, 5), (6, 8)]:
        np.testing.assert_array_equal(
            symmetric_window(image, top, left, 8, 8), full[top + 4 : top + 12, left + 4 : left + 12]
        )


def _datasets(tmp_path, make_image, kernels, scale=1):
    paths = []
    for i in range(4):
        p = tmp_path / f"{i}.png"
        make_image(p, 26, 30, seed=i)
        paths.append((p, p, p.name))
    common = {"pairs": paths, "kernels": kernels, "seed": 5, "train": True, "crop_size": 16}
    common["scale"] = scale
    return DegradedPairDataset(**common), DegradedPairDataset(degrade_on="gpu", **common)


def _bank(kind: str) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    if kind == "gaussian":  # symmetric kernels of different sizes
        return [gaussian_kernel(s) for s in (0.8, 1.5, 2.0)]
    # fixed kernels of different, non-square sizes (as the Levin bank)
    return [k / k.sum() for k in (rng.random((5, 9)), rng.random((7, 3)), rng.random((1, 1)))]


def _compare(cpu, gpu, scale):
    keys = [(e, i) for e in range(3) for i in range(4)]  # crops at the borders included
    batch = default_collate([gpu[k] for k in keys])
    assert set(batch) == {"source", "target", "kernel", "name"}
    m = kernel_bound(gpu.kernels) // 2 + (3 * scale if scale > 1 else 0)
    assert batch["source"].shape == (12, 3, 16 + 2 * m, 16 + 2 * m)
    out = degrade_batch(batch, scale)
    assert set(out) == {"input", "target", "name"}
    expected = default_collate([cpu[k] for k in keys])
    torch.testing.assert_close(out["target"], expected["target"], rtol=0, atol=0)
    assert out["input"].shape == expected["input"].shape == (12, 3, 16 // scale, 16 // scale)
    return (out["input"] - expected["input"]).abs()


@pytest.mark.parametrize("kind", ["trajectory", "bank", "gaussian"])
def test_batch_blur_matches_the_cpu_items(tmp_path, make_image, kind) -> None:
    kernels = (
        TrajectoryKernel(num_steps=200, max_length=7.0) if kind == "trajectory" else _bank(kind)
    )
    diff = _compare(*_datasets(tmp_path, make_image, kernels), 1)
    # Both round to 8 bits; float rounding may move a value across a rounding boundary.
    assert diff.max() <= 1 / 255 + 1e-6 and (diff > 0).float().mean() < 0.01


def test_batch_blur_and_bicubic_match_the_cpu_items(tmp_path, make_image) -> None:
    # Symmetric kernels: the same pixels up to rounding, frame borders included.
    diff = _compare(*_datasets(tmp_path, make_image, _bank("gaussian"), scale=2), 2)
    assert diff.max() <= 1 / 255 + 1e-6 and (diff > 0).float().mean() < 0.01
    # Motion kernels: only LR pixels next to the frame border may differ (module docstring).
    traj = TrajectoryKernel(num_steps=200, max_length=7.0)
    diff = _compare(*_datasets(tmp_path, make_image, traj, scale=2), 2)
    assert (diff > 1 / 255 + 1e-6).float().mean() < 0.1


def test_evaluation_items_and_batches_are_unchanged(tmp_path, make_image) -> None:
    cpu, _ = _datasets(tmp_path, make_image, TrajectoryKernel(num_steps=200, max_length=7.0))
    batch = {"input": torch.zeros(1, 3, 4, 4), "target": torch.ones(1, 3, 4, 4)}
    assert degrade_batch(dict(batch)).keys() == batch.keys()
    assert cpu.degrade_on == "cpu"


def test_blur_lr_datamodule_blurs_on_the_batch(tmp_path, make_image) -> None:
    for i in range(3):
        make_image(tmp_path / "train" / f"{i}.png", 24, 24, seed=i)
        make_image(tmp_path / "eval" / f"{i}.png", 24, 24, seed=10 + i)
    kwargs = {
        "root": str(tmp_path / "eval"),
        "train_root": str(tmp_path / "train"),
        "scale": 1,
        "crop_size": 16,
        "batch_size": 2,
        "num_workers": 0,
        "trajectory": TrajectoryKernel(num_steps=200, max_length=5.0),
    }
    dm = BlurLRDataModule(degrade_on="gpu", **kwargs)
    dm.setup("fit")
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert batch["input"].shape == batch["target"].shape == (2, 3, 16, 16)
    val = dm.on_after_batch_transfer(next(iter(dm.val_dataloader())), 0)
    assert val["input"].shape == (1, 3, 24, 24) and "kernel" in val  # evaluation: on the CPU
    sr = BlurLRDataModule(degrade_on="gpu", **{**kwargs, "scale": 4})
    sr.setup("fit")
    batch = sr.on_after_batch_transfer(next(iter(sr.train_dataloader())), 0)
    assert batch["input"].shape == (2, 3, 4, 4) and batch["target"].shape == (2, 3, 16, 16)
    with pytest.raises(DatasetError, match="degrade_on=gpu"):
        BlurLRDataModule(degrade_on="gpu", target="lr", **{**kwargs, "scale": 4}).setup("fit")
