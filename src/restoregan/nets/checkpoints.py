"""Loaders for official checkpoints into the suite's networks.

Each loader is self-contained; DeblurGAN 2018 (``latest_net_G.pth``) comes first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from restoregan.nets.generators.resnet import ResnetGenerator

# ---------------------------------------------------------------------------------------
# DeblurGAN 2018
# ---------------------------------------------------------------------------------------

# InstanceNorm in PyTorch 0.3 saved running statistics that it never used at test time.
_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
_BLOCK_KEY = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.weight$")


class CheckpointError(ValueError):
    """A checkpoint file or state dict that does not fit the network it is loaded into."""


def _deblurgan_2018_names(n_downsampling: int, n_blocks: int, block_conv2: int) -> dict[str, str]:
    """2018 module path -> our module path, for every layer that has parameters.

    The 2018 ``ResnetGenerator.model`` is one nn.Sequential::

        ReflectionPad(3), Conv 7x7, Norm, ReLU                      -> model.0 .. model.3
        n_downsampling x [Conv 3x3 s2, Norm, ReLU]                  -> 3 indices each
        n_blocks x ResnetBlock                                      -> 1 index each
        n_downsampling x [ConvTranspose 3x3 s2, Norm, ReLU]         -> 3 indices each
        ReflectionPad(3), Conv 7x7, Tanh

    At 2 downsamplings and 9 blocks: convs at model.1, .4, .7, blocks model.10 .. model.18,
    transposed convs at model.19 and .22, last conv at model.26. Inside a block,
    ``conv_block`` is [Pad, Conv, Norm, ReLU, Dropout, Pad, Conv, Norm]: convs at 1 and 6
    (5 when the checkpoint was trained without dropout).
    """
    names = {"model.1": "head.conv"}
    index = 4
    for i in range(n_downsampling):
        names[f"model.{index}"] = f"down.{i}.conv"
        index += 3
    for j in range(n_blocks):
        names[f"model.{index}.conv_block.1"] = f"blocks.{j}.body.conv1"
        names[f"model.{index}.conv_block.{block_conv2}"] = f"blocks.{j}.body.conv2"
        index += 1
    for i in range(n_downsampling):
        names[f"model.{index}"] = f"up.{i}.conv"
        index += 3
    names[f"model.{index + 1}"] = "tail.conv"  # after ReflectionPad2d(3)
    return names


def read_state_dict(path: str | Path, *, what: str, expected: str) -> dict[str, object]:
    """Load a weights file (a state dict saved with torch.save) on the CPU.

    `what` names the file's role in messages ("DeblurGAN checkpoint", "VGG weights file")
    and `expected` says what a right file would be. weights_only: a checkpoint is data,
    and pickled code from a download must never run. Raises `CheckpointError` naming the
    file for a missing file, a file torch cannot read, or one that holds no state dict.
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


def _read_state_dict(source: str | Path | Mapping[str, torch.Tensor]) -> tuple[dict, str]:
    if isinstance(source, Mapping):
        return dict(source), "the given state dict"
    expected = "a latest_net_G.pth state dict saved with torch.save"
    return read_state_dict(source, what="DeblurGAN checkpoint", expected=expected), str(source)


def _check_config(generator: ResnetGenerator, state: dict, origin: str) -> int:
    """Check the generator can hold a 2018 checkpoint; return the block's second-conv index."""
    wanted = {
        "norm": "instance",
        "upsample": "deconv",
        "down_padding": "symmetric",
        "output": "residual_clamp",
        "conv_bias": True,
    }
    wrong = {k: getattr(generator, k) for k, v in wanted.items() if getattr(generator, k) != v}
    if wrong:
        raise CheckpointError(
            f"cannot load {origin} into this ResnetGenerator: DeblurGAN 2018 needs "
            f"{wanted}, but the generator has {wrong}; use conf/generator/resnet.yaml"
        )
    if "model.1.weight" not in state:
        raise CheckpointError(
            f"{origin} is not a DeblurGAN 2018 generator: no 'model.1.weight' (first conv); "
            f"its first keys are {sorted(state)[:5]}"
        )
    blocks: dict[int, set[int]] = {}  # Sequential index -> conv_block indices with weights
    for key in state:
        if match := _BLOCK_KEY.match(key):
            blocks.setdefault(int(match[1]), set()).add(int(match[2]))
    layouts = {frozenset(convs) for convs in blocks.values()}
    if len(layouts) != 1 or not layouts <= {frozenset({1, 5}), frozenset({1, 6})}:
        raise CheckpointError(
            f"{origin} has no recognisable DeblurGAN residual blocks: expected convs at "
            f"model.N.conv_block.1 and .6 (or .5 without dropout), found {sorted(blocks.items())}"
        )
    found = {
        "ngf": state["model.1.weight"].shape[0],
        "n_blocks": len(blocks),
        "n_downsampling": (min(blocks) - 4) // 3,  # blocks follow 4 + 3 * n_down layers
    }
    expected = {k: getattr(generator, k) for k in found}
    if found != expected:
        raise CheckpointError(
            f"{origin} holds a DeblurGAN generator with {found} (inferred from its keys and "
            f"shapes), but the ResnetGenerator was built with {expected}; build it with the "
            "checkpoint's settings"
        )
    return max(layouts.pop())


def load_deblurgan_2018(
    generator: ResnetGenerator, source: str | Path | Mapping[str, torch.Tensor]
) -> ResnetGenerator:
    """Load official DeblurGAN 2018 weights (``latest_net_G.pth``) into `generator`.

    `source` is a file path or a state dict, in the 2018 ``model.N`` layout (with or
    without the ``module.`` prefix of DataParallel checkpoints) or already in this
    suite's layout (``head.conv.weight``, ``blocks.0.body.conv1.weight``, ...), which
    must match the generator key for key.

    For the 2018 layout, InstanceNorm running buffers are dropped (PyTorch 0.3, which
    wrote the official files, stored them but normalised with per-image statistics, as
    our affine-free InstanceNorm does), and the generator must be the DeblurGAN 2018
    configuration (instance norm, deconv upsampling, ``residual_clamp`` output, conv
    bias) with the ngf, block count and downsampling steps inferred from the file.
    Returns `generator` with the weights loaded; raises `CheckpointError` (a ValueError)
    naming the file and the missing, unexpected or mis-shaped keys when they do not fit.
    """
    if not isinstance(generator, ResnetGenerator):
        raise CheckpointError(f"DeblurGAN weights need a ResnetGenerator, got {type(generator)}")
    state, origin = _read_state_dict(source)
    if state and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}

    if any(k.startswith("model.") for k in state):
        state = {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _NORM_BUFFERS}
        block_conv2 = _check_config(generator, state, origin)
        names = _deblurgan_2018_names(generator.n_downsampling, generator.n_blocks, block_conv2)
        renamed = {}
        for key, value in state.items():
            module, _, param = key.rpartition(".")
            renamed[f"{names.get(module, module)}.{param}"] = value
        state = renamed

    own = generator.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        raise CheckpointError(
            f"{origin} does not match the ResnetGenerator layout:\n"
            f"  missing keys: {missing or 'none'}\n"
            f"  unexpected keys: {unexpected or 'none'}\n"
            f"  shape mismatches: {mismatched or 'none'}"
        )
    generator.load_state_dict(state)
    return generator
