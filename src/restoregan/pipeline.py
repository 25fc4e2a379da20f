"""The Dual-GAN chain of the Dual-GAN paper: a deblurring generator, then an SR generator."""

from __future__ import annotations

import math

from torch import Tensor

from restoregan.nets.contract import Generator
from restoregan.restore import from_range, input_baseline, to_range


class DualGANPipeline(Generator):
    """Deblur, then super-resolve: (B, 3, h, w) in [0, 1] -> (B, 3, s*h, s*w) in [0, 1].

    Each stage keeps its own value range (DeblurGAN works in [-1, 1], ESRGAN in [0, 1]);
    the deblurred image is mapped back to [0, 1], clamped (it is an image, and the SR
    network was trained on images), then mapped into the SR range. The pipeline itself
    works in [0, 1] and states the generator contract, so `restoregan.restore.restore`
    runs it like any generator.
    """

    def __init__(self, *, deblur: Generator, sr: Generator) -> None:
        super().__init__(
            value_range=(0.0, 1.0),
            scale=deblur.scale * sr.scale,
            # The SR stage sees the deblurred image at the padded input size.
            size_multiple=math.lcm(deblur.size_multiple, sr.size_multiple),
        )
        self.deblur = deblur
        self.sr = sr

    def forward(self, x01: Tensor) -> Tensor:
        rd, rs = self.deblur.value_range, self.sr.value_range
        sharp = from_range(self.deblur(to_range(x01, rd)), rd).clamp(0.0, 1.0)
        return from_range(self.sr(to_range(sharp, rs)), rs)


class NoDeblur(Generator):
    """Stand-in for the deblurring stage that passes images through: "SR alone" in a chain."""

    def __init__(self) -> None:
        super().__init__(value_range=(0.0, 1.0))

    def forward(self, x01: Tensor) -> Tensor:
        return x01


class BicubicUpsampler(Generator):
    """Stand-in for the SR stage: bicubic x``scale`` (B, 3, h, w) -> (B, 3, s*h, s*w) in [0, 1].

    The same interpolation that `restoregan.evaluation` scores as the input baseline
    (`psnr_input`), so "bicubic alone" in a comparison table equals that baseline.
    """

    def __init__(self, *, scale: int) -> None:
        super().__init__(value_range=(0.0, 1.0), scale=scale)

    def forward(self, x01: Tensor) -> Tensor:
        h, w = x01.shape[-2:]
        return input_baseline(x01, (h * self.scale, w * self.scale))
