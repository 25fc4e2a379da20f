"""ResNet encoder / residual-block / decoder generator of DeblurGAN and its Keras port."""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch
from torch import nn

from restoregan.nets.contract import Generator
from restoregan.nets.layers import (
    InitScheme,
    NormKind,
    ResidualBlock,
    SamePad2d,
    check_norm,
    default_conv_bias,
    init_weights,
    make_norm,
)

UpsampleKind = Literal["deconv", "resize_conv"]
OutputKind = Literal["residual_clamp", "keras_residual", "tanh"]
DownPadding = Literal["symmetric", "same"]


class ResnetGenerator(Generator):
    """ResNet generator: 7x7 conv, strided convs down, residual blocks, upsampling, 7x7 conv.

    Maps ``(B, 3, H, W)`` in [-1, 1] to ``(B, 3, H, W)`` in [-1, 1]; H and W must be
    multiples of ``size_multiple = 2 ** n_downsampling``.

    The defaults are DeblurGAN 2018 (``resnet_9blocks``, 11,378,179 parameters): instance
    norm, conv bias, Dropout(0.5) in the blocks, ConvTranspose2d upsampling, and the
    ``learn_residual`` output ``clamp(x + tanh(G(x)), -1, 1)``.

    The DeblurGAN Keras port is ``norm="batch", conv_bias=True, upsample="resize_conv",
    down_padding="same", output="keras_residual"`` (11,399,171 with Keras counting).

    Args:
        ngf: channels after the first conv; doubled by each downsampling step.
        n_blocks: residual blocks at the lowest resolution.
        n_downsampling: stride-2 convs (and as many upsampling steps).
        norm: ``"instance"`` (affine-free), ``"batch"`` or ``"none"``; after every conv
            but the last.
        use_dropout: Dropout(0.5) between the two convs of each residual block.
        upsample: ``"deconv"`` = ConvTranspose2d(k3, s2, p1, output_padding 1);
            ``"resize_conv"`` = nearest x2 then a 3x3 conv (Keras UpSampling2D + Conv2D).
        down_padding: ``"symmetric"`` zero padding 1 (PyTorch) or ``"same"`` (Keras/TF:
            the extra pixel goes bottom/right) for the stride-2 convs.
        output: ``"residual_clamp"`` = clamp(x + tanh(G(x)), -1, 1) (DeblurGAN 2018);
            ``"keras_residual"`` = (tanh(G(x)) + x) / 2 (Keras port); ``"tanh"`` = tanh(G(x)).
        conv_bias: bias in the normalised convs; None follows DeblurGAN 2018 (bias unless
            batch norm). Keras always has one. The last conv always has a bias.
        init: ``"normal"`` N(0, 0.02) as DeblurGAN, or ``"glorot"`` as Keras.
        zero_init_last: start the last conv at zero, so a residual output begins as the
            identity (the restored image equals the input at step 0) instead of input plus
            the noise of a random network. Off by default (DeblurGAN's init); it matters
            for short runs, where a random start costs more than the run can learn back.
    """

    def __init__(
        self,
        *,
        ngf: int = 64,
        n_blocks: int = 9,
        n_downsampling: int = 2,
        norm: NormKind = "instance",
        use_dropout: bool = True,
        upsample: UpsampleKind = "deconv",
        down_padding: DownPadding = "symmetric",
        output: OutputKind = "residual_clamp",
        conv_bias: bool | None = None,
        init: InitScheme = "normal",
        zero_init_last: bool = False,
    ) -> None:
        super().__init__(value_range=(-1.0, 1.0), size_multiple=2**n_downsampling)
        check_norm(norm)
        for name, value, allowed in (
            ("upsample", upsample, ("deconv", "resize_conv")),
            ("down_padding", down_padding, ("symmetric", "same")),
            ("output", output, ("residual_clamp", "keras_residual", "tanh")),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        bias = default_conv_bias(norm) if conv_bias is None else conv_bias

        self.ngf, self.n_blocks, self.n_downsampling = ngf, n_blocks, n_downsampling
        self.norm, self.use_dropout, self.conv_bias = norm, use_dropout, bias
        self.upsample, self.down_padding, self.output = upsample, down_padding, output

        self.head = nn.Sequential(
            OrderedDict(
                pad=nn.ReflectionPad2d(3),
                conv=nn.Conv2d(3, ngf, 7, bias=bias),
                norm=make_norm(norm, ngf),
                act=nn.ReLU(inplace=True),
            )
        )
        self.down = nn.Sequential(
            *(
                _down_step(ngf * 2**i, ngf * 2 ** (i + 1), norm, bias, down_padding)
                for i in range(n_downsampling)
            )
        )
        width = ngf * 2**n_downsampling
        self.blocks = nn.Sequential(
            *(
                ResidualBlock(channels=width, norm=norm, use_dropout=use_dropout, bias=bias)
                for _ in range(n_blocks)
            )
        )
        self.up = nn.Sequential(
            *(
                _up_step(width // 2**i, width // 2 ** (i + 1), norm, bias, upsample)
                for i in range(n_downsampling)
            )
        )
        self.tail = nn.Sequential(OrderedDict(pad=nn.ReflectionPad2d(3), conv=nn.Conv2d(ngf, 3, 7)))
        init_weights(self, scheme=init)
        if zero_init_last:
            nn.init.zeros_(self.tail.conv.weight)
            nn.init.zeros_(self.tail.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(
                f"ResnetGenerator needs height and width that are multiples of "
                f"{self.size_multiple} (2 ** n_downsampling), got {h}x{w}; crop or pad the input"
            )
        y = self.tail(self.up(self.blocks(self.down(self.head(x)))))  # (B, 3, H, W)
        y = torch.tanh(y)
        if self.output == "residual_clamp":
            return torch.clamp(x + y, -1.0, 1.0)
        if self.output == "keras_residual":
            return (y + x) / 2
        return y


def _down_step(c_in: int, c_out: int, norm: str, bias: bool, padding: str) -> nn.Sequential:
    """3x3 stride-2 conv, norm, ReLU: (B, c_in, H, W) -> (B, c_out, H/2, W/2)."""
    if padding == "same":
        layers = OrderedDict(pad=SamePad2d(3, 2), conv=nn.Conv2d(c_in, c_out, 3, 2, bias=bias))
    else:
        layers = OrderedDict(conv=nn.Conv2d(c_in, c_out, 3, 2, padding=1, bias=bias))
    layers.update(norm=make_norm(norm, c_out), act=nn.ReLU(inplace=True))
    return nn.Sequential(layers)


def _up_step(c_in: int, c_out: int, norm: str, bias: bool, upsample: str) -> nn.Sequential:
    """x2 upsampling, norm, ReLU: (B, c_in, H, W) -> (B, c_out, 2H, 2W)."""
    if upsample == "deconv":
        layers = OrderedDict(
            conv=nn.ConvTranspose2d(c_in, c_out, 3, 2, padding=1, output_padding=1, bias=bias)
        )
    else:
        # Keras UpSampling2D (nearest) then Conv2D(padding="same"), which is symmetric for 3x3.
        layers = OrderedDict(
            resize=nn.Upsample(scale_factor=2, mode="nearest"),
            conv=nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias),
        )
    layers.update(norm=make_norm(norm, c_out), act=nn.ReLU(inplace=True))
    return nn.Sequential(layers)
