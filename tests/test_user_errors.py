"""Every error a user can cause, as a user meets it: one message, exit status 1, no traceback.

Each test runs a script in a subprocess (a few seconds each: the script's imports).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from restoregan.nets.generators.resnet import ResnetGenerator
from tests.helpers import TINY_MODEL
from tests.test_scripts import run_script

TINY_RESNET = ["generator=resnet", "generator.ngf=8", "generator.n_blocks=2"]
# train.py imports Lightning and every recipe's modules before Hydra even composes: about
# 10 s per case on 2 shared cores, so those cases carry the slow marker.
train_script = pytest.mark.slow


def assert_one_message(proc: subprocess.CompletedProcess, *parts: str) -> str:
    """Exit status != 0, no traceback, exactly one `error:` message holding `parts`."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert proc.stderr.count("error: ") == 1, proc.stderr[-3000:]
    message = proc.stderr[proc.stderr.index("error: ") :]
    for part in parts:
        assert part in message, message
    return message


def train(tmp_path: Path, *overrides: str, env: dict | None = None):
    return run_script("train.py", *TINY_MODEL, *overrides, cwd=tmp_path, check=False, env=env)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """A tiny ResNet generator saved as a plain state dict (an "official" file)."""
    path = tmp_path / "g.pth"
    torch.save(ResnetGenerator(ngf=8, n_blocks=2).state_dict(), path)
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(folder / "a.png")
    return folder


@train_script
def test_unknown_config_choice_lists_the_choices(tmp_path: Path) -> None:
    proc = train(tmp_path, "model=deblurgn")
    msg = assert_one_message(proc, "model=deblurgn", "Did you mean model=deblurgan?")
    assert (
        "deblurgan_keras, dualgan_deblur, esrgan, esrgan_psnr" in msg
        and "Config search path" not in msg
    )


@train_script
def test_unknown_adversarial_loss_lists_the_losses(tmp_path: Path) -> None:
    proc = train(tmp_path, "loss/adversarial=wgan_pg")
    assert_one_message(
        proc, "loss/adversarial=wgan_pg", "hinge, lsgan, ragan, ragan_ls, vanilla, wgan, wgan_gp"
    )


@train_script
def test_unknown_key_and_unset_value(tmp_path: Path) -> None:
    assert_one_message(train(tmp_path, "data.crop=64"), "Could not override 'data.crop'")
    assert_one_message(
        train(tmp_path, "data=paired_folder"),
        "data.input_dir is required and not set",
        "data.input_dir=<value>",
    )


def test_unset_input_of_deblur(tmp_path: Path, weights: Path) -> None:
    proc = run_script("deblur.py", *TINY_RESNET, f"ckpt_path={weights}", cwd=tmp_path, check=False)
    assert_one_message(proc, "input is required and not set", "input=<value>")


@train_script
@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "data.crop_size=0",
            "data.crop_size must be null (full frames) or a positive integer, got 0",
        ),
        ("data.batch_size=-2", "data.batch_size must be a positive integer, got -2"),
    ],
)
def test_zero_or_negative_sizes_name_the_setting(tmp_path: Path, override, expected) -> None:
    assert_one_message(train(tmp_path, override), expected)


@train_script
def test_unknown_precision_is_the_trainers_message(tmp_path: Path) -> None:
    assert_one_message(
        train(tmp_path, "trainer.precision=17"),
        "the settings of `trainer`",
        "Precision 17 is invalid. Allowed precision values",
    )


@train_script
def test_empty_data_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = train(
        tmp_path, "data=paired_folder", f"data.input_dir={empty}", f"data.target_dir={empty}"
    )
    assert_one_message(proc, str(empty))


@train_script
def test_discriminator_built_for_another_crop(tmp_path: Path) -> None:
    proc = train(
        tmp_path, "discriminator=global", "discriminator.input_size=64", "trainer.max_steps=1"
    )
    assert_one_message(proc, "built for 64x64 inputs but the training crop is 32x32")


@train_script
def test_offline_vgg_weights_say_which_file_is_needed(tmp_path: Path) -> None:
    env = {"TORCH_HOME": str(tmp_path / "torch"), "https_proxy": "http://127.0.0.1:9"}
    proc = train(tmp_path, "loss.terms.perceptual.weights=imagenet", env=env)
    assert_one_message(
        proc, "vgg19-dcbb9e9d.pth", str(tmp_path / "torch" / "hub" / "checkpoints"), "weights="
    )


