"""The Dual-GAN paper's chain: the multi-stage experiment (smoke size) and `pipeline=dual` with
stage checkpoints and with official-layout weight files."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from deblur import run as run_deblur
from experiments.multistage import run_multistage
from restoregan.data.io import DatasetError, read_image, to_tensor
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.generators.rrdb import RRDBNet
from restoregan.pipeline import DualGANPipeline
from restoregan.restore import restore
from tests.helpers import PROJECT_ROOT, compose
from train import train

SR_PROTOCOL = "sr-y-bt601-crop4-8bit-ssim2d"
METHODS = ["bicubic", "deblurgan", "deblur_bicubic", "esrgan", "dual_gan_psnr", "dual_gan"]


def _run(root: Path, *overrides: str, fit=train) -> dict:
    cfg = compose("train", list(overrides), root)
    return run_multistage(cfg, compose=lambda o: compose("train", o, root), fit=fit)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("dual_gan_smoke")
    result = _run(root, "experiment=dual_gan_smoke", "dual_gan.trainer=cpu")
    return root / "out", result


def test_smoke_experiment_trains_the_stages_and_writes_one_table(smoke) -> None:
    out, result = smoke
    rows = result["rows"]
    assert [(r["set"], r["method"]) for r in rows] == [("demo", m) for m in METHODS]
    assert all(r["protocol"] == SR_PROTOCOL and r["images"] == 2 for r in rows)
    assert all(math.isfinite(r["psnr"]) for r in rows)

    with open(out / "comparison.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["method"] for r in table] == METHODS
    assert list(table[0]) == ["set", "method", "label", "protocol", "images", "psnr", "ssim"]
    assert json.loads((out / "comparison.json").read_text())["rows"] == rows
    markdown = (out / "comparison.md").read_text()
    assert "| demo | Dual-GAN: deblurring stage, then ESRGAN |" in markdown
    assert SR_PROTOCOL in markdown
    # The reproduction table: the paper's Table 1 beside ours, marked smoke-scale.
    with open(out / "results.csv") as f:
        results = list(csv.DictReader(f))
    chain = [r for r in results if r["method"] == "dual_gan" and r["metric"] == "psnr"]
    assert chain[0]["paper"] == "32.010000" and chain[0]["scale"] == "smoke"
    assert float(chain[0]["difference"]) == pytest.approx(float(chain[0]["ours"]) - 32.01)
    assert {r["note"] for r in results if r["method"] == "deblurgan_v2"} == {"paper only"}
    assert "Smoke scale" in (out / "results.md").read_text()

    # Bicubic alone is the input baseline every per-image table carries.
    for method in METHODS:
        summary = json.loads((out / "eval" / "demo" / method / "summary.json").read_text())
        assert summary["psnr_input"] == pytest.approx(rows[0]["psnr"], abs=1e-9)

    stage = lambda name: torch.load(  # noqa: E731
        out / name / "checkpoints" / "last.ckpt", weights_only=False
    )
    deblur, sr_psnr, sr_gan = stage("deblur"), stage("sr_psnr"), stage("sr_gan")
    # The deblurring stage learns blurred LR -> sharp LR, where the chain uses it.
    assert deblur["restoregan"]["config"]["data"]["target"] == "lr"
    assert deblur["hyper_parameters"]["generator"] == "ResnetGenerator"
    # The paper's deblurring stage (BatchNorm, dense critic, L1 + VGG16 + WGAN-GP), with the
    # 2018 DeblurGAN recipe trained beside it as its own row.
    config = deblur["restoregan"]["config"]
    assert config["generator"]["norm"] == "batch"
    assert config["discriminator"]["_target_"].endswith("GlobalDiscriminator")
    assert set(config["loss"]["weights"]) == {"l1", "perceptual"}
    assert config["loss"]["adversarial"]["_target_"].endswith("WGANGP")
    deblur_2018 = stage("deblur_2018")["restoregan"]["config"]
    assert deblur_2018["generator"]["norm"] == "instance"
    assert sr_psnr["hyper_parameters"]["generator"] == "RRDBNet"
    assert sr_gan["hyper_parameters"]["init_from"] == result["checkpoints"]["sr_psnr"]
    assert "generator_ema" in sr_gan


def test_dual_pipeline_script_chains_the_stage_checkpoints(smoke, tmp_path: Path) -> None:
    out, result = smoke
    source = out.parent / "data" / "demo_smoke" / "val" / "blur" / "coffee_0.png"
    lr = np.asarray(Image.open(source).resize((24, 17), Image.BICUBIC))
    Image.fromarray(lr).save(tmp_path / "blurred_lr.png")
    env = {**os.environ, "RESTOREGAN_ROOT": str(tmp_path), "OMP_NUM_THREADS": "2"}
    proc = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "src" / "deblur.py"),
            "pipeline=dual",
            f"deblur_ckpt={result['checkpoints']['deblur']}",
            f"sr_ckpt={result['checkpoints']['sr_gan']}",
            f"input={tmp_path / 'blurred_lr.png'}",
            f"output={tmp_path / 'out'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # 17x24 is not a multiple of the deblurring network's 4: padded, then cropped back.
    assert Image.open(tmp_path / "out" / "blurred_lr.png").size == (96, 68)
    assert "dual(restoregan:" in proc.stdout


# ---- official weight files -------------------------------------------------------------


def deblurgan_2018_file(g: ResnetGenerator) -> dict:
    """`g`'s weights in the DeblurGAN 2018 `model.N` layout (2 downsamplings):
    [pad, conv 1, norm, relu, conv 4, norm, relu, conv 7, norm, relu, blocks 10.., 2 x
    (deconv, norm, relu), pad, conv, tanh]; block convs at conv_block.1 and .6."""
    n = g.n_blocks
    names = {
        "head.conv": "model.1",
        "down.0.conv": "model.4",
        "down.1.conv": "model.7",
        "up.0.conv": f"model.{10 + n}",
        "up.1.conv": f"model.{13 + n}",
        "tail.conv": f"model.{17 + n}",
    }
    for i in range(n):
        names[f"blocks.{i}.body.conv1"] = f"model.{10 + i}.conv_block.1"
        names[f"blocks.{i}.body.conv2"] = f"model.{10 + i}.conv_block.6"
    out = {}
    for key, value in g.state_dict().items():
        module, _, param = key.rpartition(".")
        out[f"{names[module]}.{param}"] = value
    return out


def esrgan_file(g: RRDBNet, naming: str) -> dict:
    """`g`'s weights as the three official ESRGAN releases name them."""
    state = g.state_dict()
    if naming == "basicsr":
        return {"params_ema": state}
    top = {
        "new": {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2",
                "conv_hr": "HRconv"},
        "old": {"conv_first": "model.0", "conv_body": f"model.1.sub.{len(g.body)}",
                "conv_up1": "model.3", "conv_up2": "model.6", "conv_hr": "model.8",
                "conv_last": "model.10"},
    }[naming]  # fmt: skip
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "body":  # body.i.rdbk.convj.<param>
            i, rdb, conv, param = parts[1:]
            trunk = "RRDB_trunk" if naming == "new" else "model.1.sub"
            suffix = f".{param}" if naming == "new" else f".0.{param}"
            out[f"{trunk}.{i}.{rdb.upper()}.{conv}{suffix}"] = value
        else:
            out[f"{top.get(parts[0], parts[0])}.{parts[1]}"] = value
    return out


