"""DeblurGAN 2018 weights: the generator (``latest_net_G.pth``) and its NLayerDiscriminator.

Both 2018 networks are one ``nn.Sequential`` called ``model``, so their keys are
``model.<index>.<param>``. PyTorch 0.3, which wrote the official files, stored running
statistics for InstanceNorm although it normalised every image with its own statistics
(as our affine-free InstanceNorm does); those buffers are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from restoregan.nets.discriminators.patchgan import PatchGANDiscriminator
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.weights.core import CheckpointError, Converted, Converter, StateDict

_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
_BLOCK_KEY = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.weight$")
_LAYER_KEY = re.compile(
    r"^model\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$"
)


def _without_norm_buffers(state: StateDict) -> StateDict:
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _NORM_BUFFERS}


# ---- generator ------------------------------------------------------------------------


def _generator_names(n_downsampling: int, n_blocks: int, block_conv2: int) -> dict[str, str]:
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


def _check_generator(generator: ResnetGenerator, state: StateDict, origin: str) -> int:
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


def _is_generator(state: Mapping[str, Any]) -> bool:
    return "model.1.weight" in state and any(".conv_block." in k for k in state)


def _convert_generator(generator: ResnetGenerator, state: StateDict, origin: str) -> Converted:
    """The 2018 ``model.N`` layout into `generator`, which must be the DeblurGAN 2018
    configuration (instance norm, deconv upsampling, ``residual_clamp`` output, conv
    bias) with the ngf, block count and downsampling steps the file implies."""
    state = _without_norm_buffers(state)
    block_conv2 = _check_generator(generator, state, origin)
    names = _generator_names(generator.n_downsampling, generator.n_blocks, block_conv2)
    renamed = {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        renamed[f"{names.get(module, module)}.{param}"] = value
    return Converted(renamed, what="the ResnetGenerator layout")


GENERATOR = Converter(
    name="deblurgan2018",
    title="DeblurGAN 2018 generator (latest_net_G.pth, model.N.conv_block keys)",
    target=ResnetGenerator,
    config="generator=resnet",
    matches=_is_generator,
    convert=_convert_generator,
)


# ---- discriminator ---------------------------------------------------------------------


def _is_discriminator(state: Mapping[str, Any]) -> bool:
    first = state.get("model.0.weight")
    return (
        isinstance(first, Tensor)
        and first.ndim == 4
        and all(_LAYER_KEY.match(k) for k in state)  # a flat Sequential, no sub-blocks
    )


def _convert_discriminator(net: PatchGANDiscriminator, state: StateDict, origin: str) -> Converted:
    """The NLayerDiscriminator layout into `net` (it is also `PatchGANDiscriminator`'s own).

    The 2018 ``model`` is [Conv s2, LeakyReLU], (n_layers - 1) x [Conv s2, Norm,
    LeakyReLU], [Conv s1, Norm, LeakyReLU], Conv -> 1: the same indices as
    `PatchGANDiscriminator.model`, so no key is renamed. Width, depth, kernel and input
    channels are inferred from the file and must equal the network's; the padding is not
    stored (DeblurGAN used ceil((4 - 1) / 2) = 2, conf/discriminator/patchgan.yaml).
    A BatchNorm file from before PyTorch 0.4 lacks ``num_batches_tracked``, which only
    counts updates; it is set to 0.
    """
    convs = sorted(
        int(m[1])
        for k, v in state.items()
        if (m := _LAYER_KEY.match(k)) and m[2] == "weight" and v.ndim == 4
    )
    norms = {
        int(_LAYER_KEY.match(k)[1])
        for k, v in state.items()
        if v.ndim == 1 and k.endswith(".weight")
    }
    first = state[f"model.{convs[0]}.weight"]
    found = {
        "in_channels": first.shape[1],
        "ndf": first.shape[0],
        "n_layers": len(convs) - 2,
        "kernel_size": first.shape[-1],
        "norm": "batch" if norms else "instance or none",
    }
    built = {k: getattr(net, k) for k in found}
    fits_norm = net.norm == "batch" if norms else net.norm in ("instance", "none")
    if {k: v for k, v in found.items() if k != "norm"} != {
        k: v for k, v in built.items() if k != "norm"
    } or not fits_norm:
        raise CheckpointError(
            f"{origin} holds a PatchGAN discriminator with {found} (inferred from its keys "
            f"and shapes), but the PatchGANDiscriminator was built with {built}; build it with the "
            "checkpoint's settings (DeblurGAN 2018: conf/discriminator/patchgan.yaml)"
        )
    if net.norm == "instance":
        state = _without_norm_buffers(state)
    own = net.state_dict()
    for key, value in own.items():
        if key.endswith(".num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    return Converted(state, what="the PatchGANDiscriminator layout")


DISCRIMINATOR = Converter(
    name="patchgan",
    title="DeblurGAN 2018 NLayerDiscriminator / PatchGAN (model.N keys)",
    target=PatchGANDiscriminator,
    config="discriminator=patchgan",
    matches=_is_discriminator,
    convert=_convert_discriminator,
)
