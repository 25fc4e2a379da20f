"""ONNX and TorchScript export (restoregan.export), checked against PyTorch inference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from restoregan.export import (
    ExportError,
    OnnxRestorer,
    TorchScriptRestorer,
    export_onnx,
    export_torchscript,
    load_exported,
    max_abs_difference,
)
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.generators.rrdb import RRDBNet
from restoregan.nets.generators.unet_res import UNetResGenerator
from restoregan.restore import restore
from restoregan.tiling import tiled_apply
from tests.helpers import PROJECT_ROOT

GENERATORS = {
    # [-1, 1], size multiple 4, instance norm, dropout (off in eval)
    "resnet": lambda: ResnetGenerator(ngf=8, n_blocks=2),
    # [0, 1], x4
    "rrdb_x4": lambda: RRDBNet(nf=8, n_blocks=1, growth=4, scale=4),
    # [-1, 1], pads itself internally
    "unet": lambda: UNetResGenerator(base_channels=8, depth=2, blocks_per_level=1),
}
# None of these is the traced size; odd sides exercise the in-graph padding.
SIZES = [(1, 3, 37, 29), (3, 3, 16, 64)]


def tiny(name: str) -> nn.Module:
    return GENERATORS[name]().eval()


def check_matches_pytorch(exported: nn.Module, generator: nn.Module) -> None:
    for shape in SIZES:
        x = torch.rand(*shape)
        expected = restore(generator, x)
        out = exported(x)
        scale = generator.scale
        assert out.shape == (shape[0], 3, shape[2] * scale, shape[3] * scale)
        assert (out - expected).abs().max() < 1e-4
        # Through the same entry point as a generator (the adapter's contract).
        assert (restore(exported, x) - expected).abs().max() < 1e-4


# The dynamo exporter needs ~5-10 s per network on a small CPU.
@pytest.mark.slow
@pytest.mark.parametrize("name", list(GENERATORS))
def test_onnx_runs_in_onnxruntime_like_pytorch(name: str, tmp_path: Path) -> None:
    generator = tiny(name)
    path = export_onnx(generator, tmp_path / "model.onnx", source="test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # weights inline
    restorer = load_exported(path)
    assert isinstance(restorer, OnnxRestorer)
    assert restorer.scale == generator.scale and restorer.value_range == (0.0, 1.0)
    assert restorer.metadata["generator"] == type(generator).__name__
    assert restorer.metadata["source"] == "test"
    check_matches_pytorch(restorer, generator)


def test_legacy_onnx_exporter_also_works(tmp_path: Path) -> None:
    generator = tiny("resnet")
    restorer = OnnxRestorer(export_onnx(generator, tmp_path / "g.onnx", dynamo=False, opset=17))
    check_matches_pytorch(restorer, generator)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_torchscript_round_trip(name: str, tmp_path: Path) -> None:
    generator = tiny(name)
    path = export_torchscript(generator, tmp_path / "model.pt")
    restorer = load_exported(path)
    assert isinstance(restorer, TorchScriptRestorer)
    assert restorer.scale == generator.scale
    check_matches_pytorch(restorer, generator)
    assert max_abs_difference(restorer, generator, torch.rand(1, 3, 21, 30)) < 1e-4


def test_exported_restorer_tiles_like_a_generator(tmp_path: Path) -> None:
    generator = RRDBNet(nf=8, n_blocks=1, growth=4, scale=2).eval()  # size multiple 2
    restorer = load_exported(export_torchscript(generator, tmp_path / "sr.pt"))
    x = torch.rand(1, 3, 41, 35)
    # The exported graph pads every tile itself (size_multiple 1), as restore() does.
    via_file = tiled_apply(restorer, x, tile=19, overlap=8, scale=2)
    direct = tiled_apply(lambda t: restore(generator, t), x, tile=19, overlap=8, scale=2)
    assert via_file.shape == (1, 3, 82, 70)
    assert (via_file - direct).abs().max() < 1e-4


def test_export_errors_speak_to_the_user(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"must subclass restoregan\.nets\.contract\.Generator"):
        export_torchscript(nn.Conv2d(3, 3, 3), tmp_path / "x.pt")
    with pytest.raises(ExportError, match="opset 17 or later"):
        export_onnx(tiny("resnet"), tmp_path / "x.onnx", opset=16)
    with pytest.raises(ExportError, match="legacy exporter"):
        export_onnx(tiny("resnet"), tmp_path / "x.onnx", opset=17)
    with pytest.raises(ExportError, match="does not exist"):
        load_exported(tmp_path / "missing.onnx")
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ExportError, match="not an ONNX file"):
        load_exported(bogus)
    with pytest.raises(ExportError, match="unknown exported-model suffix"):
        load_exported(tmp_path / "model.ckpt")
    assert not list(tmp_path.glob(".*.tmp"))  # failed exports leave no temporary files


def run_export_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RESTOREGAN_ROOT": str(cwd), "OMP_NUM_THREADS": "1"}
    script = PROJECT_ROOT / "src" / "export.py"
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_export_script_writes_a_checked_file_from_an_official_layout(tmp_path: Path) -> None:
    generator = tiny("resnet")
    pth = tmp_path / "weights.pth"
    torch.save(generator.state_dict(), pth)
    out = tmp_path / "g.pt"
    arch = ["generator=resnet", "generator.ngf=8", "generator.n_blocks=2", f"ckpt_path={pth}"]
    proc = run_export_script(*arch, "format=torchscript", f"output={out}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "check: max |exported - PyTorch|" in proc.stdout
    check_matches_pytorch(load_exported(out), generator)

    proc = run_export_script(*arch, "format=keras", f"output={out}", cwd=tmp_path)
    assert proc.returncode == 1 and "format must be one of" in proc.stderr
    proc = run_export_script(*arch, "format=onnx", f"output={pth}", cwd=tmp_path)
    assert proc.returncode == 1 and "is the checkpoint being exported" in proc.stderr
