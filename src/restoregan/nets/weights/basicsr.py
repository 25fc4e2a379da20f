"""BasicSR's ``VGGStyleDiscriminator`` (ESRGAN's discriminator) into `VGGStyleDiscriminator`.

BasicSR names every layer: ``conv0_0`` (3x3, with bias), then ``conv{i}_1`` + ``bn{i}_1``
(4x4 stride 2) for i = 0..4 and ``conv{i}_0`` + ``bn{i}_0`` (3x3) for i = 1..4, then
``linear1`` (512*4*4 -> 100) and ``linear2`` (100 -> 1). Its 128-pixel version is our
`VGGStyleDiscriminator(input_size=128)` layer for layer; the 256-pixel version adds a sixth
pair (``conv5_*``), which the suite's five-pair network does not have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from restoregan.nets.discriminators.vgg128 import VGGStyleDiscriminator
from restoregan.nets.weights.core import Converted, Converter, StateDict

_KEY = re.compile(r"^(conv|bn)(\d+)_([01])\.(.+)$")
_N_BLOCKS = 5  # [3x3 conv, 4x4 stride-2 conv] pairs of VGGStyleDiscriminator


def _index(block: int, conv: int, kind: str) -> int:
    """Position in `VGGStyleDiscriminator.features` of BasicSR's ``conv/bn{block}_{conv}``.

    Block 0 is [conv 3x3, LReLU, conv 4x4, BN, LReLU] (5 modules); every later block is
    [conv 3x3, BN, LReLU, conv 4x4, BN, LReLU] (6 modules), so block b starts at 6b - 1.
    """
    if block == 0:
        return {("conv", 0): 0, ("conv", 1): 2, ("bn", 1): 3}[(kind, conv)]
    start = 6 * block - 1
    return start + {("conv", 0): 0, ("bn", 0): 1, ("conv", 1): 3, ("bn", 1): 4}[(kind, conv)]


def _matches(state: Mapping[str, Any]) -> bool:
    return "conv0_0.weight" in state and "linear1.weight" in state


def _convert(net: VGGStyleDiscriminator, state: StateDict, origin: str) -> Converted:
    out = {}
    for key, value in state.items():
        m = _KEY.match(key)
        # Blocks past the fifth (the 256-pixel version) and bn0_0 (which BasicSR does not
        # have either) keep their names, so the strict check lists them as unexpected.
        if m and int(m[2]) < _N_BLOCKS and (m[1], int(m[2]), int(m[3])) != ("bn", 0, 0):
            kind, block, conv, param = m[1], int(m[2]), int(m[3]), m[4]
            out[f"features.{_index(block, conv, kind)}.{param}"] = value
            continue
        if key.startswith(("linear1.", "linear2.")):
            layer, _, param = key.partition(".")
            out[f"head.{1 if layer == 'linear1' else 3}.{param}"] = value
            continue
        out[key] = value
    return Converted(
        out,
        what=f"VGGStyleDiscriminator(input_size={net.input_size})",
        hint=(
            "BasicSR's 128-pixel VGGStyleDiscriminator fits discriminator=vgg128 with "
            "data.crop_size=128 and discriminator.nf equal to its num_feat; its 256-pixel "
            "version (conv5_* keys) has no counterpart here."
        ),
    )


DISCRIMINATOR = Converter(
    name="basicsr-vgg",
    title="BasicSR VGGStyleDiscriminator (conv{i}_{j}, bn{i}_{j}, linear1/2 keys)",
    target=VGGStyleDiscriminator,
    config="discriminator=vgg128",
    matches=_matches,
    convert=_convert,
)
