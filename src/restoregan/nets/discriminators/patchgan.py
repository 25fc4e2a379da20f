"""PatchGAN discriminator of pix2pix / DeblurGAN 2018 (70x70 patches at n_layers=3)."""

from __future__ import annotations

import torch
from torch import nn

from restoregan.nets.contract import Discriminator
from restoregan.nets.layers import (
    DiscriminatorNormKind,
    InitScheme,
    check_norm,
    default_conv_bias,
    init_weights,
    make_norm,
    maybe_spectral,
)


class PatchGANDiscriminator(Discriminator):
    """Fully convolutional discriminator that scores overlapping patches.

    Takes ``(B, in_channels, H, W)`` images in the generator's value range and returns raw
    scores ``(B, 1, h, w)``, one per patch (no sigmoid: WGAN-GP and logits-based losses want
    raw scores). Any input size works (``input_size = None``).

    Layers (DeblurGAN 2018 ``n_layers_D=3``, 2,764,737 parameters at the defaults)::

        conv ndf, stride 2, LeakyReLU(0.2)                      (no norm on the first layer)
        conv ndf * min(2**n, 8), stride 2, norm, LeakyReLU(0.2)  for n = 1 .. n_layers - 1
        conv ndf * min(2**n_layers, 8), stride 1, norm, LeakyReLU(0.2)
        conv 1, stride 1

    Args:
        padding: zero padding of every conv; DeblurGAN uses ceil((k - 1) / 2) = 2, pix2pix 1.
            It changes the output size, not the 70x70 receptive field.
        norm: ``"instance"`` (DeblurGAN), ``"batch"`` (pix2pix), ``"none"``, or
            ``"spectral"`` (spectral norm on every conv, no norm layer).
        spectral_norm: spectral normalisation on every conv *in addition to* ``norm``
            (SR-GN's option of a spectrally normalised DeblurGAN critic, keeping its
            instance norm). Same parameter count; the weights are stored as
            ``weight_orig`` with the power-iteration vectors beside them.
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        ndf: int = 64,
        n_layers: int = 3,
        padding: int = 2,
        norm: DiscriminatorNormKind = "instance",
        kernel_size: int = 4,
        init: InitScheme = "normal",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__(input_size=None)
        check_norm(norm, allow_spectral=True)
        bias = default_conv_bias(norm)
        # Stored so a weights file can be checked against the network (nets/weights).
        self.in_channels, self.ndf, self.n_layers = in_channels, ndf, n_layers
        self.kernel_size, self.padding, self.norm = kernel_size, padding, norm
        self.spectral_norm = spectral_norm
        conv_norm = "spectral" if spectral_norm else norm  # what maybe_spectral decides on

        def conv(c_in: int, c_out: int, stride: int, bias: bool = True) -> nn.Module:
            layer = nn.Conv2d(c_in, c_out, kernel_size, stride, padding, bias=bias)
            return maybe_spectral(layer, conv_norm)

        layers: list[nn.Module] = [conv(in_channels, ndf, 2), nn.LeakyReLU(0.2, inplace=True)]
        c_in = ndf
        for n in range(1, n_layers + 1):
            c_out = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                conv(c_in, c_out, stride, bias),
                make_norm(norm, c_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c_in = c_out
        layers.append(conv(c_in, 1, 1))
        self.model = nn.Sequential(*layers)
        init_weights(self, scheme=init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # (B, 1, h, w) raw patch scores

    @property
    def receptive_field(self) -> int:
        """Side in pixels of the input patch that one output score sees (70 at n_layers=3)."""
        return receptive_field(self.model)


def receptive_field(module: nn.Module) -> int:
    """Receptive field of a plain chain of convolutions, in input pixels.

    Walks the Conv2d layers in registration order, so it is only valid for modules that
    apply them one after the other (no branches). Each conv widens the field by
    ``(kernel - 1) * jump``, where ``jump`` is the product of the strides before it.
    """
    field, jump = 1, 1
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            k, s = m.kernel_size[0], m.stride[0]
            field += (k - 1) * jump
            jump *= s
    return field
