"""Load official ESRGAN generator weights into `RRDBNet`, whatever their key naming.

Three namings are in circulation (REFERENCE.md, ESRGAN):

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
  and/or `"params_ema"`. This is also `RRDBNet`'s own layout, so our state dicts load here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from torch import Tensor

from restoregan.nets.checkpoints import read_state_dict
from restoregan.nets.generators.rrdb import RRDBNet

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

# A key that only one naming has, used to tell them apart.
_MARKERS = {"old": "model.1.sub.", "new": "RRDB_trunk.", "basicsr": "body."}


def load_esrgan(generator: RRDBNet, source: str | Path | Mapping[str, Tensor]) -> RRDBNet:
    """Load ESRGAN weights in any of the three official namings into `generator`, in place.

    Args:
        generator: the network to fill; its `scale`, `nf`, `n_blocks` and `growth` must
            match the checkpoint's (e.g. `RRDBNet(scale=4)` for `RRDB_ESRGAN_x4.pth`).
        source: a `.pth` file, or an already loaded state dict. A BasicSR wrapper
            `{"params": ..., "params_ema": ...}` is unwrapped, preferring `params_ema`
            (the exponential moving average BasicSR evaluates and releases).

    Returns:
        `generator`, for chaining.

    Raises:
        ValueError: the file is missing or unreadable, the naming is not recognised, or
            the converted keys or shapes do not match `generator` exactly (a x2 checkpoint
            into a x4 net, a different `n_blocks`, ...). The message names the source and
            the offending keys.
    """
    label = "<state dict>" if isinstance(source, Mapping) else str(source)
    state = _unwrap(source if isinstance(source, Mapping) else _read(Path(source)))
    naming = _detect(state, label)
    converted = _convert(state, naming)

    expected = generator.state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    mismatched = [
        f"{key}: checkpoint {tuple(converted[key].shape)} vs network {tuple(value.shape)}"
        for key, value in expected.items()
        if key in converted and converted[key].shape != value.shape
    ]
    if missing or unexpected or mismatched:
        raise ValueError(
            f"{label}: {naming}-style ESRGAN weights do not fit "
            f"RRDBNet(scale={generator.scale}, n_blocks={len(generator.body)}, "
            f"nf={generator.conv_first.out_channels}). Checkpoint looks like "
            f"{_describe(converted)}.{_listing('missing', missing)}"
            f"{_listing('unexpected', unexpected)}{_listing('shape mismatch', mismatched)}\n"
            "Build the generator with the checkpoint's scale / n_blocks / nf."
        )
    generator.load_state_dict(converted, strict=True)
    return generator


def _read(path: Path) -> Mapping[str, object]:
    return read_state_dict(
        path, what="ESRGAN checkpoint", expected="a .pth file saved with torch.save"
    )


def _unwrap(state: Mapping[str, object]) -> Mapping[str, Tensor]:
    for wrapper in ("params_ema", "params"):
        if isinstance(state.get(wrapper), Mapping):
            return state[wrapper]  # type: ignore[return-value]
    return state  # type: ignore[return-value]


def _detect(state: Mapping[str, Tensor], label: str) -> str:
    found = [name for name, marker in _MARKERS.items() if any(k.startswith(marker) for k in state)]
    if len(found) != 1:
        sample = ", ".join(list(state)[:6]) or "(no keys)"
        raise ValueError(
            f"{label}: not a recognised ESRGAN RRDBNet checkpoint; expected keys starting "
            f"with one of {sorted(_MARKERS.values())}, found {sample}"
        )
    return found[0]


def _convert(state: Mapping[str, Tensor], naming: str) -> dict[str, Tensor]:
    rules = [(re.compile(pattern), repl) for pattern, repl in _RENAMES[naming]]
    out = {}
    for key, value in state.items():
        new_key = key
        for pattern, repl in rules:
            if pattern.match(key):
                new_key = pattern.sub(repl, key, count=1)
                break
        out[new_key] = value
    return out


def _describe(state: Mapping[str, Tensor]) -> str:
    """Guess scale / n_blocks / nf from converted keys, to say what the checkpoint is."""
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"^body\.(\d+)\.", k))}
    first = state.get("conv_first.weight")
    if first is None or first.ndim != 4:
        return f"n_blocks={len(blocks)}"
    # The first conv takes 3 * unshuffle^2 channels for RGB (3 -> x4, 12 -> x2, 48 -> x1).
    scale = {3: 4, 12: 2, 48: 1}.get(first.shape[1], "?")
    return f"scale={scale}, n_blocks={len(blocks)}, nf={first.shape[0]}"


def _listing(title: str, items: list[str], limit: int = 8) -> str:
    if not items:
        return ""
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"\n  {title} ({len(items)}): {', '.join(items[:limit])}{more}"
