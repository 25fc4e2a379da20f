"""How a script's config becomes the network it runs (src/eval.py, src/deblur.py, the
multi-stage experiments).

A restoregan checkpoint rebuilds its own generator from the run config stored inside it;
a published .pth carries no architecture, so it is loaded into the one a `generator=`
config names (or, for the Dual-GAN chain, the published one). All weights go through
`restoregan.nets.load_weights`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate

from restoregan.export import ExportError, load_exported
from restoregan.nets import load_weights
from restoregan.nets.contract import Generator
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.generators.rrdb import RRDBNet
from restoregan.nets.weights import suite
from restoregan.nets.weights.core import CheckpointError, read_state_dict
from restoregan.nets.weights.load import EXPECTED
from restoregan.pipeline import DualGANPipeline


class DeviceError(ValueError):
    """A `device=` setting that names no usable device."""


def pick_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise DeviceError(
            f"device={name!r} is not a device torch knows ({err}); use auto, cpu, cuda or "
            "cuda:<index>"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            f"device={name} asks for CUDA, but no CUDA GPU is visible; use device=cpu"
        )
    return device


#: Suffixes of files written by src/export.py that `build_restorer` runs directly.
EXPORTED_SUFFIXES = (".onnx", ".pt", ".ts", ".torchscript")


def is_exported(path: str | Path) -> bool:
    """An ONNX file, or a TorchScript archive (a zip holding compiled code, unlike the
    zip that torch.save writes, so a state dict saved as .pt is not mistaken for one)."""
    path = Path(path)
    if path.suffix.lower() not in EXPORTED_SUFFIXES or not path.is_file():
        return False
    if path.suffix.lower() == ".onnx":
        return True
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def _read(path: str | Path) -> dict:
    return read_state_dict(path, what="checkpoint", expected=EXPECTED)


def load_generator(
    source: str | Path | Mapping[str, Any],
    *,
    device: str | torch.device = "cpu",
    label: str | None = None,
) -> tuple[Generator, dict]:
    """Rebuild the generator of a restoregan checkpoint from the config stored inside it.

    `source` is the file or its already loaded contents (then `label` names it in
    errors). Returns the generator in eval mode and the checkpoint's `restoregan`
    metadata (the resolved run config). Published .pth files carry no config: build the
    generator from a `generator=` config and call `restoregan.nets.load_weights`.
    """
    if label is None:
        label = str(source) if isinstance(source, (str, Path)) else "the given checkpoint"
    ckpt = _read(source) if isinstance(source, (str, Path)) else source
    if not suite.is_checkpoint(ckpt):
        raise CheckpointError(
            f"{label} is not a restoregan checkpoint (no `restoregan` config inside). For an "
            "official DeblurGAN/ESRGAN .pth, also name the architecture, e.g. generator=resnet."
        )
    meta = ckpt["restoregan"]
    generator = instantiate(meta["generator"])
    load_weights(generator, ckpt, label=label)
    return generator.to(device).eval(), meta


def _class_name(target: Any) -> str:
    return str(target or "?").rsplit(".", 1)[-1]


def _generator_from_file(
    path: str,
    fallback: Callable[[], Generator] | None,
    *,
    hint: str = "",
    named: Any = None,
) -> tuple[Generator, str]:
    """A restoregan checkpoint rebuilds itself; an official file needs `fallback` to build one.

    `hint` is added to the error when the official file does not fit that architecture.
    `named` is the generator config the user gave: a restoregan checkpoint of another
    architecture is refused rather than silently run in place of it.
    """
    ckpt = _read(path)
    if suite.is_checkpoint(ckpt):
        stored = (ckpt["restoregan"].get("generator") or {}).get("_target_")
        asked = named.get("_target_") if named else None
        if asked and stored and asked != stored:
            raise CheckpointError(
                f"{path} is a restoregan checkpoint of {_class_name(stored)}, but the "
                f"generator= setting names {_class_name(asked)}. A restoregan checkpoint "
                "rebuilds its own architecture: drop generator=, or pass the checkpoint "
                f"trained with {_class_name(asked)}."
            )
        generator, _ = load_generator(ckpt, label=path)  # read once: no second pass
        return generator, f"restoregan:{path}"
    if fallback is None:
        raise CheckpointError(
            f"{path} is not a restoregan checkpoint, so it carries no architecture; name one, "
            "e.g. generator=resnet (DeblurGAN 2018) or generator=rrdb (ESRGAN)."
        )
    generator = fallback()
    try:
        return generator.eval(), load_weights(generator, ckpt, label=path)
    except ValueError as err:
        if not hint:
            raise
        raise CheckpointError(f"{err}\n{hint}") from err


def _chain_stage(
    path: str, gen_cfg: Any, *, node: str, published: Callable[[], Generator], example: str
) -> tuple[Generator, str]:
    """One stage of `pipeline: dual`: a restoregan checkpoint rebuilds itself; an official
    file goes into `gen_cfg` (`generator@<node>=<arch>`) when given, else into the
    published architecture."""
    if gen_cfg:
        return _generator_from_file(path, lambda: instantiate(gen_cfg))
    hint = (
        f"It was loaded into the published architecture ({published.__name__} defaults); if it "
        f"was trained with another, name it, e.g. generator@{node}={example}."
    )
    return _generator_from_file(path, published, hint=hint)


def build_restorer(cfg: Any) -> tuple[Generator, str]:
    """The network `src/eval.py` and `src/deblur.py` run, from their config.

    `pipeline: single` loads `ckpt_path` (a restoregan checkpoint, an official file
    with `generator=<arch>`, or an ONNX / TorchScript file of src/export.py, run through
    `restoregan.export.load_exported`); `pipeline: dual` chains `deblur_ckpt` and `sr_ckpt`.
    Official files there are loaded into `generator@deblur_generator=<arch>` /
    `generator@sr_generator=<arch>` when given, else into the published architectures
    (DeblurGAN 2018 ResNet-9, ESRGAN x4 with 23 RRDBs).
    Returns the module and a description of what was loaded.
    """
    if cfg.pipeline == "single":
        if not cfg.get("ckpt_path"):
            raise CheckpointError(
                "ckpt_path is required (a restoregan .ckpt, an official .pth, or a .onnx / "
                ".pt file written by src/export.py)"
            )
        gen_cfg = cfg.get("generator")
        if is_exported(cfg.ckpt_path):
            if gen_cfg:
                raise ExportError(
                    f"ckpt_path={cfg.ckpt_path} is an exported file, which carries its own "
                    "network; drop the generator= setting"
                )
            return load_exported(cfg.ckpt_path), f"exported:{cfg.ckpt_path}"
        fallback = (lambda: instantiate(gen_cfg)) if gen_cfg else None
        return _generator_from_file(str(cfg.ckpt_path), fallback, named=gen_cfg)
    if cfg.pipeline == "dual":
        if not cfg.get("deblur_ckpt") or not cfg.get("sr_ckpt"):
            raise CheckpointError("pipeline=dual needs deblur_ckpt=... and sr_ckpt=...")
        # stage -> (published architecture, an example of naming another one)
        published = {
            "deblur": (ResnetGenerator, "resnet deblur_generator.ngf=32"),
            "sr": (RRDBNet, "rrdb sr_generator.n_blocks=16"),
        }
        (deblur, d_src), (sr, s_src) = (
            _chain_stage(
                str(cfg[f"{stage}_ckpt"]),
                cfg.get(f"{stage}_generator"),
                node=f"{stage}_generator",
                published=arch,
                example=example,
            )
            for stage, (arch, example) in published.items()
        )
        return DualGANPipeline(deblur=deblur, sr=sr), f"dual({d_src} -> {s_src})"
    raise CheckpointError(f"pipeline must be 'single' or 'dual', got pipeline={cfg.pipeline!r}")
