"""The ResNet/PatchGAN paper's conv / transposed-conv generator ("GAN 3.15M", 3,102,467 parameters)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from restoregan.nets.contract import Generator
from restoregan.nets.layers import InitScheme, init_weights


class ConvDeconvGenerator(Generator):
    """Full-resolution conv / transposed-conv stack of the ResNet/PatchGAN paper's layer table.

    Maps ``(B, 3, H, W)`` in [0, 1] to ``(B, 3, H, W)`` in [0, 1] (the ResNet/PatchGAN paper normalises
    images to [0, 1]); every layer is stride 1 with "same" padding, so any H, W works.

    Defaults reproduce the table at 224x224::

        3x3 conv 3->64, ReLU; 3x3 conv 64->128, ReLU; 3x3 conv 128->256, BatchNorm, ReLU
        3x3 transposed conv 256->512, 512->256, 256->128, 128->64 (ReLU), 64->3, sigmoid

    3,101,955 trainable parameters + 512 BatchNorm moving statistics = 3,102,467 with
    Keras counting. The table gives no activations; the text says hidden layers use ReLU
    and the output "Tanh or Sigmoid": sigmoid matches its [0, 1] data.
    """

    def __init__(
        self,
        *,
        encoder_channels: Sequence[int] = (64, 128, 256),
        decoder_channels: Sequence[int] = (512, 256, 128, 64),
        init: InitScheme = "glorot",
    ) -> None:
        super().__init__(value_range=(0.0, 1.0))

        layers: list[nn.Module] = []
        c_in = 3
        for i, c_out in enumerate(encoder_channels):
            layers.append(nn.Conv2d(c_in, c_out, 3, padding=1))
            if i == len(encoder_channels) - 1:
                layers.append(nn.BatchNorm2d(c_out))  # the table's single batch_normalization
            layers.append(nn.ReLU(inplace=True))
            c_in = c_out
        for c_out in decoder_channels:
            layers += [nn.ConvTranspose2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = c_out
        layers += [nn.ConvTranspose2d(c_in, 3, 3, padding=1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        init_weights(self, scheme=init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, 3, H, W) in (0, 1)
