"""ESRGAN's VGG-style discriminator ("discriminator_vgg_128", Wang et al. 2018)."""

from __future__ import annotations

from torch import Tensor, nn

from restoregan.nets.contract import Discriminator

# Channels of the five [3x3 stride-1, 4x4 stride-2] conv pairs.
_WIDTHS = (1, 2, 4, 8, 8)
_DOWNSAMPLE = 2 ** len(_WIDTHS)


class VGGStyleDiscriminator(Discriminator):
    """`(B, in_channels, S, S)` in the generator's value_range -> raw scores `(B, 1)`.

    Five pairs [3x3 conv stride 1, 4x4 conv stride 2] widen 64 -> 128 -> 256 -> 512 -> 512
    while halving the side five times, then a dense head 512*(S/32)^2 -> 100 -> 1. The
    dense head fixes the input side: `input_size` S must be the HR training crop (128 in
    ESRGAN, giving the 512*4*4 linear input), a multiple of 32.

    BatchNorm follows every conv but the first (its input is the raw image); convs that
    feed BatchNorm carry no bias because BatchNorm's shift makes it redundant.
    """

    def __init__(self, *, in_channels: int = 3, nf: int = 64, input_size: int = 128) -> None:
        if input_size <= 0 or input_size % _DOWNSAMPLE:
            raise ValueError(
                f"VGGStyleDiscriminator needs input_size to be a positive multiple of {_DOWNSAMPLE} "
                f"(five stride-2 convs); got {input_size}. Set data.crop_size accordingly."
            )
        super().__init__(input_size=input_size)

        layers: list[nn.Module] = []
        prev = in_channels
        for i, mult in enumerate(_WIDTHS):
            width = nf * mult
            # 3x3 stride 1: mixes features at this resolution.
            if i == 0:
                layers += [nn.Conv2d(prev, width, 3, 1, 1, bias=True)]
            else:
                layers += [nn.Conv2d(prev, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width)]
            layers += [nn.LeakyReLU(0.2, inplace=True)]
            # 4x4 stride 2, padding 1: halves the side with each window centred on the 2x2
            # block it replaces (a 3x3 stride-2 conv would shift the grid by half a pixel).
            layers += [
                nn.Conv2d(width, width, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            prev = width
        self.features = nn.Sequential(*layers)

        side = input_size // _DOWNSAMPLE
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(prev * side * side, 100),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(100, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        size = self.input_size
        if tuple(x.shape[-2:]) != (size, size):
            raise ValueError(
                f"VGGStyleDiscriminator was built for {size}x{size} inputs (input_size={size}) but "
                f"got {x.shape[-2]}x{x.shape[-1]}; its dense head fixes the size. Crop the "
                f"images to {size}x{size} or build the discriminator with the matching input_size."
            )
        return self.head(self.features(x))  # (B, 1)