def _deblur_cfg(tmp_path: Path, deblur: Path, sr: Path, *overrides: str):
    return compose(
        "deblur",
        [
            "pipeline=dual",
            f"deblur_ckpt={deblur}",
            f"sr_ckpt={sr}",
            f"input={tmp_path / 'in'}",
            f"output={tmp_path / 'out'}",
            *overrides,
        ],
        tmp_path,
    )


def _blurred_lr(tmp_path: Path) -> torch.Tensor:
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(
        tmp_path / "in" / "x.png"
    )
    return to_tensor(read_image(tmp_path / "in" / "x.png")).unsqueeze(0)


@pytest.mark.parametrize("naming", ["old", "new", "basicsr"])
def test_dual_pipeline_loads_official_files_into_named_architectures(
    tmp_path: Path, naming: str
) -> None:
    torch.manual_seed(1)
    deblur, sr = ResnetGenerator(ngf=8, n_blocks=1).eval(), RRDBNet(nf=8, n_blocks=1, growth=8)
    torch.save(deblurgan_2018_file(deblur), tmp_path / "latest_net_G.pth")
    torch.save(esrgan_file(sr, naming), tmp_path / "esrgan.pth")
    x = _blurred_lr(tmp_path)
    cfg = _deblur_cfg(
        tmp_path,
        tmp_path / "latest_net_G.pth",
        tmp_path / "esrgan.pth",
        "generator@deblur_generator=resnet",
        "deblur_generator.ngf=8",
        "deblur_generator.n_blocks=1",
        "generator@sr_generator=rrdb",
        "sr_generator.nf=8",
        "sr_generator.n_blocks=1",
        "sr_generator.growth=8",
    )
    (written,) = run_deblur(cfg)
    expected = restore(DualGANPipeline(deblur=deblur, sr=sr.eval()), x)[0]
    got = to_tensor(read_image(written))
    assert got.shape == (3, 48, 64)
    assert (got - expected).abs().max() <= 0.5 / 255 + 1e-6  # equal up to 8-bit rounding


