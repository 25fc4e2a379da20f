"""Plain deep CNN baseline for the ResNet/PatchGAN paper's "CNN 17.1M" row (trained without a discriminator)."""

from __future__ import annotations

import torch
from torch import nn

from restoregan.nets.contract import Generator
from restoregan.nets.layers import InitScheme, init_weights


class CNNBaseline(Generator):
    """DnCNN-style plain CNN with a global residual, sized to the ResNet/PatchGAN paper's 17.1M parameters.

    Maps ``(B, 3, H, W)`` in [0, 1] to ``(B, 3, H, W)`` in [0, 1] (the ResNet/PatchGAN paper's range); all
    convs are 3x3 stride 1 with padding 1, so any H, W works (``size_multiple = 1``)::

        3x3 conv 3 -> width, ReLU
        (depth - 2) x [3x3 conv width -> width (no bias), BatchNorm, ReLU]
        3x3 conv width -> 3
        output = clamp(x + residual, 0, 1)

    The ResNet/PatchGAN paper gives only the parameter count. At the defaults (width 256, depth 31, i.e.
    29 hidden layers, receptive field 63x63) there are 17,133,827 trainable parameters
    (+0.20% of 17.1M), 17,148,675 with Keras counting. Predicting the residual keeps
    such a deep plain stack trainable; the clamp keeps the output in range.
    """

    def __init__(self, *, width: int = 256, depth: int = 31, init: InitScheme = "glorot") -> None:
        super().__init__(value_range=(0.0, 1.0))
        if depth < 2:
            raise ValueError(f"depth counts all conv layers and must be at least 2, got {depth}")

        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [
                nn.Conv2d(width, width, 3, padding=1, bias=False),  # BatchNorm's beta is the bias
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)
        init_weights(self, scheme=init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x + self.body(x), 0.0, 1.0)  # (B, 3, H, W)
