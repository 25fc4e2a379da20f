"""deblur.py and eval.py as a user runs them on real folders: failures, EXIF, JPEG quality,
recursion, tiles, the x8 self-ensemble, exported files, W&B tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from restoregan.data.io import to_tensor
from restoregan.export import export_onnx
from restoregan.nets.generators.cnn_baseline import CNNBaseline
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.restore import restore
from tests.test_scripts import run_script

RNG = np.random.default_rng(0)
TINY_RESNET = ["generator=resnet", "generator.ngf=8", "generator.n_blocks=2"]
# Three 3x3 convs: receptive-field radius 3, well inside a quarter of a 16-pixel overlap.
LOCAL = ["generator=cnn_baseline", "generator.width=8", "generator.depth=3"]


def pixels(h: int, w: int) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def saved(net: torch.nn.Module, path: Path) -> tuple[torch.nn.Module, Path]:
    """`net` in eval mode and its weights saved as a plain state dict (an "official" file)."""
    torch.save(net.state_dict(), path)
    return net.eval(), path


@pytest.fixture
def resnet(tmp_path: Path) -> tuple[ResnetGenerator, Path]:
    torch.manual_seed(1)
    return saved(ResnetGenerator(ngf=8, n_blocks=2), tmp_path / "resnet.pth")


@pytest.fixture
def local(tmp_path: Path) -> tuple[CNNBaseline, Path]:
    torch.manual_seed(2)
    return saved(CNNBaseline(width=8, depth=3), tmp_path / "local.pth")


def test_a_photo_folder_restores_everything_readable(tmp_path: Path, resnet) -> None:
    _, pth = resnet
    src, out = tmp_path / "photos", tmp_path / "out"
    (src / "trip" / "day2").mkdir(parents=True)
    im = Image.fromarray(pixels(24, 40))
    exif = im.getexif()
    exif[0x0112], exif[0x010F] = 6, "TestCam"  # a phone held upright: rotate 90 CW to show
    im.save(src / "phone.jpg", quality=88, exif=exif.tobytes())
    Image.fromarray(pixels(1, 1)).save(src / "trip" / "dot.png")  # 1x1
    Image.fromarray(pixels(37, 53)).save(src / "trip" / "day2" / "odd.png")
    (src / "trip" / "broken.png").write_bytes(b"not an image")

    proc = run_script(
        "deblur.py", *TINY_RESNET, f"ckpt_path={pth}", f"input={src}", f"output={out}",
        "recursive=true", cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "1 of 4 image(s) could not be restored" in proc.stderr
    assert f"{src / 'trip' / 'broken.png'}: Cannot read image" in proc.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["phone.jpg", "trip/day2/odd.png", "trip/dot.png"]  # the tree, mirrored
    assert Image.open(out / "trip" / "dot.png").size == (1, 1)
    assert Image.open(out / "trip" / "day2" / "odd.png").size == (53, 37)
    with Image.open(out / "phone.jpg") as restored, Image.open(src / "phone.jpg") as original:
        assert restored.size == (24, 40)  # turned upright
        assert restored.getexif()[0x010F] == "TestCam" and restored.getexif()[0x0112] == 1
        assert restored.quantization == original.quantization  # quality 88 kept, not 75


def test_a_single_input_file_writes_the_named_file(tmp_path: Path, resnet) -> None:
    _, pth = resnet
    Image.fromarray(pixels(20, 30)).save(tmp_path / "blurry.png")
    target = tmp_path / "restored.png"
    run_script(
        "deblur.py", *TINY_RESNET, f"ckpt_path={pth}", f"input={tmp_path / 'blurry.png'}",
        f"output={target}", cwd=tmp_path,
    )  # fmt: skip
    assert target.is_file() and Image.open(target).size == (30, 20)


def test_tiled_deblur_equals_whole_image_for_a_local_network(tmp_path: Path, local) -> None:
    _, pth = local
    Image.fromarray(pixels(90, 70)).save(tmp_path / "big.png")
    common = [*LOCAL, f"ckpt_path={pth}", f"input={tmp_path / 'big.png'}"]
    run_script("deblur.py", *common, "output=whole", cwd=tmp_path)
    run_script("deblur.py", *common, "output=tiled", "tile=32", "tile_overlap=16", cwd=tmp_path)
    whole, tiled = read(tmp_path / "whole" / "big.png"), read(tmp_path / "tiled" / "big.png")
    # The floats agree within 1e-4 (tests/test_restore.py); written as 8 bits, a value
    # that close to a rounding boundary may land one level off, and very few do.
    assert np.abs(whole - tiled).max() <= 1
    assert (whole != tiled).mean() < 1e-3


def test_tta_x8_equals_eight_explicit_passes(tmp_path: Path, resnet) -> None:
    net, pth = resnet
    image = pixels(21, 30)
    Image.fromarray(image).save(tmp_path / "in.png")
    run_script(
        "deblur.py", *TINY_RESNET, f"ckpt_path={pth}", f"input={tmp_path / 'in.png'}",
        "output=out", "tta=x8", cwd=tmp_path,
    )  # fmt: skip
    x = to_tensor(image)[None]
    passes = []
    for k in range(4):
        for flip in (False, True):
            t = torch.rot90(x, k, dims=(-2, -1))
            y = restore(net, t.flip(-1) if flip else t)
            passes.append(torch.rot90(y.flip(-1) if flip else y, -k, dims=(-2, -1)))
    expected = (torch.stack(passes).mean(0)[0] * 255).round().permute(1, 2, 0).numpy()
    single = (restore(net, x)[0] * 255).round().permute(1, 2, 0).numpy()
    got = read(tmp_path / "out" / "in.png")
    assert np.abs(got - expected).max() <= 1  # float noise may flip one rounding
    assert np.abs(got - single).max() > 1  # and the ensemble is not the single pass


def test_deblur_runs_an_exported_onnx_file(tmp_path: Path, resnet) -> None:
    net, pth = resnet
    # The legacy exporter is quicker; src/export.py's default (dynamo) is in test_export.py.
    onnx_file = export_onnx(net, tmp_path / "g.onnx", dynamo=False, opset=17)
    Image.fromarray(pixels(26, 35)).save(tmp_path / "in.png")
    args = [f"input={tmp_path / 'in.png'}"]
    proc = run_script("deblur.py", f"ckpt_path={onnx_file}", *args, "output=onnx", cwd=tmp_path)
    assert f"exported:{onnx_file}" in proc.stdout
    run_script("deblur.py", *TINY_RESNET, f"ckpt_path={pth}", *args, "output=torch", cwd=tmp_path)
    diff = np.abs(read(tmp_path / "onnx" / "in.png") - read(tmp_path / "torch" / "in.png"))
    assert diff.max() <= 1
    proc = run_script(
        "deblur.py", *TINY_RESNET, f"ckpt_path={onnx_file}", *args, "output=x", cwd=tmp_path,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "carries its own network; drop the generator=" in proc.stderr


@pytest.mark.slow  # four script runs, two of them exports
def test_export_script_output_runs_in_deblur(tmp_path: Path, resnet) -> None:
    net, pth = resnet
    arch = [*TINY_RESNET, f"ckpt_path={pth}"]
    run_script("export.py", *arch, "format=torchscript", "output=g.pt", cwd=tmp_path)
    proc = run_script("export.py", "ckpt_path=g.pt", "output=again.pt", "format=torchscript",
                      cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 1 and "is already an exported file" in proc.stderr
    proc = run_script("export.py", *arch, "format=onnx", "output=g.pt", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "a onnx file must end in .onnx" in proc.stderr
    image = pixels(19, 23)
    Image.fromarray(image).save(tmp_path / "in.png")
    run_script("deblur.py", "ckpt_path=g.pt", f"input={tmp_path / 'in.png'}", "output=out",
               cwd=tmp_path)  # fmt: skip
    expected = (restore(net, to_tensor(image)[None])[0] * 255).round().permute(1, 2, 0).numpy()
    assert np.abs(read(tmp_path / "out" / "in.png") - expected).max() <= 1


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    for i in range(4):
        sharp = pixels(40, 48)
        noisy = np.clip(sharp.astype(int) + RNG.integers(-20, 21, sharp.shape), 0, 255)
        for kind, image in (("sharp", sharp), ("blur", noisy.astype(np.uint8))):
            (tmp_path / kind).mkdir(exist_ok=True)
            Image.fromarray(image).save(tmp_path / kind / f"{i}.png")
    return tmp_path


@pytest.mark.slow  # a W&B offline run starts its service process: ~10 s
def test_eval_logs_a_wandb_table_and_names_the_protocol(pairs: Path, local) -> None:
    _, pth = local
    out = pairs / "eval"
    run_script(
        "eval.py", *LOCAL, f"ckpt_path={pth}", "data=paired_folder",
        f"data.input_dir={pairs / 'blur'}", f"data.target_dir={pairs / 'sharp'}",
        "data.val_fraction=0.5", "data.num_workers=0", "tile=32", "tile_overlap=16",
        "tta=x8", "logger=wandb", f"hydra.run.dir={out}", cwd=pairs,
    )  # fmt: skip
    with open(out / "per_image.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and {r["protocol"] for r in rows} == {"deblur-rgb-8bit-ssim2d"}
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["tile"], summary["tile_overlap"], summary["tta"]) == (32, 16, "x8")
    (table,) = (out / "wandb").glob("offline-run-*/files/media/table/eval/per_image_*.table.json")
    logged = json.loads(table.read_text())
    assert logged["columns"] == ["name", "psnr", "ssim", "psnr_input", "ssim_input", "protocol"]
    assert [r[0] for r in logged["data"]] == [r["name"] for r in rows]
    assert [r[1] for r in logged["data"]] == [float(r["psnr"]) for r in rows]