def test_dual_pipeline_defaults_to_the_published_architectures(tmp_path: Path) -> None:
    torch.manual_seed(2)
    deblur, sr = ResnetGenerator().eval(), RRDBNet().eval()  # DeblurGAN 2018, ESRGAN x4
    torch.save(deblurgan_2018_file(deblur), tmp_path / "latest_net_G.pth")
    torch.save(esrgan_file(sr, "new"), tmp_path / "RRDB_ESRGAN_x4.pth")
    x = _blurred_lr(tmp_path)
    cfg = _deblur_cfg(tmp_path, tmp_path / "latest_net_G.pth", tmp_path / "RRDB_ESRGAN_x4.pth")
    (written,) = run_deblur(cfg)
    expected = restore(DualGANPipeline(deblur=deblur, sr=sr), x)[0]
    assert (to_tensor(read_image(written)) - expected).abs().max() <= 0.5 / 255 + 1e-6


def test_dual_pipeline_names_the_architecture_option_for_other_sizes(tmp_path: Path) -> None:
    torch.save(deblurgan_2018_file(ResnetGenerator(ngf=8, n_blocks=1)), tmp_path / "d.pth")
    torch.save(esrgan_file(RRDBNet(nf=8, n_blocks=1, growth=8), "new"), tmp_path / "s.pth")
    _blurred_lr(tmp_path)
    with pytest.raises(ValueError, match=r"(?s)'ngf': 8.*generator@deblur_generator=resnet"):
        run_deblur(_deblur_cfg(tmp_path, tmp_path / "d.pth", tmp_path / "s.pth"))


# ---- the full-size plan ----------------------------------------------------------------


def test_full_experiment_checks_all_data_before_training(tmp_path: Path) -> None:
    def must_not_train(cfg):
        raise AssertionError("a stage started although data is missing")

    with pytest.raises(DatasetError) as err:
        _run(tmp_path, "experiment=dual_gan", fit=must_not_train)
    message = str(err.value)
    assert "nothing was trained" in message
    for needed in ("GOPRO_Large.zip", "DIV2K_train_HR.zip", "Set5", "dual_gan.div2k_root="):
        assert needed in message, needed
    assert "stage 'sr_gan': the same data as stage 'sr_psnr'" in message


def test_full_experiment_plan(tmp_path: Path) -> None:
    cfg = compose("train", ["experiment=dual_gan", "dual_gan.trainer=gpu"], tmp_path)
    plan = OmegaConf.to_container(cfg.multistage, resolve=True)
    assert list(plan["stages"]) == ["deblur", "deblur_2018", "sr_psnr", "sr_gan"]
    assert plan["stages"]["sr_gan"]["init_from"] == "sr_psnr"
    assert "trainer=gpu" in plan["common"]
    assert "data.target=lr" in plan["stages"]["deblur"]["overrides"]
    assert plan["evaluation"]["sets"]["gopro"]["protocol"] == "deblur"
    # Each stage's override list composes into a full recipe run.
    for name, stage in plan["stages"].items():
        stage_cfg = compose("train", [*stage["overrides"], *plan["common"]], tmp_path)
        assert stage_cfg.trainer.accelerator == "gpu", name
    with pytest.raises(ValueError, match="must name an earlier stage"):
        _run(tmp_path, "experiment=dual_gan", "multistage.stages.sr_psnr.init_from=sr_gan")
