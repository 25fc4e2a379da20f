"""The command-line scripts as a user runs them: train on GoPro, evaluate, deblur, errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tests.helpers import PROJECT_ROOT, TINY_MODEL, make_gopro_tree


def run_script(
    script: str, *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    # The traceback switches only when a test sets them: a developer's own setting would
    # change what every error test sees.
    switches = ("HYDRA_FULL_ERROR", "RESTOREGAN_TRACEBACK", "_RESTOREGAN_SET_HYDRA_FULL_ERROR")
    base = {k: v for k, v in os.environ.items() if k not in switches}
    env = {
        **base,
        "RESTOREGAN_ROOT": str(cwd),
        "OMP_NUM_THREADS": "2",
        "WANDB_MODE": "offline",
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "src" / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def gopro_run(tmp_path_factory) -> tuple[Path, Path]:
    """A GoPro-layout folder and a checkpoint trained on it for 20 optimiser steps."""
    work = tmp_path_factory.mktemp("gopro_run")
    root = make_gopro_tree(work / "GOPRO_Large")
    run_dir = work / "run"
    run_script(
        "train.py",
        "model=deblurgan",
        "data=gopro",
        f"data.root={root}",
        "trainer.max_steps=20",
        *TINY_MODEL,
        "data.val_max_images=2",
        "data.val_sequences=1",  # the tree has 2 train sequences: validate on one
        f"hydra.run.dir={run_dir}",
        cwd=work,
    )
    return root, run_dir / "checkpoints" / "last.ckpt"


@pytest.mark.slow
def test_eval_writes_per_image_table_that_matches_skimage(gopro_run, tmp_path: Path) -> None:
    root, ckpt = gopro_run
    out = tmp_path / "eval"
    proc = run_script(
        "eval.py",
        f"ckpt_path={ckpt}",
        "data=gopro",
        f"data.root={root}",
        "save_images=true",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert "deblur-rgb-8bit-ssim2d" in proc.stdout

    summary = json.loads((out / "summary.json").read_text())
    with open(out / "per_image.csv") as f:
        rows = list(csv.DictReader(f))
    assert summary["protocol"] == "deblur-rgb-8bit-ssim2d"
    assert summary["count"] == len(rows) == 4  # the whole test split: 2 sequences x 2 frames
    assert list(rows[0]) == ["name", "psnr", "ssim", "psnr_input", "ssim_input", "protocol"]
    assert {r["protocol"] for r in rows} == {"deblur-rgb-8bit-ssim2d"}
    assert abs(summary["psnr"] - np.mean([float(r["psnr"]) for r in rows])) < 1e-4
    for row in rows:
        seq, frame = row["name"].split("/")
        sharp = np.asarray(Image.open(root / "test" / seq / "sharp" / frame))
        blur = np.asarray(Image.open(root / "test" / seq / "blur" / frame))
        restored = np.asarray(Image.open(out / "images" / seq / frame))
        kw = {
            "channel_axis": -1,
            "gaussian_weights": True,
            "sigma": 1.5,
            "use_sample_covariance": False,
            "data_range": 255,
        }
        assert float(row["psnr"]) == pytest.approx(
            peak_signal_noise_ratio(sharp, restored, data_range=255), abs=1e-4
        )
        assert float(row["ssim"]) == pytest.approx(
            structural_similarity(sharp, restored, **kw), abs=1e-5
        )
        assert float(row["psnr_input"]) == pytest.approx(
            peak_signal_noise_ratio(sharp, blur, data_range=255), abs=1e-4
        )


@pytest.mark.slow
def test_deblur_restores_any_size_and_keeps_names(gopro_run, tmp_path: Path) -> None:
    _, ckpt = gopro_run
    inputs = tmp_path / "photos"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save(inputs / "odd.png")
    Image.fromarray(rng.integers(0, 256, (41, 30), dtype=np.uint8)).save(inputs / "gray.png")
    Image.fromarray(rng.integers(0, 256, (29, 45, 3), dtype=np.uint8)).save(inputs / "photo.jpg")
    out = tmp_path / "restored"
    run_script("deblur.py", f"ckpt_path={ckpt}", f"input={inputs}", f"output={out}", cwd=tmp_path)
    sizes = {p.name: Image.open(p).size for p in out.iterdir()}
    assert sizes == {"odd.png": (53, 37), "gray.png": (30, 41), "photo.jpg": (45, 29)}
    assert Image.open(out / "gray.png").mode == "RGB"


def test_train_reports_missing_gopro_root_without_traceback(tmp_path: Path) -> None:
    proc = run_script(
        "train.py",
        "data=gopro",
        f"data.root={tmp_path / 'nowhere'}",
        *TINY_MODEL,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert str(tmp_path / "nowhere") in proc.stderr
    assert "train/<sequence>/blur/<frame>.png" in proc.stderr  # shows the expected layout


def test_eval_rejects_a_broken_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ckpt"
    bad.write_bytes(b"not a checkpoint")
    proc = run_script("eval.py", f"ckpt_path={bad}", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{bad}: could not read it as a PyTorch checkpoint" in proc.stderr


def test_deblur_loads_an_official_deblurgan_2018_checkpoint(tmp_path: Path) -> None:
    """generator=resnet + a latest_net_G.pth in the 2018 `model.N` layout restores like the original."""
    import torch

    from restoregan.data.io import to_tensor
    from tests.nets.test_deblurgan_checkpoint import _reference, _reference_output

    torch.manual_seed(0)
    reference = _reference(ngf=64, n_blocks=9).eval()
    pth = tmp_path / "latest_net_G.pth"
    torch.save(reference.state_dict(), pth)
    image = np.random.default_rng(1).integers(0, 256, (36, 44, 3), dtype=np.uint8)  # multiple of 4
    (tmp_path / "in").mkdir()
    Image.fromarray(image).save(tmp_path / "in" / "blurry.png")

    run_script(
        "deblur.py",
        "generator=resnet",
        f"ckpt_path={pth}",
        f"input={tmp_path / 'in'}",
        f"output={tmp_path / 'out'}",
        cwd=tmp_path,
    )
    restored = np.asarray(Image.open(tmp_path / "out" / "blurry.png")).astype(int)
    with torch.no_grad():
        expected = _reference_output(reference, to_tensor(image)[None] * 2 - 1)[0]
    expected = ((expected.clamp(-1, 1) + 1) / 2 * 255).round().permute(1, 2, 0).numpy().astype(int)
    assert np.abs(restored - expected).max() <= 1  # float noise may flip one rounding


def test_params_prints_seed_tables(tmp_path: Path) -> None:
    proc = run_script("params.py", "model=deblurgan_keras", "keras=true", cwd=tmp_path)
    assert (
        "11,399,171" in proc.stdout and "3,098,370" in proc.stdout
    )  # the DeblurGAN Keras port's Tables 2 and 3
    assert "conv" in proc.stdout.lower() and "BatchNorm2d" in proc.stdout
    proc = run_script("params.py", "model=convdeconv_gan", "table=false", cwd=tmp_path)
    assert (
        "3,102,467 (Keras counting" in proc.stdout
    )  # the ResNet/PatchGAN paper's layer table at 224x224
