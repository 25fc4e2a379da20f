"""The suite's own Lightning checkpoints: which weights in them belong to which network.

`restoregan.callbacks.run_config.RunConfig` marks a checkpoint with a ``"restoregan"``
entry (the resolved run config). Its ``state_dict`` holds ``generator.*`` and, for GAN
runs, ``discriminator.*``; `restoregan.callbacks.ema.GeneratorEMA` adds
``generator_ema``, which is preferred for generators because it is what validation scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from restoregan.nets.contract import Discriminator, Generator
from restoregan.nets.weights.core import CheckpointError, StateDict


def is_checkpoint(obj: Any) -> bool:
    """Whether `obj` (a loaded file) is a restoregan training checkpoint."""
    return isinstance(obj, Mapping) and "restoregan" in obj and "state_dict" in obj


def network_state(checkpoint: Mapping[str, Any], net: nn.Module, source: str) -> StateDict:
    """The weights of `checkpoint` meant for `net`: the generator's (EMA preferred) for a
    `Generator`, the discriminator's for a `Discriminator`."""
    if isinstance(net, Generator):
        if "generator_ema" in checkpoint:
            return dict(checkpoint["generator_ema"])
        prefix = "generator."
    elif isinstance(net, Discriminator):
        prefix = "discriminator."
    else:
        raise CheckpointError(
            f"{source} is a restoregan checkpoint, which holds a generator and a "
            f"discriminator; {type(net).__name__} is neither"
        )
    state = {
        k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)
    }
    if not state:
        raise CheckpointError(
            f"{source} has no `{prefix}*` weights in its state_dict (a supervised run "
            "trains no discriminator)"
        )
    return state
