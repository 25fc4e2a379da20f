"""ESRGAN generator weights into `RRDBNet`, whatever their key naming.

Three namings are in circulation:

- **old** (the first ESRGAN code, `*_old_arch.pth` files): one flat
  `nn.Sequential`, so layers are numbered: `model.0` first conv, `model.1.sub.{i}` the
  RRDBs with `RDB{k}.conv{j}.0` (each conv wrapped in a one-conv Sequential),
  `model.1.sub.{n_blocks}` the trunk conv, and after the trunk the flattened
  [upsample, conv, LeakyReLU] x2 + [conv, LeakyReLU] + conv, i.e. `model.3` / `model.6`
  the two upsampling convs, `model.8` the HR conv and `model.10` the last conv (the odd
  indices in between are parameter-free upsample and activation layers);
- **new** (the ESRGAN repository's current code, e.g. `RRDB_ESRGAN_x4.pth`):
  `conv_first`, `RRDB_trunk.{i}.RDB{k}.conv{j}`, `trunk_conv`, `upconv1`, `upconv2`,
  `HRconv`, `conv_last`;
- **basicsr** (BasicSR / Real-ESRGAN): `conv_first`, `body.{i}.rdb{k}.conv{j}`,
  `conv_body`, `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`, stored under `"params"`
  and/or `"params_ema"` (unwrapped by `core.unwrap`). This is also `RRDBNet`'s own
  layout, so the suite's state dicts load here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from restoregan.nets.generators.rrdb import RRDBNet
from restoregan.nets.weights.core import Converted, Converter, StateDict

# (pattern, replacement) pairs that rename one naming into RRDBNet's; applied to each key,
# the first matching pattern wins. Parameter suffixes (`.weight`, `.bias`) pass through.
_RENAMES: dict[str, list[tuple[str, str]]] = {
    "old": [
        (r"^model\.0\.", "conv_first."),
        (r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.", r"body.\1.rdb\2.conv\3."),
        # The trunk conv follows the last RRDB (index n_blocks) and, unlike the RRDBs, is a
        # bare conv: its keys end right after the index.
        (r"^model\.1\.sub\.\d+\.(weight|bias)$", r"conv_body.\1"),
        (r"^model\.3\.", "conv_up1."),
        (r"^model\.6\.", "conv_up2."),
        (r"^model\.8\.", "conv_hr."),
        (r"^model\.10\.", "conv_last."),
    ],
    "new": [
        (r"^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\.", r"body.\1.rdb\2.conv\3."),
        (r"^trunk_conv\.", "conv_body."),
        (r"^upconv1\.", "conv_up1."),
        (r"^upconv2\.", "conv_up2."),
        (r"^HRconv\.", "conv_hr."),
    ],
    "basicsr": [],
}

# Keys that only one naming has, used to tell them apart.
_MARKERS = {
    "old": re.compile(r"^model\.1\.sub\."),
    "new": re.compile(r"^RRDB_trunk\."),
    "basicsr": re.compile(r"^body\.\d+\.rdb\d\."),
}


def _naming(state: Mapping[str, Any]) -> str | None:
    found = [name for name, marker in _MARKERS.items() if any(marker.match(k) for k in state)]
    return found[0] if len(found) == 1 else None


def _convert(generator: RRDBNet, state: StateDict, origin: str) -> Converted:
    naming = _naming(state)
    assert naming is not None  # `matches` said so
    rules = [(re.compile(pattern), repl) for pattern, repl in _RENAMES[naming]]
    out = {}
    for key, value in state.items():
        new_key = key
        for pattern, repl in rules:
            if pattern.match(key):
                new_key = pattern.sub(repl, key, count=1)
                break
        out[new_key] = value
    return Converted(
        out,
        what=(
            f"RRDBNet(scale={generator.scale}, n_blocks={len(generator.body)}, "
            f"nf={generator.conv_first.out_channels})"
        ),
        hint=(
            f"The file holds {naming}-style ESRGAN weights that look like {_describe(out)}; "
            "build the generator with the checkpoint's scale / n_blocks / nf."
        ),
    )


def _describe(state: Mapping[str, Any]) -> str:
    """Guess scale / n_blocks / nf from converted keys, to say what the checkpoint is."""
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"^body\.(\d+)\.", k))}
    first = state.get("conv_first.weight")
    if first is None or first.ndim != 4:
        return f"n_blocks={len(blocks)}"
    # The first conv takes 3 * unshuffle^2 channels for RGB (3 -> x4, 12 -> x2, 48 -> x1).
    scale = {3: 4, 12: 2, 48: 1}.get(first.shape[1], "?")
    return f"scale={scale}, n_blocks={len(blocks)}, nf={first.shape[0]}"


GENERATOR = Converter(
    name="esrgan",
    title="ESRGAN (RRDBNet; keys model.1.sub., RRDB_trunk. or body.N.rdbK.)",
    target=RRDBNet,
    config="generator=rrdb",
    matches=lambda state: _naming(state) is not None,
    convert=_convert,
)
