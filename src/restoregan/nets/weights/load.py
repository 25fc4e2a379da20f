"""`load_weights`: any weights file a user is likely to have, into the suite's network.

The family is recognised from the keys (after removing a ``module.`` prefix and BasicSR's
``params_ema`` / ``params`` wrapper); its converter renames them into the network's own
layout and `core.load_strict` checks every key and shape before anything is copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from restoregan.nets.weights import basicsr, deblurgan, esrgan, suite
from restoregan.nets.weights.core import CheckpointError, load_strict, read_state_dict, unwrap

CONVERTERS = (deblurgan.GENERATOR, esrgan.GENERATOR, deblurgan.DISCRIMINATOR, basicsr.DISCRIMINATOR)
EXPECTED = (
    "a restoregan .ckpt or a published .pth (DeblurGAN 2018, ESRGAN / BasicSR) saved with "
    "torch.save"
)


def load_weights(
    net: nn.Module, source: str | Path | Mapping[str, Any], *, label: str | None = None
) -> str:
    """Load `source` into `net` in place, strictly; returns what was loaded.

    Args:
        net: the network to fill, built with the settings the weights were trained with.
        source: a file path, or an already loaded mapping, holding one of
            - a restoregan training checkpoint (the generator's weights, EMA preferred,
              or the discriminator's, depending on `net`);
            - DeblurGAN 2018 ``latest_net_G.pth`` (into `ResnetGenerator`) or its
              NLayerDiscriminator (into `PatchGANDiscriminator`);
            - ESRGAN in its old, new or BasicSR naming, BasicSR's ``params`` /
              ``params_ema`` files included (into `RRDBNet`);
            - BasicSR's VGGStyleDiscriminator (into `VGGStyleDiscriminator`);
            - a state dict in `net`'s own layout;
            each with or without DataParallel's ``module.`` prefix.
        label: how messages and the description name `source`; defaults to the path, or
            ``"<state dict>"`` for a mapping (pass the path of a file read already).

    Returns:
        ``"<family>:<source>"``, e.g. ``"esrgan:RRDB_ESRGAN_x4.pth"``, ``"restoregan:last.ckpt"``.

    Raises:
        CheckpointError: (a ValueError) the file is missing or unreadable, its layout is
            not recognised, it belongs to another architecture, or its keys or shapes do
            not match `net` exactly. The message names the source and the network.
    """
    if label is None:
        label = str(source) if isinstance(source, (str, Path)) else "<state dict>"
    obj = (
        read_state_dict(source, what="weights file", expected=EXPECTED)
        if isinstance(source, (str, Path))
        else dict(source)
    )
    family = ""
    if suite.is_checkpoint(obj):
        obj, family = suite.network_state(obj, net, label), "restoregan"
    state = unwrap(obj)
    converter = next((c for c in CONVERTERS if c.matches(state)), None)
    if converter is None:
        _check_own_layout(net, state, label)
        load_strict(net, state, source=label)
        return f"{family or 'state_dict'}:{label}"
    if not isinstance(net, converter.target):
        raise CheckpointError(
            f"{label} holds {converter.title} weights, which load into "
            f"{converter.target.__name__} ({converter.config}), not into {type(net).__name__}; "
            f"build the network the file was trained with"
        )
    converted = converter.convert(net, state, label)
    load_strict(net, converted.state, source=label, what=converted.what, hint=converted.hint)
    return f"{family or converter.name}:{label}"


def _check_own_layout(net: nn.Module, state: Mapping[str, Any], label: str) -> None:
    """A state dict no converter claims must at least share keys with `net`'s own layout."""
    if set(state) & set(net.state_dict()):
        return
    published = [c.title for c in CONVERTERS if isinstance(net, c.target)]
    sample = ", ".join(list(state)[:6]) or "(no keys)"
    expected = f"a recognised {' or '.join(published)} checkpoint or " if published else ""
    raise CheckpointError(
        f"{label}: not {expected}a state dict in {type(net).__name__}'s own layout "
        f"(e.g. {next(iter(net.state_dict()), '?')}); found keys {sample}"
    )
