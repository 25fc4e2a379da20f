"""Running a generator on real images: value-range mapping, padding, checkpoint loading.

Systems, `src/eval.py`, `src/deblur.py` and the Dual-GAN pipeline all go through these
functions so that a restored image is produced the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restoregan.nets.checkpoints import CheckpointError, read_state_dict
from restoregan.tiling import pad_to_multiple


def value_range(net: nn.Module) -> tuple[float, float]:
    """The (low, high) range a generator works in; DEVELOPERS.md makes it a required attribute."""
    rng = getattr(net, "value_range", None)
    if rng is None:
        raise TypeError(f"{type(net).__name__} has no `value_range` attribute (see DEVELOPERS.md)")
    return float(rng[0]), float(rng[1])


def to_range(x01: Tensor, rng: tuple[float, float]) -> Tensor:
    """Map images from [0, 1] to `rng`."""
    lo, hi = rng
    return x01 if (lo, hi) == (0.0, 1.0) else x01 * (hi - lo) + lo


def from_range(x: Tensor, rng: tuple[float, float]) -> Tensor:
    """Map images from `rng` back to [0, 1] (no clamping)."""
    lo, hi = rng
    return x if (lo, hi) == (0.0, 1.0) else (x - lo) / (hi - lo)


def input_baseline(x01: Tensor, size: tuple[int, int]) -> Tensor:
    """What the input itself scores against a target of `size`: the input for deblurring,
    its bicubic upsampling (clamped to [0, 1]) for super-resolution. Validation, eval.py
    and the "bicubic alone" row of a comparison all use this one definition."""
    if tuple(x01.shape[-2:]) == tuple(size):
        return x01
    return F.interpolate(x01, size=tuple(size), mode="bicubic", align_corners=False).clamp(0.0, 1.0)


@torch.no_grad()
def restore(generator: nn.Module, x01: Tensor) -> Tensor:
    """Run `generator` on (B, 3, H, W) images in [0, 1] of any size; returns [0, 1], clamped.

    Pads to the generator's `size_multiple`, maps to its `value_range` and back, and crops
    the output to (scale*H, scale*W).
    """
    rng = value_range(generator)
    scale = int(getattr(generator, "scale", 1))
    padded, (h, w) = pad_to_multiple(x01, int(getattr(generator, "size_multiple", 1)))
    out = from_range(generator(to_range(padded, rng)), rng)
    return out[..., : h * scale, : w * scale].clamp(0.0, 1.0)


def extract_generator_state(checkpoint: Mapping[str, Any], *, prefer_ema: bool = True) -> dict:
    """The generator weights of a restoregan Lightning checkpoint.

    The EMA copy (written by `restoregan.callbacks.ema.GeneratorEMA`) is preferred when
    present, because it is the one validation scored.
    """
    if prefer_ema and "generator_ema" in checkpoint:
        return dict(checkpoint["generator_ema"])
    state = checkpoint.get("state_dict", {})
    gen = {k[len("generator.") :]: v for k, v in state.items() if k.startswith("generator.")}
    if not gen:
        raise CheckpointError("checkpoint has no `generator.*` weights in its state_dict")
    return gen


def load_checkpoint_file(path: str | Path) -> dict:
    """A restoregan .ckpt or an official .pth, on the CPU, weights-only, with clear errors."""
    expected = "a restoregan .ckpt or an official .pth written by torch.save"
    return read_state_dict(path, what="checkpoint", expected=expected)


def is_restoregan_checkpoint(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "restoregan" in obj and "state_dict" in obj


def _load_state_strict(generator: nn.Module, state: Mapping[str, Tensor], source: str) -> None:
    own = generator.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        raise CheckpointError(
            f"weights in {source} do not fit {type(generator).__name__}: "
            f"missing {missing[:8]}{'...' if len(missing) > 8 else ''}, "
            f"unexpected {unexpected[:8]}{'...' if len(unexpected) > 8 else ''}, "
            f"shape mismatches {shapes[:8]}. Was the checkpoint trained with the same generator config?"
        )
    generator.load_state_dict(state)


def load_generator_weights(generator: nn.Module, source: str | Path | Mapping[str, Any]) -> str:
    """Load generator weights from any file a user is likely to have; returns what was loaded.

    Accepts a restoregan Lightning checkpoint (EMA weights preferred), an official
    DeblurGAN 2018 `latest_net_G.pth` (into a `ResnetGenerator`), an official ESRGAN /
    BasicSR file in any of its three key namings (into an `RRDBNet`), or a plain state dict
    in restoregan's own layout.
    """
    label = str(source) if isinstance(source, (str, Path)) else "<state dict>"
    obj = load_checkpoint_file(source) if isinstance(source, (str, Path)) else source
    if is_restoregan_checkpoint(obj):
        _load_state_strict(generator, extract_generator_state(obj), label)
        return f"restoregan:{label}"
    # Official layouts: the per-architecture loaders know their key namings.
    from restoregan.nets.generators.resnet import ResnetGenerator
    from restoregan.nets.generators.rrdb import RRDBNet

    if isinstance(generator, RRDBNet):
        from restoregan.nets.checkpoints_esrgan import load_esrgan

        load_esrgan(generator, obj)
        return f"esrgan:{label}"
    if isinstance(generator, ResnetGenerator) and any(
        k.split(".")[0] in ("model", "module") for k in obj
    ):
        from restoregan.nets.checkpoints import load_deblurgan_2018

        load_deblurgan_2018(generator, obj)
        return f"deblurgan2018:{label}"
    _load_state_strict(generator, obj, label)
    return f"state_dict:{label}"


def load_generator(
    source: str | Path, *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild the generator of a restoregan checkpoint from the config stored inside it.

    Returns the generator in eval mode and the checkpoint's `restoregan` metadata (the
    resolved run config). Official .pth files carry no config: build the generator from a
    `generator=` config and call `load_generator_weights` instead.
    """
    from hydra.utils import instantiate

    ckpt = load_checkpoint_file(source) if isinstance(source, (str, Path)) else source
    if not is_restoregan_checkpoint(ckpt):
        raise CheckpointError(
            f"{source if isinstance(source, (str, Path)) else 'the given checkpoint'} is not a restoregan checkpoint (no `restoregan` config inside). For an "
            "official DeblurGAN/ESRGAN .pth, also name the architecture, e.g. generator=resnet."
        )
    meta = ckpt["restoregan"]
    generator = instantiate(meta["generator"])
    label = str(source) if isinstance(source, (str, Path)) else "<checkpoint>"
    _load_state_strict(generator, extract_generator_state(ckpt), label)
    return generator.to(device).eval(), meta


