"""Export a trained generator (or the Dual-GAN chain) to ONNX or TorchScript.

python src/export.py ckpt_path=<run>/checkpoints/best.ckpt format=onnx output=deblurgan.onnx
python src/export.py generator=resnet ckpt_path=latest_net_G.pth format=torchscript output=g.pt

The file takes and returns (B, 3, H, W) float32 RGB in [0, 1], any size of at least the
network's size multiple; `python src/deblur.py` and `restoregan.export.load_exported` run it.
"""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from restoregan.cli.errors import run_main, user_errors
from restoregan.cli.restorers import build_restorer
from restoregan.export import (
    ExportedRestorer,
    ExportError,
    export_onnx,
    export_torchscript,
    load_exported,
    max_abs_difference,
)
from restoregan.runs import run_stamp  # noqa: F401  (registers ${run_stamp:} for hydra.run.dir)

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".ts", ".torchscript")}


def run(cfg: DictConfig) -> Path:
    """Write the export; returns its path."""
    if cfg.format not in FORMATS:
        raise ExportError(f"format must be one of {FORMATS}, got format={cfg.format!r}")
    output = Path(cfg.output)
    sources = [cfg.get(k) for k in ("ckpt_path", "deblur_ckpt", "sr_ckpt") if cfg.get(k)]
    if any(output.resolve() == Path(s).resolve() for s in sources):
        raise ExportError(f"output={output} is the checkpoint being exported; choose another file")
    suffixes = SUFFIXES[cfg.format]
    if output.suffix.lower() not in suffixes:
        raise ExportError(
            f"output={output}: a {cfg.format} file must end in {' or '.join(suffixes)} "
            f"(deblur.py and load_exported tell the formats apart by it); e.g. "
            f"output={output.with_suffix(suffixes[0])}"
        )
    generator, source = build_restorer(cfg)
    if isinstance(generator, ExportedRestorer):
        raise ExportError(
            f"ckpt_path={cfg.ckpt_path} is already an exported file; export from the "
            "checkpoint it was made of (a .ckpt or an official .pth with generator=...)"
        )
    generator = generator.eval()
    if cfg.format == "onnx":
        path = export_onnx(
            generator, output, source=source, opset=int(cfg.opset), dynamo=bool(cfg.dynamo)
        )
    else:
        path = export_torchscript(generator, output, source=source)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, {cfg.format}) from {source}")
    if cfg.check:
        m = int(generator.size_multiple)
        x = torch.rand(1, 3, 8 * m + 3, 12 * m + 1, generator=torch.Generator().manual_seed(0))
        diff = max_abs_difference(load_exported(path), generator, x)
        print(
            f"check: max |exported - PyTorch| = {diff:.2e} on a {x.shape[-1]}x{x.shape[-2]} image"
        )
        if diff > 1e-3:
            raise ExportError(
                f"{path} differs from the PyTorch generator by {diff:.2e} (tolerance 1e-3); "
                "try the other exporter (dynamo=false) and report the generator"
            )
    return path


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
@user_errors
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    run_main(main)
