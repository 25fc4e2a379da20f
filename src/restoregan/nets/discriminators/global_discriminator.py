"""The DeblurGAN Keras port's global discriminator: six 4x4 convs, then dense layers over the whole image."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from restoregan.nets.contract import Discriminator
from restoregan.nets.layers import (
    DiscriminatorNormKind,
    InitScheme,
    SamePad2d,
    check_norm,
    init_weights,
    make_norm,
    maybe_spectral,
)


class GlobalDiscriminator(Discriminator):
    """Discriminator of the DeblurGAN Keras port (its Table 3), one score per image.

    Takes ``(B, 3, input_size, input_size)`` images in the generator's value range and
    returns ``(B, 1)``. The dense layer's width depends on the image size, so the discriminator is
    built for one square size (``input_size``) and any other size raises a ValueError.

    Layers (Keras ``padding="same"``, extra pixel bottom/right)::

        4x4 conv 3->64 s2, LeakyReLU(0.2)
        4x4 conv 64->64 s2, 64->128 s2, 128->256 s2, 256->512 s1, each + norm + LeakyReLU(0.2)
        4x4 conv 512->1 s1
        Flatten, Dense(1024, tanh), Dense(1, output_activation)

    At 256x256: convs 2,830,337 + BatchNorm 3,840 (Keras counting) + dense 264,193
    = 3,098,370 parameters. Keras flattens NHWC and PyTorch NCHW; with the single channel
    of the last conv both orders are the same, so dense weights would carry over.

    Args:
        input_size: side of the square training crop (the flatten has (input_size/16)**2
            features).
        norm: ``"batch"`` (the DeblurGAN Keras port), ``"instance"``, ``"none"`` or ``"spectral"``; after
            the middle four convs (spectral: on every conv and dense layer).
        output_activation: ``"sigmoid"`` as the DeblurGAN Keras port or ``"none"`` for raw scores (WGAN-GP).
    """

    def __init__(
        self,
        *,
        input_size: int,
        ndf: int = 64,
        norm: DiscriminatorNormKind = "batch",
        output_activation: Literal["sigmoid", "none"] = "sigmoid",
        init: InitScheme = "glorot",
    ) -> None:
        check_norm(norm, allow_spectral=True)
        if output_activation not in ("sigmoid", "none"):
            raise ValueError(
                f"output_activation must be 'sigmoid' or 'none', got {output_activation!r}"
            )
        if input_size < 16:
            raise ValueError(
                f"input_size must be at least 16 (four stride-2 convs), got {input_size}"
            )
        super().__init__(input_size=input_size)

        def conv(c_in: int, c_out: int, stride: int) -> nn.Sequential:
            layer = maybe_spectral(nn.Conv2d(c_in, c_out, 4, stride), norm)
            return nn.Sequential(SamePad2d(4, stride), layer)

        widths = [3, ndf, ndf, ndf * 2, ndf * 4, ndf * 8]
        strides = [2, 2, 2, 2, 1]
        layers: list[nn.Module] = []
        for i, stride in enumerate(strides):
            layers.append(conv(widths[i], widths[i + 1], stride))
            if i > 0:  # Table 3: BatchNorm after the middle four convs, not the first
                layers.append(make_norm(norm, widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(conv(widths[-1], 1, 1))
        self.features = nn.Sequential(*layers)

        side = -(-input_size // 16)  # "same" stride-2 convs round up
        self.head = nn.Sequential(
            nn.Flatten(),
            maybe_spectral(nn.Linear(side * side, 1024), norm),
            nn.Tanh(),
            maybe_spectral(nn.Linear(1024, 1), norm),
            nn.Sigmoid() if output_activation == "sigmoid" else nn.Identity(),
        )
        init_weights(self, scheme=init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h != self.input_size or w != self.input_size:
            raise ValueError(
                f"GlobalDiscriminator was built for {self.input_size}x{self.input_size} inputs (its "
                f"dense layer depends on the size) but got {h}x{w}; set input_size to the "
                f"training crop size or crop the images to {self.input_size}x{self.input_size}"
            )
        return self.head(self.features(x))  # (B, 1)
