"""What every weights family shares: reading a file, one strict loader, one error type.

Published checkpoints differ in their key names; once a converter has renamed them into a
network's own layout, `load_strict` checks missing, unexpected and mis-shaped keys the
same way for every family, before anything is copied, so a failed load never leaves a
half-loaded network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

StateDict = dict[str, Any]


class CheckpointError(ValueError):
    """A weights file or state dict that does not fit the network it is loaded into."""


@dataclass(frozen=True)
class Converted:
    """A converter's result: the state in the network's own layout, and what to say if
    the strict check still fails (`what` names the network, `hint` says what to do)."""

    state: StateDict
    what: str
    hint: str = ""


@dataclass(frozen=True)
class Converter:
    """One published key layout and how it maps onto one of the suite's networks.

    Attributes:
        name: short tag of the family in load descriptions (``"esrgan:<file>"``).
        title: the family as a user knows it, for messages.
        target: the network class its weights load into.
        config: the config choice that builds that network (``generator=rrdb``).
        matches: whether a state dict (prefix-stripped, unwrapped) is in this layout.
        convert: ``(net, state, source) -> Converted``; raises `CheckpointError` when the
            network's settings cannot hold the file.
    """

    name: str
    title: str
    target: type[nn.Module]
    config: str
    matches: Callable[[Mapping[str, Any]], bool] = field(repr=False)
    convert: Callable[[Any, StateDict, str], Converted] = field(repr=False)


def read_state_dict(path: str | Path, *, what: str, expected: str) -> StateDict:
    """Load a weights file (a mapping saved with torch.save) on the CPU.

    `what` names the file's role in messages ("weights file", "VGG weights file") and
    `expected` says what a right file would be. weights_only: a checkpoint is data, and
    pickled code from a download must never run. Raises `CheckpointError` naming the file
    for a missing file, a file torch cannot read, or one that holds no mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{what} not found: {path} does not exist or is not a file; expected {expected}"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load raises many types for a file that is not a .pth
        raise CheckpointError(
            f"{path}: could not read it as a PyTorch checkpoint ({type(err).__name__}: {err}); "
            f"expected {expected}"
        ) from err
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, expected {expected}")
    return dict(state)


def unwrap(state: Mapping[str, Any]) -> StateDict:
    """The network weights inside a published file.

    BasicSR (and Real-ESRGAN) store them under ``"params_ema"`` and/or ``"params"``; the
    moving average is preferred, being what BasicSR evaluates and releases. DataParallel
    checkpoints prefix every key with ``module.``, which is removed.
    """
    for wrapper in ("params_ema", "params"):
        if isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
            break
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        return {k.removeprefix("module."): v for k, v in state.items()}
    return dict(state)


def _shape(value: Any) -> tuple[int, ...] | str:
    return tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__


def _listing(title: str, items: list[str], limit: int = 8) -> str:
    if not items:
        return ""
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"\n  {title} ({len(items)}): {', '.join(items[:limit])}{more}"


def load_strict(
    net: nn.Module, state: Mapping[str, Any], *, source: str, what: str = "", hint: str = ""
) -> None:
    """Copy `state` into `net` if its keys and shapes match `net.state_dict()` exactly.

    Otherwise raise `CheckpointError` naming `source` and the network (`what`, default
    its class name), listing the missing, unexpected and mis-shaped keys, then `hint`.
    Nothing is copied unless everything fits.
    """
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{key}: checkpoint {_shape(state[key])} vs network {tuple(value.shape)}"
        for key, value in own.items()
        if key in state and _shape(state[key]) != tuple(value.shape)
    ]
    if missing or unexpected or mismatched:
        kinds = [
            name
            for name, items in (
                ("missing keys", missing),
                ("unexpected keys", unexpected),
                ("mismatched shapes", mismatched),
            )
            if items
        ]
        raise CheckpointError(
            f"{source} does not fit {what or type(net).__name__}: {', '.join(kinds)}"
            f"{_listing('missing', missing)}{_listing('unexpected', unexpected)}"
            f"{_listing('shape mismatch', mismatched)}" + (f"\n{hint}" if hint else "")
        )
    net.load_state_dict(dict(state), strict=True)
