"""Export a generator to ONNX or TorchScript, and run an exported file like a generator.

Exported graphs take and return ``(B, 3, H, W)`` float32 RGB in **[0, 1]** whatever the
network's own ``value_range``, pad to its ``size_multiple`` in-graph (reflection, at the
bottom/right, as `restoregan.nets.layers.pad_to_multiple`) and crop the output back to
``(scale*H, scale*W)``, clamped. So a user of the file needs to know nothing about the
network: only that inputs must be at least ``size_multiple`` pixels on each side
(reflection needs a pad smaller than the side).

ONNX goes through ``torch.onnx.export(dynamo=True)`` (torch.export, translated by
``onnxscript``): with torch 2.13 both that exporter and the legacy TorchScript-based one
handle the in-graph padding and dynamic sizes of every generator here, and the dynamo one
is the maintained path. The file carries the weights inline (one file, no ``.data``
beside it) and ``restoregan.*`` metadata (scale, source); `OnnxRestorer` runs it through
onnxruntime.

TorchScript goes through ``torch.jit.trace``: the U-Net and RRDBNet forwards are not
scriptable, and tracing records the size arithmetic of the padding as graph operations,
so one trace serves every size (the tests check sizes other than the traced one).
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restoregan.files import atomic_path
from restoregan.nets.contract import Generator, require

# The dynamo exporter of torch 2.13 writes opset 18 at the lowest (its down-conversion
# to 17 fails on Pad); the legacy exporter writes 17 too.
OPSET = 18
_META_KEY = "restoregan.json"  # TorchScript extra file / ONNX metadata key


class ExportError(ValueError):
    """An export target or an exported file that cannot be used (says which and why)."""


def generator_contract(net: nn.Module) -> tuple[tuple[float, float], int, int]:
    """``(value_range, scale, size_multiple)`` of a generator (the contract it declares)."""
    require(net, Generator, "network to export")
    return net.value_range, net.scale, net.size_multiple


class ExportWrapper(nn.Module):
    """``(B, 3, H, W)`` in [0, 1] -> ``(B, 3, scale*H, scale*W)`` in [0, 1], clamped.

    Maps into the generator's range and back and pads to its size multiple in the graph.
    The pad is applied unconditionally (zero-width when the side is already a multiple):
    a Python branch on the size would be frozen into a traced graph.
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        (self.low, self.high), self.scale, self.multiple = generator_contract(generator)
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2], x.shape[-1]
        m = self.multiple
        y = F.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m), mode="reflect")
        y = self.generator(y * (self.high - self.low) + self.low)
        y = (y - self.low) / (self.high - self.low)
        return y[..., : h * self.scale, : w * self.scale].clamp(0.0, 1.0)


def _metadata(generator: nn.Module, source: str) -> dict[str, Any]:
    _, scale, multiple = generator_contract(generator)
    return {
        "format": 1,
        "generator": type(generator).__name__,
        "scale": scale,
        "network_size_multiple": multiple,
        "source": source,
        "io": "(B, 3, H, W) float32 RGB in [0, 1] -> (B, 3, scale*H, scale*W) in [0, 1]",
    }


def _example(generator: nn.Module, size: tuple[int, int]) -> Tensor:
    # Batch 2 and unequal sides, so the exporter cannot specialise the batch to 1 or
    # unify height with width; the sides are not multiples, so the padding is exercised.
    _, _, m = generator_contract(generator)
    h, w = size
    return torch.rand(2, 3, h * m + (m > 1), w * m + (m > 1))


