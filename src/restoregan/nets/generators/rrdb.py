"""ESRGAN generator: Residual-in-Residual Dense Blocks (Wang et al. 2018).

Module names follow the BasicSR layout (`conv_first`, `body.{i}.rdb{k}.conv{j}`,
`conv_body`, `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`) so that the most common
official checkpoints load without renaming; `restoregan.nets.weights.esrgan` converts
the two older ESRGAN namings (through `restoregan.nets.load_weights`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restoregan.nets.contract import Generator

# Residual scaling of the dense blocks and of the RRDB. Without it a 23-block trunk of
# unnormalised convs is hard to train: each block adds only a small correction.
RESIDUAL_SCALE = 0.2

# The upsampler is always x4 (two nearest x2 stages); lower scales fold the input into
# channels first, so every scale shares one architecture and one trunk resolution.
_UNSHUFFLE = {4: 1, 2: 2, 1: 4}


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs; each sees the block input and every earlier conv's output.

    `(B, nf, H, W) -> (B, nf, H, W)`.
    """

    def __init__(self, *, nf: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, growth, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + growth, growth, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * growth, growth, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * growth, growth, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * growth, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        # Kaiming init scaled by 0.1 (ESRGAN): the block starts close to the identity
        # mapping, which keeps the deep residual trunk stable early in training.
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5):
            nn.init.kaiming_normal_(conv.weight)
            with torch.no_grad():
                conv.weight.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.lrelu(self.conv1(x))  # (B, g, H, W)
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))  # (B, g, H, W)
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))  # (B, nf, H, W), no activation
        return x5 * RESIDUAL_SCALE + x


class RRDB(nn.Module):
    """Residual-in-residual: three dense blocks inside one more scaled skip.

    `(B, nf, H, W) -> (B, nf, H, W)`.
    """

    def __init__(self, *, nf: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(nf=nf, growth=growth)
        self.rdb2 = ResidualDenseBlock(nf=nf, growth=growth)
        self.rdb3 = ResidualDenseBlock(nf=nf, growth=growth)

    def forward(self, x: Tensor) -> Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * RESIDUAL_SCALE + x


class RRDBNet(Generator):
    """ESRGAN generator: `(B, in_channels, h, w)` in [0, 1] -> `(B, out_channels, s*h, s*w)`.

    Args:
        in_channels: image channels in.
        out_channels: image channels out.
        nf: trunk width (64 in ESRGAN).
        n_blocks: number of RRDBs in the trunk (23 in ESRGAN; 16,697,987 parameters).
        growth: channels each dense-block conv adds (32 in ESRGAN).
        scale: 4, 2 or 1. For 2 and 1 the input is pixel-unshuffled by 2 or 4 first (as
            BasicSR's x2/x1 models do), so the first conv takes `in_channels * 4` or
            `* 16` channels and input sides must be multiples of `size_multiple`.

    There is no normalisation layer anywhere: ESRGAN drops BatchNorm because it causes
    artefacts when train and test statistics differ. No output activation either; the
    output is nominally in [0, 1] and the caller clamps when it writes images.
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        nf: int = 64,
        n_blocks: int = 23,
        growth: int = 32,
        scale: int = 4,
    ) -> None:
        if scale not in _UNSHUFFLE:
            raise ValueError(f"RRDBNet supports scale 4, 2 or 1; got scale={scale}")
        super().__init__(value_range=(0.0, 1.0), scale=scale, size_multiple=_UNSHUFFLE[scale])
        first_in = in_channels * self.size_multiple**2

        self.conv_first = nn.Conv2d(first_in, nf, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(nf=nf, growth=growth) for _ in range(n_blocks)))
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(
                f"RRDBNet x{self.scale} needs input sides that are multiples of {m}; "
                f"got {h}x{w}. Pad or crop the input first."
            )
        if m > 1:
            # Trade resolution for channels so the shared x4 upsampler lands on x`scale`.
            x = F.pixel_unshuffle(x, m)  # (B, C*m*m, h/m, w/m)
        feat = self.conv_first(x)  # (B, nf, h/m, w/m)
        # Long skip: the trunk learns a residual over the shallow features.
        feat = feat + self.conv_body(self.body(feat))
        # Nearest upsampling + conv instead of transposed convs avoids checkerboard artefacts.
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))  # (B, out, s*h, s*w)
