"""Parameter counts (PyTorch and Keras conventions) and per-layer tables.

Keras counts a BatchNormalization layer as 4 numbers per channel: gamma and beta
(trainable) plus moving mean and variance (non-trainable). PyTorch keeps the last two as
buffers, so ``keras=True`` adds the BatchNorm ``running_mean`` / ``running_var`` buffers.
``num_batches_tracked`` and InstanceNorm statistics never count (Keras has neither).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import parametrize


def _keras_extra(module: nn.Module) -> int:
    """BatchNorm moving statistics directly owned by `module` (0 for anything else)."""
    if isinstance(module, _BatchNorm) and module.track_running_stats:
        return module.running_mean.numel() + module.running_var.numel()
    return 0


def count_parameters(module: nn.Module, keras: bool = False) -> int:
    """Number of parameters in `module`, trainable or frozen, shared ones once.

    With ``keras=True`` the BatchNorm moving mean and variance count too, as in a Keras
    ``model.summary()`` total.
    """
    total = sum(p.numel() for p in module.parameters())
    if keras:
        total += sum(_keras_extra(m) for m in module.modules())
    return total


def _layers(module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Modules that own parameters directly, or through a parametrisation (spectral norm)."""
    for name, m in module.named_modules():
        if isinstance(m, parametrize.ParametrizationList) or ".parametrizations." in f".{name}.":
            continue
        if next(m.parameters(recurse=False), None) is not None or parametrize.is_parametrized(m):
            yield name, m


def _own_parameters(m: nn.Module) -> int:
    count = sum(p.numel() for p in m.parameters(recurse=False))
    if parametrize.is_parametrized(m):
        count += sum(p.numel() for p in m.parametrizations.parameters())
    return count


def _geometry(m: nn.Module) -> dict[str, Any]:
    if isinstance(m, nn.modules.conv._ConvNd):
        return {
            "kernel": tuple(m.kernel_size),
            "stride": tuple(m.stride),
            "in_channels": m.in_channels,
            "out_channels": m.out_channels,
        }
    if isinstance(m, nn.Linear):
        return {"in_channels": m.in_features, "out_channels": m.out_features}
    features = getattr(m, "num_features", None)  # norm layers
    return {"in_channels": features, "out_channels": features}


@torch.no_grad()
def layer_table(
    module: nn.Module,
    input_shape: tuple[int, ...] = (1, 3, 256, 256),
    keras: bool = False,
) -> list[dict[str, Any]]:
    """One row per layer that has parameters, in forward order.

    Runs `module` once (eval mode, no grad, then restores the mode) on zeros of
    `input_shape` and records each layer's output shape with forward hooks. Row keys:
    ``name, type, kernel, stride, in_channels, out_channels, output_shape, params``
    (``kernel``/``stride``/channels are None where they do not apply). Layers never called
    in the forward pass come last with ``output_shape`` None.
    """
    rows: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    handles = []
    for name, m in _layers(module):
        rows[name] = {
            "name": name,
            "type": type(m).__name__,
            "kernel": None,
            "stride": None,
            **_geometry(m),
            "output_shape": None,
            "params": _own_parameters(m) + (_keras_extra(m) if keras else 0),
        }

        def hook(_m: nn.Module, _inp: Any, out: Any, name: str = name) -> None:
            if rows[name]["output_shape"] is None and isinstance(out, torch.Tensor):
                rows[name]["output_shape"] = tuple(out.shape)
                order.append(name)

        handles.append(m.register_forward_hook(hook))

    first = next(module.parameters(), None)
    dummy = torch.zeros(
        input_shape,
        device=first.device if first is not None else None,
        dtype=first.dtype if first is not None else None,
    )
    was_training = module.training
    module.eval()
    try:
        module(dummy)
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    unseen = [name for name in rows if name not in order]
    return [rows[name] for name in order + unseen]


def format_table(rows: list[dict[str, Any]]) -> str:
    """Aligned text table of `layer_table` rows with a total line."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, tuple):
            return "x".join(str(v) for v in value)
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    columns = ["name", "type", "kernel", "stride", "in_channels", "out_channels"]
    columns += ["output_shape", "params"]
    headers = ["layer", "type", "K", "S", "C_in", "C_out", "output", "#params"]
    body = [[cell(row[c]) for c in columns] for row in rows]
    total = sum(row["params"] for row in rows)
    footer = ["total", "", "", "", "", "", "", f"{total:,}"]
    widths = [max(len(r[i]) for r in [headers, *body, footer]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        # Text columns left-aligned, numbers right-aligned.
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "-" * len(line(["-" * w for w in widths]))
    return "\n".join([line(headers), rule, *(line(r) for r in body), rule, line(footer)])
