"""The Dual-GAN chain of seed 000: a deblurring generator, then an SR generator."""

from __future__ import annotations

import math

from torch import Tensor, nn

from restoregan.inference import from_range, input_baseline, to_range, value_range


class DualGANPipeline(nn.Module):
    """Deblur, then super-resolve: (B, 3, h, w) in [0, 1] -> (B, 3, s*h, s*w) in [0, 1].

    Each stage keeps its own value range (DeblurGAN works in [-1, 1], ESRGAN in [0, 1]);
    the deblurred image is mapped back to [0, 1], clamped (it is an image, and the SR
    network was trained on images), then mapped into the SR range. The pipeline itself
    works in [0, 1] and exposes the generator attributes, so `restoregan.inference.restore`
    runs it like any generator.
    """

    value_range = (0.0, 1.0)

    def __init__(self, *, deblur: nn.Module, sr: nn.Module) -> None:
        super().__init__()
        self.deblur = deblur
        self.sr = sr
        self.scale = int(getattr(sr, "scale", 1)) * int(getattr(deblur, "scale", 1))
        m_d, m_s = int(getattr(deblur, "size_multiple", 1)), int(getattr(sr, "size_multiple", 1))
        self.size_multiple = m_d * m_s // math.gcd(m_d, m_s)

    def forward(self, x01: Tensor) -> Tensor:
        rd, rs = value_range(self.deblur), value_range(self.sr)
        sharp = from_range(self.deblur(to_range(x01, rd)), rd).clamp(0.0, 1.0)
        return from_range(self.sr(to_range(sharp, rs)), rs)

    def deblur_only(self, x01: Tensor) -> Tensor:
        """The first stage alone, in [0, 1] (for stage-wise comparisons)."""
        rd = value_range(self.deblur)
        return from_range(self.deblur(to_range(x01, rd)), rd).clamp(0.0, 1.0)


class NoDeblur(nn.Module):
    """Stand-in for the deblurring stage that passes images through: "SR alone" in a chain."""

    value_range = (0.0, 1.0)
    scale = 1
    size_multiple = 1

    def forward(self, x01: Tensor) -> Tensor:
        return x01


class BicubicUpsampler(nn.Module):
    """Stand-in for the SR stage: bicubic x``scale`` (B, 3, h, w) -> (B, 3, s*h, s*w) in [0, 1].

    The same interpolation that `restoregan.evaluation` scores as the input baseline
    (`psnr_input`), so "bicubic alone" in a comparison table equals that baseline.
    """

    value_range = (0.0, 1.0)
    size_multiple = 1

    def __init__(self, *, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x01: Tensor) -> Tensor:
        h, w = x01.shape[-2:]
        return input_baseline(x01, (h * self.scale, w * self.scale))