def test_checkpoint_of_another_architecture_names_both(tmp_path: Path, photos: Path) -> None:
    # An official DeblurGAN 2018 file (the `model.N` layout) into an ESRGAN network.
    from tests.nets.test_deblurgan_checkpoint import _reference

    pth = tmp_path / "latest_net_G.pth"
    torch.save(_reference().state_dict(), pth)
    args = [f"ckpt_path={pth}", f"input={photos}", f"output={tmp_path / 'out'}"]
    proc = run_script("deblur.py", "generator=rrdb", *args, cwd=tmp_path, check=False)
    assert_one_message(proc, "DeblurGAN 2018", "ResnetGenerator", "RRDBNet")
    # A restoregan checkpoint of a ResNet, run as generator=rrdb.
    net = ResnetGenerator(ngf=8, n_blocks=2)
    ckpt = tmp_path / "run.ckpt"
    stored = {
        "_target_": "restoregan.nets.generators.resnet.ResnetGenerator",
        "ngf": 8,
        "n_blocks": 2,
    }
    state = {f"generator.{k}": v for k, v in net.state_dict().items()}
    torch.save({"restoregan": {"generator": stored}, "state_dict": state}, ckpt)
    args[0] = f"ckpt_path={ckpt}"
    proc = run_script("deblur.py", "generator=rrdb", *args, cwd=tmp_path, check=False)
    assert_one_message(proc, "checkpoint of ResnetGenerator", "names RRDBNet")


def test_truncated_checkpoint(tmp_path: Path, weights: Path, photos: Path) -> None:
    cut = tmp_path / "cut.pth"
    cut.write_bytes(weights.read_bytes()[:2000])
    proc = run_script(
        "deblur.py", *TINY_RESNET, f"ckpt_path={cut}", f"input={photos}",
        f"output={tmp_path / 'out'}", cwd=tmp_path, check=False,
    )  # fmt: skip
    assert_one_message(proc, f"{cut}: could not read it as a PyTorch checkpoint")


def test_empty_input_folder_for_deblur(tmp_path: Path, weights: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = run_script(
        "deblur.py", *TINY_RESNET, f"ckpt_path={weights}", f"input={tmp_path / 'empty'}",
        f"output={tmp_path / 'out'}", cwd=tmp_path, check=False,
    )  # fmt: skip
    assert_one_message(proc, "no images (.png, .jpg", f"found in folder {tmp_path / 'empty'}")


def test_output_equal_to_input_is_refused_and_originals_stay(
    tmp_path: Path, weights: Path, photos: Path
) -> None:
    before = (photos / "a.png").read_bytes()
    common = [*TINY_RESNET, f"ckpt_path={weights}", f"input={photos}"]
    proc = run_script("deblur.py", *common, f"output={photos}", cwd=tmp_path, check=False)
    assert_one_message(proc, f"output={photos} is the input folder", "overwrite=true")
    assert (photos / "a.png").read_bytes() == before
    run_script("deblur.py", *common, f"output={photos}", "overwrite=true", cwd=tmp_path)
    assert (photos / "a.png").read_bytes() != before  # asked for: replaced


def test_full_tracebacks_on_request(tmp_path: Path, weights: Path) -> None:
    (tmp_path / "empty").mkdir()
    args = [*TINY_RESNET, f"ckpt_path={weights}", f"input={tmp_path / 'empty'}", "output=out"]
    for switch in ("HYDRA_FULL_ERROR", "RESTOREGAN_TRACEBACK"):
        proc = run_script("deblur.py", *args, cwd=tmp_path, check=False, env={switch: "1"})
        assert proc.returncode != 0
        assert "Traceback" in proc.stderr and "PhotoError: no images" in proc.stderr


def test_a_user_error_in_a_sweep_fails_its_job_only(tmp_path: Path, weights: Path, photos) -> None:
    out = tmp_path / "sweep"
    proc = run_script(
        "deblur.py", "-m", *TINY_RESNET, f"ckpt_path={weights}",
        f"input={tmp_path / 'nowhere'},{photos / 'a.png'}", f"output={out}",
        cwd=tmp_path, check=False,
    )  # fmt: skip
    # Job 0 failed with its message; job 1 still ran; the sweep reports the failure.
    assert (out / "a.png").is_file()
    assert "job failed: input=" in proc.stdout + proc.stderr
    assert_one_message(proc, f"input={tmp_path / 'nowhere'} does not exist")