def pick_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _generator_from_file(
    path: str, fallback: Callable[[], nn.Module] | None, *, hint: str = ""
) -> tuple[nn.Module, str]:
    """A restoregan checkpoint rebuilds itself; an official file needs `fallback` to build one.

    `hint` is added to the error when the official file does not fit that architecture.
    """
    ckpt = load_checkpoint_file(path)
    if is_restoregan_checkpoint(ckpt):
        generator, _ = load_generator(ckpt)  # already read: no second pass over the file
        return generator, f"restoregan:{path}"
    if fallback is None:
        raise CheckpointError(
            f"{path} is not a restoregan checkpoint, so it carries no architecture; name one, "
            "e.g. generator=resnet (DeblurGAN 2018) or generator=rrdb (ESRGAN)."
        )
    generator = fallback()
    try:
        return generator.eval(), load_generator_weights(generator, ckpt)
    except ValueError as err:
        if not hint:
            raise
        raise CheckpointError(f"{err}\n{hint}") from err


def _chain_stage(
    path: str, gen_cfg: Any, *, node: str, published: Callable[[], nn.Module], example: str
) -> tuple[nn.Module, str]:
    """One stage of `pipeline: dual`: a restoregan checkpoint rebuilds itself; an official
    file goes into `gen_cfg` (`generator@<node>=<arch>`) when given, else into the
    published architecture."""
    from hydra.utils import instantiate

    if gen_cfg:
        return _generator_from_file(path, lambda: instantiate(gen_cfg))
    hint = (
        f"It was loaded into the published architecture ({published.__name__} defaults); if it "
        f"was trained with another, name it, e.g. generator@{node}={example}."
    )
    return _generator_from_file(path, published, hint=hint)


def build_restorer(cfg: Any) -> tuple[nn.Module, str]:
    """The network `src/eval.py` and `src/deblur.py` run, from their config.

    `pipeline: single` loads `ckpt_path` (a restoregan checkpoint, or an official file
    with `generator=<arch>`); `pipeline: dual` chains `deblur_ckpt` and `sr_ckpt`.
    Official files there are loaded into `generator@deblur_generator=<arch>` /
    `generator@sr_generator=<arch>` when given, else into the published architectures
    (DeblurGAN 2018 ResNet-9, ESRGAN x4 with 23 RRDBs).
    Returns the module and a description of what was loaded.
    """
    from hydra.utils import instantiate

    if cfg.pipeline == "single":
        if not cfg.get("ckpt_path"):
            raise CheckpointError("ckpt_path is required (a restoregan .ckpt or an official .pth)")
        gen_cfg = cfg.get("generator")
        fallback = (lambda: instantiate(gen_cfg)) if gen_cfg else None
        return _generator_from_file(str(cfg.ckpt_path), fallback)
    if cfg.pipeline == "dual":
        from restoregan.nets.generators.resnet import ResnetGenerator
        from restoregan.nets.generators.rrdb import RRDBNet
        from restoregan.pipeline import DualGANPipeline

        if not cfg.get("deblur_ckpt") or not cfg.get("sr_ckpt"):
            raise CheckpointError("pipeline=dual needs deblur_ckpt=... and sr_ckpt=...")
        deblur, d_src = _chain_stage(
            str(cfg.deblur_ckpt),
            cfg.get("deblur_generator"),
            node="deblur_generator",
            published=ResnetGenerator,
            example="resnet deblur_generator.ngf=32",
        )
        sr, s_src = _chain_stage(
            str(cfg.sr_ckpt),
            cfg.get("sr_generator"),
            node="sr_generator",
            published=RRDBNet,
            example="rrdb sr_generator.n_blocks=16",
        )
        return DualGANPipeline(deblur=deblur, sr=sr), f"dual({d_src} -> {s_src})"
    raise ValueError(f"pipeline must be 'single' or 'dual', got {cfg.pipeline!r}")
