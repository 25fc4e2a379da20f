"""ESRGAN's two recipes end to end on a tiny DIV2K-layout folder, then src/eval.py on an SR
benchmark: per-iteration LR steps, PSNR -> GAN initialisation, EMA in checkpoint and eval."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from skimage import data as skdata
from skimage.metrics import peak_signal_noise_ratio

from eval import run as run_eval
from restoregan.data.degradations import downsample_bicubic
from restoregan.data.io import read_image, to_tensor, write_image
from restoregan.nets.generators.rrdb import RRDBNet
from tests.helpers import compose
from train import train

TINY_RRDB = {"nf": 8, "n_blocks": 1, "growth": 8}
TINY_SR = [
    "logger=csv",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.val_check_interval=2",
    *(f"generator.{k}={v}" for k, v in TINY_RRDB.items()),
    "data.crop_size=32",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.val_max_images=2",
    "callbacks.sample_grid=null",
    "test_after_fit=false",
]
# The GAN stage: 32-pixel VGG discriminator (its dense head follows data.crop_size), random VGG19.
TINY_GAN = ["discriminator.nf=8", "loss.terms.perceptual.weights=random"]
SR_PROTOCOL = "sr-y-bt601-crop4-8bit-ssim2d"


def photo_crops(folder: Path, names: list[str], *, size: int, seed: int) -> None:
    """Random `size` x `size` crops of scikit-image photographs, as PNG files."""
    rng = np.random.default_rng(seed)
    photos = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    for i, name in enumerate(names):
        photo = photos[i % len(photos)]
        top = int(rng.integers(0, photo.shape[0] - size))
        left = int(rng.integers(0, photo.shape[1] - size))
        write_image(folder / name, photo[top : top + size, left : left + size])


def div2k_tree(root: Path, *, lr_folders: bool) -> Path:
    """DIV2K layout, 4 train + 2 valid HR images of 64x64; x4 LR folders optional."""
    photo_crops(root / "DIV2K_train_HR", [f"{i:04d}.png" for i in range(1, 5)], size=64, seed=0)
    photo_crops(root / "DIV2K_valid_HR", ["0801.png", "0802.png"], size=64, seed=1)
    if lr_folders:
        for split in ("train", "valid"):
            for hr in (root / f"DIV2K_{split}_HR").glob("*.png"):
                lr = downsample_bicubic(read_image(hr), 4)
                write_image(root / f"DIV2K_{split}_LR_bicubic" / "X4" / f"{hr.stem}x4.png", lr)
    return root


def _train_cfg(root: Path, *overrides: str):
    return compose("train", [*TINY_SR, *overrides], root)


@pytest.fixture(scope="module")
def psnr_run(tmp_path_factory) -> Path:
    """esrgan_psnr, 4 iterations on DIV2K without LR folders (made on the fly)."""
    work = tmp_path_factory.mktemp("esrgan_psnr")
    data = div2k_tree(work / "DIV2K", lr_folders=False)
    cfg = _train_cfg(
        work,
        "model=esrgan_psnr",
        f"data.root={data}",
        "trainer.max_steps=4",
        "model.scheduler_g.milestones=[2,3]",
    )
    train(cfg)
    return work / "out"


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory, psnr_run: Path) -> tuple[Path, Path]:
    """esrgan from the PSNR checkpoint, 4 iterations on DIV2K with LR folders."""
    work = tmp_path_factory.mktemp("esrgan")
    data = div2k_tree(work / "DIV2K", lr_folders=True)
    cfg = _train_cfg(
        work,
        "model=esrgan",
        *TINY_GAN,
        f"data.root={data}",
        f"model.init_from={psnr_run / 'checkpoints' / 'last.ckpt'}",
        "trainer.max_steps=8",  # 4 iterations x (1 discriminator + 1 generator step)
        "model.scheduler_g.milestones=[2]",
        "model.scheduler_d.milestones=[2]",
    )
    train(cfg)
    return work / "out", data


def _lrs(ckpt: dict) -> list[tuple[int, float]]:
    return [(s["last_epoch"], s["_last_lr"][0]) for s in ckpt["lr_schedulers"]]


def test_psnr_stage_steps_its_schedule_every_iteration(psnr_run: Path) -> None:
    ckpt = torch.load(psnr_run / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 4
    # Milestones count generator iterations: halved after 2 and after 3 of the 4.
    assert _lrs(ckpt) == [(4, pytest.approx(2e-4 / 4))]
    assert not any(k.startswith("discriminator.") for k in ckpt["state_dict"])
    assert "generator_ema" not in ckpt
    assert ckpt["restoregan"]["generator"]["_target_"].endswith("RRDBNet")
    assert ckpt["restoregan"]["config"]["data"]["_target_"].endswith("DIV2KDataModule")


def test_gan_stage_starts_from_the_psnr_weights(psnr_run: Path, tmp_path: Path) -> None:
    source = psnr_run / "checkpoints" / "last.ckpt"
    cfg = _train_cfg(
        tmp_path, "model=esrgan", *TINY_GAN, "data.root=x", f"model.init_from={source}"
    )
    generator = instantiate(cfg.model).generator
    state = torch.load(source, weights_only=False)["state_dict"]
    for key, value in generator.state_dict().items():
        assert torch.equal(value, state[f"generator.{key}"]), key


def test_gan_stage_checkpoint_has_schedules_and_ema(gan_run, psnr_run: Path) -> None:
    out, _ = gan_run
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 8
    # Both schedules step once per generator iteration: 4 steps, halved at the 2nd.
    assert _lrs(ckpt) == [(4, pytest.approx(5e-5)), (4, pytest.approx(5e-5))]
    assert ckpt["hyper_parameters"]["init_from"].endswith("last.ckpt")
    assert ckpt["hyper_parameters"]["discriminator"] == "VGGStyleDiscriminator"
    # After 4 updates at decay 0.999 the average has barely left the PSNR weights it started
    # from, while the trained weights have moved: the EMA is a separate, saved copy.
    start = torch.load(psnr_run / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    trained = {
        k[len("generator.") :]: v for k, v in ckpt["state_dict"].items() if "generator." in k
    }
    ema = ckpt["generator_ema"]
    assert set(ema) == set(trained)
    moved = sum((trained[k] - start[f"generator.{k}"]).abs().sum() for k in ema)
    ema_moved = sum((ema[k] - start[f"generator.{k}"]).abs().sum() for k in ema)
    assert 0 < ema_moved < 0.05 * moved
    logged = (out / "csv" / "metrics.csv").read_text()
    for key in ("train/adv", "train/perceptual", "train/pixel", "val/psnr_input"):
        assert key in logged


def test_vgg_discriminator_size_mismatch_fails_at_start(psnr_run: Path, tmp_path: Path) -> None:
    data = psnr_run.parent / "DIV2K"
    cfg = _train_cfg(
        tmp_path, "model=esrgan", *TINY_GAN, f"data.root={data}", "discriminator.input_size=64"
    )
    with pytest.raises(
        ValueError, match=r"VGGStyleDiscriminator is built for 64x64 inputs but the "
    ):
        train(cfg)
    assert not (tmp_path / "out" / "checkpoints").exists()


def _y_psnr(pred01: np.ndarray, target: np.ndarray) -> float:
    """Y-channel (BT.601) PSNR with a 4-pixel border crop, written out independently."""

    def y(img: np.ndarray) -> np.ndarray:
        rgb = img.astype(np.float64) / 255.0
        return (16 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2])[
            4:-4, 4:-4
        ]

    pred = np.round(np.clip(pred01, 0, 1) * 255)
    return peak_signal_noise_ratio(y(target), y(pred), data_range=255)


def _run_eval(tmp_path: Path, ckpt: Path, root: Path, name: str) -> tuple[dict, list[dict]]:
    cfg = compose(
        "eval",
        [f"ckpt_path={ckpt}", "data=sr_benchmark", f"data.root={root}", f"data.name={name}"],
        tmp_path,
    )
    out = tmp_path / "eval"
    run_eval(cfg, str(out))
    with open(out / "per_image.csv") as f:
        rows = list(csv.DictReader(f))
    return json.loads((out / "summary.json").read_text()), rows


def test_eval_scores_the_ema_weights_on_the_y_channel(gan_run, tmp_path: Path) -> None:
    out, _ = gan_run
    root = tmp_path / "benchmarks"
    photo_crops(root / "Set3" / "HR", ["a.png", "b.png", "c.png"], size=40, seed=2)
    ckpt = out / "checkpoints" / "last.ckpt"
    summary, rows = _run_eval(tmp_path, ckpt, root, "Set3")
    assert summary["protocol"] == SR_PROTOCOL and summary["count"] == 3
    assert list(rows[0]) == ["name", "psnr", "ssim", "psnr_input", "ssim_input", "protocol"]

    saved = torch.load(ckpt, weights_only=False)
    ema, raw = RRDBNet(**TINY_RRDB).eval(), RRDBNet(**TINY_RRDB).eval()
    ema.load_state_dict(saved["generator_ema"])
    raw.load_state_dict({k[10:]: v for k, v in saved["state_dict"].items() if "generator." in k})
    for row in rows:
        hr = read_image(root / "Set3" / "HR" / row["name"])
        lr = to_tensor(downsample_bicubic(hr, 4)).unsqueeze(0)
        with torch.no_grad():
            by_ema, by_raw = (net(lr)[0].permute(1, 2, 0).numpy() for net in (ema, raw))
        bicubic = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
        assert float(row["psnr"]) == pytest.approx(_y_psnr(by_ema, hr), abs=1e-4)
        assert abs(float(row["psnr"]) - _y_psnr(by_raw, hr)) > 1e-3  # the test can tell
        assert float(row["psnr_input"]) == pytest.approx(
            _y_psnr(bicubic[0].permute(1, 2, 0).numpy(), hr), abs=1e-4
        )


def test_eval_on_real_set5(gan_run, shared_data: Path, tmp_path: Path) -> None:
    out, _ = gan_run
    summary, rows = _run_eval(
        tmp_path, out / "checkpoints" / "last.ckpt", shared_data / "sr", "Set5"
    )
    assert summary["protocol"] == SR_PROTOCOL
    assert [r["name"] for r in rows] == [
        "baby.png",
        "bird.png",
        "butterfly.png",
        "head.png",
        "woman.png",
    ]
    # Bicubic x4 of the shipped LR (torch, a = -0.75), Y channel, 4-pixel crop: 28.63 dB. The
    # literature's 28.42 dB is MATLAB's imresize (a = -0.5); a wrong colour space, crop or
    # scale would be off by a dB or more.
    assert summary["psnr_input"] == pytest.approx(28.63, abs=0.01)
    assert math.isfinite(summary["psnr"]) and 0 < summary["ssim"] < 1
