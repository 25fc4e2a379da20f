"""SR-GN: the self-reference generator for partially blurred images (Khmag & Ramlee).

SR-GN restores an image of which only a part is blurred: the clear part is the
"reference" the network can draw on, and it is kept as it is in the output.

What the SR-GN paper specifies:

- the generator builds on DeblurGAN (Kupyn et al. 2018), whose conditional discriminator it also
  uses; DeblurGAN's generator is the ResNet encoder / residual blocks / decoder;
- spectral normalisation on the *generator's* convolutions ("enforcing good conditioning
  of GAN generators", after Odena et al. 2018), where earlier work used it only on the
  discriminator;
- self-attention, so that blurred regions are restored with reference to clear ones;
- the image is split into a clear (reference) part and a blurred part.

Everything else is our choice (the paper gives no layer table, widths or block count):

- the DeblurGAN 2018 ResNet layout and widths: 7x7 conv to ``ngf`` = 64, two stride-2
  convs to 256, 9 residual blocks with Dropout(0.5), two transposed convs, 7x7 conv,
  instance norm, DeblurGAN's ``learn_residual`` output ``clamp(x + tanh(G(x)), -1, 1)``;
- the attention block is SAGAN's (Zhang et al. 2019): 1x1 query/key/value convs, keys
  and values 2x2 max-pooled, output ``x + gamma * o`` with the gate ``gamma`` starting
  at 0, so training starts from a plain ResNet. It sits after residual block
  ``attention_after`` (default ``n_blocks // 2``: 4 blocks before, 5 after), at the
  bottleneck (1/4 resolution). Unlike SAGAN's single head with query/key at C/8 and
  value at C/2, it has ``attention_heads`` = 4 heads of C/8 channels each for query, key
  and value (value width C/2 as in SAGAN): equal head widths let
  ``scaled_dot_product_attention`` run its fused kernels, which never hold the N x N/4
  score matrix (3.3 GB per head and image at 720p, bottleneck 320x180). Scores are scaled by
  1/sqrt(C/8) (SAGAN does not scale);
- the blur-region branch (the paper names the split, not how it is made): a 3x3 conv and
  a 1x1 conv predict mask logits at 1/4 resolution from the features entering the
  attention block, bilinearly upsampled, then refined by a 3x3 conv that also sees the
  full-resolution features of the first conv (sharper mask boundaries);
- the output keeps the clear part: ``out = m * restored + (1 - m) * x`` with ``m`` the
  predicted mask ``sigmoid(logits)``, or the given one with ``use_given_mask=True``;
  where ``m == 0`` the output is the input, bit for bit;
- every conv, transposed conv and 1x1 attention conv carries spectral normalisation
  (``torch.nn.utils.parametrizations.spectral_norm``, one power iteration per training
  forward), applied after DeblurGAN's N(0, 0.02) initialisation.

Default configuration: 11,658,063 parameters: DeblurGAN's 11,378,179, the attention
block 131,713, the mask branch 148,171 (spectral norm's power-iteration vectors are
buffers, not parameters).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from restoregan.nets.contract import Generator
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.layers import NormKind, init_weights


class PooledSelfAttention(nn.Module):
    """SAGAN self-attention with 2x2-pooled keys/values: ``(B, C, h, w) -> (B, C, h, w)``.

    ``out = x + gamma * W_o(attention(W_q x, pool(W_k x), pool(W_v x)))``, ``gamma`` a
    learned scalar starting at 0. Memory grows as ``N`` (not ``N^2``) through
    ``scaled_dot_product_attention``'s fused kernels, which need equal query, key and
    value head widths.

    Args:
        channels: C, the feature width.
        heads: attention heads.
        head_channels: width of each head (default C // 8, SAGAN's query/key width).
        pool: max-pool size applied to keys and values (SAGAN: 2).
    """

    def __init__(
        self, *, channels: int, heads: int = 4, head_channels: int | None = None, pool: int = 2
    ) -> None:
        super().__init__()
        head_channels = head_channels or max(channels // 8, 1)
        inner = heads * head_channels
        self.heads, self.head_channels, self.pool = heads, head_channels, pool
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, inner, 1)
        self.out = nn.Conv2d(inner, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def _split_heads(self, t: Tensor) -> Tensor:
        b, _, h, w = t.shape  # (B, heads * d, h, w) -> (B, heads, h * w, d)
        t = t.reshape(b, self.heads, self.head_channels, h * w).transpose(-1, -2)
        # The fused kernels need a unit stride on the last dim; without this copy torch
        # falls back to the math kernel and builds the score matrix (13 GB at 720p).
        return t.contiguous()

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        q = self._split_heads(self.query(x))
        # ceil_mode keeps the last row/column of an odd-sized map as keys too.
        k = self._split_heads(F.max_pool2d(self.key(x), self.pool, ceil_mode=True))
        v = self._split_heads(F.max_pool2d(self.value(x), self.pool, ceil_mode=True))
        o = F.scaled_dot_product_attention(q, k, v)  # (B, heads, h * w, d)
        o = o.transpose(-1, -2).reshape(b, self.heads * self.head_channels, h, w)
        return x + self.gamma * self.out(o)


class SRGNGenerator(Generator):
    """SR-GN self-reference generator: ``(B, 3, H, W)`` in [-1, 1] -> same, in [-1, 1].

    H and W must be multiples of ``size_multiple = 2 ** n_downsampling`` and at least twice
    that. See the module docstring for what follows the paper and what is our choice.

    ``forward(x, mask=None)`` returns the restored image; ``forward_with_mask`` also
    returns the mask logits ``(B, 1, H, W)`` (1 = blurred) for the mask loss. The mask
    argument is ``(B, 1, H, W)`` in [0, 1]; it is used only when ``use_given_mask`` is
    set, otherwise the predicted mask decides what is kept from the input.

    Args:
        ngf: channels after the first conv; doubled by each downsampling step.
        n_blocks: residual blocks at the bottleneck.
        n_downsampling: stride-2 convs (and as many upsampling steps).
        norm: ``"instance"`` (affine-free, DeblurGAN), ``"batch"`` or ``"none"``.
        use_dropout: Dropout(0.5) inside the residual blocks (DeblurGAN).
        attention_after: residual blocks before the attention block (default
            ``n_blocks // 2``); the mask branch taps the same features.
        attention_heads: heads of the attention block (each of width C // 8).
        use_given_mask: blend with the mask passed to ``forward`` instead of the
            predicted one (training with known masks, or a user-drawn mask).
    """

    def __init__(
        self,
        *,
        ngf: int = 64,
        n_blocks: int = 9,
        n_downsampling: int = 2,
        norm: NormKind = "instance",
        use_dropout: bool = True,
        attention_after: int | None = None,
        attention_heads: int = 4,
        use_given_mask: bool = False,
    ) -> None:
        super().__init__(value_range=(-1.0, 1.0), size_multiple=2**n_downsampling)
        attention_after = n_blocks // 2 if attention_after is None else attention_after
        if not 0 <= attention_after <= n_blocks:
            raise ValueError(
                f"SRGNGenerator: attention_after must be between 0 and n_blocks={n_blocks}, "
                f"got {attention_after}"
            )
        self.attention_after = attention_after
        self.use_given_mask = use_given_mask

        # DeblurGAN 2018's trunk, layer for layer and with its key names (head, down,
        # blocks, up, tail); this class adds the attention, the mask branch and the blend.
        trunk = ResnetGenerator(
            ngf=ngf,
            n_blocks=n_blocks,
            n_downsampling=n_downsampling,
            norm=norm,
            use_dropout=use_dropout,
        )
        self.head, self.down, self.blocks = trunk.head, trunk.down, trunk.blocks
        self.up, self.tail = trunk.up, trunk.tail
        width = ngf * 2**n_downsampling
        self.attention = PooledSelfAttention(channels=width, heads=attention_heads)
        self.mask_head = nn.Sequential(
            OrderedDict(
                pad=nn.ReflectionPad2d(1),
                conv=nn.Conv2d(width, ngf, 3),
                act=nn.ReLU(inplace=True),
                logits=nn.Conv2d(ngf, 1, 1),
            )
        )
        self.mask_refine = nn.Sequential(
            OrderedDict(pad=nn.ReflectionPad2d(1), conv=nn.Conv2d(ngf + 1, 1, 3))
        )
        init_weights(self, scheme="normal")
        # After the initialisation, so the power-iteration vectors start from the final
        # weights and the first normalised weight is already right.
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
                spectral_norm(module)

    def _check(self, x: Tensor, mask: Tensor | None) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"SRGNGenerator expects (B, 3, H, W) images; got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.size_multiple
        # At least 2 pixels at the bottleneck: the residual blocks reflect-pad by 1.
        if h % m or w % m or min(h, w) < 2 * m:
            raise ValueError(
                f"SRGNGenerator needs height and width that are multiples of {m} "
                f"(2 ** n_downsampling) and at least {2 * m}, got {h}x{w}; crop or pad the input"
            )
        if mask is not None and tuple(mask.shape) != (x.shape[0], 1, h, w):
            raise ValueError(
                f"SRGNGenerator: the mask must be (B, 1, H, W) = {(x.shape[0], 1, h, w)} to "
                f"match the image; got {tuple(mask.shape)}"
            )

    def forward_with_mask(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(B, 3, H, W)`` in [-1, 1] -> (output in [-1, 1], mask logits ``(B, 1, H, W)``)."""
        self._check(x, mask)
        full = self.head(x)  # (B, ngf, H, W)
        h = self.down(full)  # (B, C, H/4, W/4)
        for block in self.blocks[: self.attention_after]:
            h = block(h)
        coarse = F.interpolate(self.mask_head(h), size=x.shape[-2:], mode="bilinear")
        mask_logits = coarse + self.mask_refine(torch.cat([full, coarse], dim=1))
        del full  # the decoder does not need it; at 720p it is 236 MB per image
        h = self.attention(h)
        for block in self.blocks[self.attention_after :]:
            h = block(h)
        restored = torch.clamp(x + torch.tanh(self.tail(self.up(h))), -1.0, 1.0)
        if self.use_given_mask and mask is not None:
            m = mask.to(restored.dtype)
        else:
            m = torch.sigmoid(mask_logits)
        # Written as a convex blend (not x + m * (restored - x)) so that m == 0 returns
        # the input exactly.
        return m * restored + (1.0 - m) * x, mask_logits

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, 3, H, W)`` in [-1, 1] (and optional ``(B, 1, H, W)`` mask) -> output."""
        return self.forward_with_mask(x, mask)[0]
