"""Building blocks shared by the generators and discriminators.

- `make_norm` / `default_conv_bias`: the norm factory and the 2018 DeblurGAN bias rule.
- `SamePad2d`: TensorFlow/Keras ``padding="same"`` for any kernel and stride.
- `pad_to_multiple`: the one way an image is padded to a network's size multiple.
- `ResidualBlock`: the DeblurGAN / pix2pix residual block.
- `init_weights`: N(0, 0.02) (DeblurGAN, pix2pix) or Keras' Glorot-uniform defaults.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

NormKind = Literal["instance", "batch", "none"]
DiscriminatorNormKind = Literal["instance", "batch", "none", "spectral"]
InitScheme = Literal["normal", "glorot"]

_NORMS = ("instance", "batch", "none", "spectral")


def check_norm(norm: str, *, allow_spectral: bool = False) -> None:
    """Raise a ValueError naming the allowed choices if `norm` is not one of them."""
    allowed = _NORMS if allow_spectral else _NORMS[:3]
    if norm not in allowed:
        raise ValueError(f"norm must be one of {allowed}, got {norm!r}")


def make_norm(norm: str, channels: int) -> nn.Module:
    """Normalisation layer for `channels` feature maps.

    ``"instance"`` is InstanceNorm2d without affine parameters or running statistics, as in
    DeblurGAN 2018 (it normalises every image with its own statistics, also at test time).
    ``"none"`` and ``"spectral"`` give an Identity: spectral normalisation acts on the conv
    weights (see `maybe_spectral`), not on the activations.
    """
    check_norm(norm, allow_spectral=True)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def default_conv_bias(norm: str) -> bool:
    """DeblurGAN 2018 rule: a conv followed by BatchNorm has no bias (BN's beta replaces it)."""
    return norm != "batch"


def maybe_spectral(module: nn.Module, norm: str) -> nn.Module:
    """Wrap a conv/linear layer in spectral normalisation when ``norm == "spectral"``."""
    return spectral_norm(module) if norm == "spectral" else module


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding of TensorFlow's ``"same"``: output = ceil(size / stride).

    When the total is odd TensorFlow puts the extra pixel after (bottom/right), unlike a
    symmetric PyTorch ``padding=k // 2``; for a 3x3 stride-2 conv on an even size that is
    (0, 1) instead of (1, 1), which shifts the sampling grid by one pixel.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad ``(B, C, H, W)`` at the bottom/right up to multiples of `multiple`; the caller
    crops the result back to ``(H, W)`` (times its scale).

    Reflection, not zeros, keeps the border statistics natural for a conv net; it needs
    the pad to be smaller than the side, so tiny images replicate their edge instead.
    Used by `restoregan.restore.restore` for generators with ``size_multiple > 1`` and
    by networks that pad themselves (the U-Net).
    """
    if multiple == 1:
        return x
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    # Padded even when both amounts are 0: a branch on the size would be frozen into a
    # traced graph (TorchScript export), which must pad at every size.
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


class SamePad2d(nn.Module):
    """Zero padding that makes the following conv behave like Keras ``padding="same"``.

    The amount depends on the input size, so it is computed in `forward`.
    """

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = same_padding(x.shape[-2], self.kernel_size, self.stride)
        left, right = same_padding(x.shape[-1], self.kernel_size, self.stride)
        return F.pad(x, (left, right, top, bottom))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class ResidualBlock(nn.Module):
    """DeblurGAN 2018 residual block: x + [pad, conv, norm, ReLU, Dropout?, pad, conv, norm](x).

    ``(B, C, H, W) -> (B, C, H, W)``. The identity is added exactly once, after the second
    norm: the refactor that wrote ``x + conv_block(x)`` differently broke released weights.
    Sub-module names (``body.conv1``, ``body.conv2``) are what the checkpoint loader maps to.
    """

    def __init__(
        self,
        *,
        channels: int,
        norm: NormKind = "instance",
        use_dropout: bool = True,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        bias = default_conv_bias(norm) if bias is None else bias
        layers: list[tuple[str, nn.Module]] = [
            ("pad1", nn.ReflectionPad2d(1)),
            ("conv1", nn.Conv2d(channels, channels, 3, bias=bias)),
            ("norm1", make_norm(norm, channels)),
            ("act", nn.ReLU(inplace=True)),
        ]
        if use_dropout:
            layers.append(("dropout", nn.Dropout(0.5)))
        layers += [
            ("pad2", nn.ReflectionPad2d(1)),
            ("conv2", nn.Conv2d(channels, channels, 3, bias=bias)),
            ("norm2", make_norm(norm, channels)),
        ]
        self.body = nn.Sequential(OrderedDict(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _weight_tensor(module: nn.Module) -> torch.Tensor:
    """The trainable weight, also under a parametrisation such as spectral norm."""
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


@torch.no_grad()
def init_weights(module: nn.Module, *, scheme: InitScheme = "normal", std: float = 0.02) -> None:
    """Initialise every conv, transposed conv, linear and norm layer under `module` in place.

    ``"normal"`` (DeblurGAN / pix2pix): weights N(0, std), norm scales N(1, std), biases 0.
    ``"glorot"`` (Keras defaults): Glorot-uniform weights, norm scale 1, biases 0.
    """
    if scheme not in ("normal", "glorot"):
        raise ValueError(f"init scheme must be 'normal' or 'glorot', got {scheme!r}")
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            weight = _weight_tensor(m)
            if scheme == "normal":
                nn.init.normal_(weight, 0.0, std)
            else:
                nn.init.xavier_uniform_(weight)
        elif isinstance(m, nn.BatchNorm2d | nn.SyncBatchNorm | nn.InstanceNorm2d) and m.affine:
            if scheme == "normal":
                nn.init.normal_(m.weight, 1.0, std)
            else:
                nn.init.ones_(m.weight)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)