@contextmanager
def _atomic_target(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path``, moved onto it only when the block succeeds: an
    interrupted export never leaves a half-written file under the requested name."""
    with atomic_path(path) as tmp:
        yield tmp


def export_onnx(
    generator: nn.Module,
    path: str | os.PathLike,
    *,
    source: str = "",
    opset: int = OPSET,
    dynamo: bool = True,
    example_size: tuple[int, int] = (24, 20),
) -> Path:
    """Write ``generator`` as an ONNX file with dynamic batch, height and width.

    Args:
        generator: any module with ``value_range``, ``scale`` and ``size_multiple``; it
            is exported in eval mode on the CPU (the caller's module is not changed).
        path: the ``.onnx`` file to write (atomically).
        source: what the weights came from, stored in the file's metadata.
        opset: ONNX opset (17 or later).
        dynamo: the torch.export-based exporter (default) or, with False, the legacy
            TorchScript-based one.
        example_size: traced input size in units of ``size_multiple`` (plus one pixel).
    """
    import onnx

    if opset < 17:
        raise ExportError(f"ONNX export needs opset 17 or later, got opset={opset}")
    if dynamo and opset < 18:
        raise ExportError(
            f"the dynamo ONNX exporter writes opset 18 or later, got opset={opset}; use "
            "opset 18, or the legacy exporter (dynamo=False) for opset 17"
        )
    wrapper = ExportWrapper(_cpu_eval_copy(generator)).eval()
    example = _example(generator, example_size)
    names = {"input_names": ["image"], "output_names": ["restored"]}
    with _atomic_target(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and exporter chatter about size arithmetic
        if dynamo:
            dyn = {i: torch.export.Dim(n) for i, n in ((0, "batch"), (2, "height"), (3, "width"))}
            torch.onnx.export(
                wrapper,
                (example,),
                str(tmp),
                dynamo=True,
                external_data=False,
                opset_version=opset,
                dynamic_shapes=(dyn,),
                **names,
            )
        else:
            axes = {0: "batch", 2: "height", 3: "width"}
            torch.onnx.export(
                wrapper,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                dynamic_axes={"image": axes, "restored": axes},
                **names,
            )
        model = onnx.load(str(tmp))
        onnx.checker.check_model(model)
        meta = {p.key: p.value for p in model.metadata_props}
        meta[_META_KEY] = json.dumps(_metadata(generator, source))
        onnx.helper.set_model_props(model, meta)
        onnx.save(model, str(tmp))
    return Path(path)


def export_torchscript(
    generator: nn.Module,
    path: str | os.PathLike,
    *,
    source: str = "",
    example_size: tuple[int, int] = (24, 20),
) -> Path:
    """Write ``generator`` as a traced TorchScript file (``torch.jit.load`` reads it).

    The metadata travels as the extra file ``restoregan.json``; `load_exported` reads it.
    """
    wrapper = ExportWrapper(_cpu_eval_copy(generator)).eval()
    example = _example(generator, example_size)
    with _atomic_target(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(wrapper, (example,), check_trace=False)
        extra = {_META_KEY: json.dumps(_metadata(generator, source))}
        torch.jit.save(traced, str(tmp), _extra_files=extra)
    return Path(path)


def _cpu_eval_copy(generator: nn.Module) -> nn.Module:
    generator_contract(generator)
    return copy.deepcopy(generator).cpu().eval()


class ExportedRestorer(Generator):
    """An exported file run like a generator: ``(B, 3, H, W)`` in [0, 1] -> [0, 1].

    Attributes as every generator: ``value_range = (0.0, 1.0)`` (the graph maps ranges
    itself), ``scale`` from the file, ``size_multiple = 1`` (the graph pads itself), so
    `restoregan.restore.restore` and `restoregan.tiling.tiled_apply` run it unchanged.
    """

    def __init__(self, path: str | os.PathLike, metadata: dict[str, Any]) -> None:
        super().__init__(value_range=(0.0, 1.0), scale=int(metadata.get("scale", 1)))
        self.path = Path(path)
        self.metadata = metadata

    def extra_repr(self) -> str:
        return f"path={str(self.path)!r}, scale={self.scale}"


class OnnxRestorer(ExportedRestorer):
    """Runs an ``.onnx`` file written by `export_onnx` through onnxruntime.

    Inputs may live on any device; they are copied to the CPU for onnxruntime (or fed
    to the CUDA provider when onnxruntime-gpu is installed) and the output comes back on
    the input's device and dtype.
    """

    def __init__(self, path: str | os.PathLike, *, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        path = _existing(path, ".onnx")
        try:
            session = ort.InferenceSession(
                str(path), providers=providers or ort.get_available_providers()
            )
        except Exception as err:  # onnxruntime raises its own exception types
            raise ExportError(
                f"{path} is not an ONNX file onnxruntime can run ({err}); export it again "
                "with src/export.py format=onnx"
            ) from err
        meta = session.get_modelmeta().custom_metadata_map
        super().__init__(path, json.loads(meta.get(_META_KEY, "{}")))
        self.session = session
        self.input_name = session.get_inputs()[0].name

    def forward(self, x: Tensor) -> Tensor:
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        (out,) = self.session.run(None, {self.input_name: array})
        return torch.from_numpy(out).to(device=x.device, dtype=x.dtype)


class TorchScriptRestorer(ExportedRestorer):
    """Runs a TorchScript file written by `export_torchscript`; moves with ``.to()``."""

    def __init__(self, path: str | os.PathLike, *, map_location: str = "cpu") -> None:
        path = _existing(path, ".pt")
        extra = {_META_KEY: ""}
        try:
            module = torch.jit.load(str(path), map_location=map_location, _extra_files=extra)
        except RuntimeError as err:
            raise ExportError(
                f"{path} is not a TorchScript file ({err}); export it again with "
                "src/export.py format=torchscript"
            ) from err
        super().__init__(path, json.loads(extra[_META_KEY] or "{}"))
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        return self.module(x)


def _existing(path: str | os.PathLike, suffix: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ExportError(
            f"exported model {path} does not exist; expected a {suffix} file written by "
            "src/export.py"
        )
    return path


def load_exported(path: str | os.PathLike) -> ExportedRestorer:
    """An exported file as a restorer: ``.onnx`` through onnxruntime, ``.pt`` / ``.ts``
    / ``.torchscript`` through ``torch.jit.load``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return OnnxRestorer(path)
    if suffix in (".pt", ".ts", ".torchscript"):
        return TorchScriptRestorer(path)
    raise ExportError(
        f"{path}: unknown exported-model suffix {suffix!r}; expected .onnx (ONNX) or "
        ".pt / .ts / .torchscript (TorchScript)"
    )


@torch.no_grad()
def max_abs_difference(exported: nn.Module, generator: nn.Module, x01: Tensor) -> float:
    """Largest difference between an exported restorer and the generator it came from on
    ``x01`` (in [0, 1]); the PyTorch side runs the `ExportWrapper` the file was made of."""
    reference = ExportWrapper(generator).eval()(x01)
    return float((exported(x01) - reference).abs().max())
