"""U-Net generator with residual blocks at every level (the U-Net/PatchGAN paper)."""

from __future__ import annotations

import torch
from torch import nn

from restoregan.nets.contract import Generator
from restoregan.nets.layers import (
    InitScheme,
    NormKind,
    ResidualBlock,
    check_norm,
    default_conv_bias,
    init_weights,
    make_norm,
    pad_to_multiple,
)


class UNetResGenerator(Generator):
    """U-Net encoder-decoder with residual blocks and concatenation skips (the U-Net/PatchGAN paper).

    Maps ``(B, 3, H, W)`` in [-1, 1] to ``(B, 3, H, W)`` in [-1, 1] for any H and W: the
    input is reflection-padded (bottom/right) to a multiple of ``2 ** depth`` and the output
    cropped back, so ``size_multiple = 1``.

    Level ``i`` works at ``base_channels * 2 ** i`` channels and resolution ``H / 2 ** i``::

        stem     3x3 conv 3 -> C, norm, ReLU
        encoder  per level: blocks_per_level residual blocks (output kept as skip),
                 3x3 stride-2 conv doubling the channels, norm, ReLU
        bottleneck  blocks_per_level residual blocks at C * 2 ** depth
        decoder  per level: 2x2 stride-2 ConvTranspose2d halving the channels, norm, ReLU,
                 concat with the skip, 1x1 conv back to the level width, residual blocks
        head     3x3 conv C -> 3, tanh; with ``learn_residual``: clamp(x + tanh(.), -1, 1)

    The U-Net/PatchGAN paper gives no widths, depth or block counts; the defaults (32 channels, 3 levels,
    2 blocks per level, instance norm as DeblurGAN: 4,515,171 parameters) are our choice,
    a network lighter than DeblurGAN's 11.4M whose 1/8-resolution bottleneck still sees
    GoPro-sized blur. With instance norm the padded input must exceed ``2 ** depth`` on
    one side (the bottleneck needs more than one pixel to normalise).
    """

    def __init__(
        self,
        *,
        base_channels: int = 32,
        depth: int = 3,
        blocks_per_level: int = 2,
        norm: NormKind = "instance",
        learn_residual: bool = True,
        init: InitScheme = "normal",
    ) -> None:
        # size_multiple 1: forward pads to 2 ** depth itself and crops back.
        super().__init__(value_range=(-1.0, 1.0))
        check_norm(norm)
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        bias = default_conv_bias(norm)
        widths = [base_channels * 2**i for i in range(depth + 1)]

        self.depth = depth
        self.learn_residual = learn_residual

        def blocks(channels: int) -> nn.Sequential:
            return nn.Sequential(
                *(
                    ResidualBlock(channels=channels, norm=norm, use_dropout=False, bias=bias)
                    for _ in range(blocks_per_level)
                )
            )

        def conv_norm_relu(conv: nn.Module, channels: int) -> nn.Sequential:
            return nn.Sequential(conv, make_norm(norm, channels), nn.ReLU(inplace=True))

        self.stem = conv_norm_relu(
            nn.Conv2d(3, widths[0], 3, padding=1, padding_mode="reflect", bias=bias), widths[0]
        )
        self.encoder = nn.ModuleList(blocks(widths[i]) for i in range(depth))
        self.downs = nn.ModuleList(
            conv_norm_relu(nn.Conv2d(widths[i], widths[i + 1], 3, 2, 1, bias=bias), widths[i + 1])
            for i in range(depth)
        )
        self.bottleneck = blocks(widths[depth])
        self.ups = nn.ModuleList(
            conv_norm_relu(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, 2, bias=bias), widths[i])
            for i in range(depth)
        )
        self.fuse = nn.ModuleList(nn.Conv2d(2 * widths[i], widths[i], 1) for i in range(depth))
        self.decoder = nn.ModuleList(blocks(widths[i]) for i in range(depth))
        self.head = nn.Conv2d(widths[0], 3, 3, padding=1, padding_mode="reflect")
        init_weights(self, scheme=init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = pad_to_multiple(x, 2**self.depth)  # (B, 3, H', W'), multiples of 2**depth

        y = self.stem(y)
        skips = []
        for blocks, down in zip(self.encoder, self.downs, strict=True):
            y = blocks(y)
            skips.append(y)
            y = down(y)
        y = self.bottleneck(y)
        for i in reversed(range(self.depth)):
            y = self.ups[i](y)
            y = self.fuse[i](torch.cat([y, skips[i]], dim=1))
            y = self.decoder[i](y)
        y = torch.tanh(self.head(y))[..., :h, :w]  # (B, 3, H, W)
        if self.learn_residual:
            return torch.clamp(x + y, -1.0, 1.0)
        return y
