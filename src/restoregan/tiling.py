"""Inference of any size in bounded memory: overlapping tiles, and the x8 self-ensemble.

Pure torch. Both functions take a callable ``fn`` that maps ``(N, C, h, w)`` images to
``(N, C', scale*h, scale*w)`` (a generator, or a closure that maps value ranges around
one) and an image batch ``x`` of shape ``(B, C, H, W)``; they return what ``fn(x)`` would
return, computed differently.

How tiles change results. Every tile is restored on its own, so the result equals the
untiled one exactly (up to float rounding) only for networks made of local operations
whose receptive-field radius is at most ``overlap / 4`` input pixels: the outer quarter
of every overlap gets zero weight and the middle half cross-fades (see
``tiled_apply``). Networks that pool over the whole image behave differently:

- instance norm (DeblurGAN's ResNet-9, the U-Net) normalises each feature map with the
  mean and variance of the *tile*, not of the image; a tile of sky and a tile of foliage
  get different statistics, so colours and contrast shift slightly from tile to tile.
  The cross-fade hides the seams, but the output is not the untiled output. Larger
  tiles bring the statistics closer to the image's.
- self-attention sees only the pixels of its tile;
- very deep networks (ResNet-9's receptive field is far wider than any practical
  overlap) see less context near tile borders.
- batch norm in eval mode uses stored statistics and stays local.

The self-ensemble is exact for any network: it only averages eight full passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from restoregan.nets.layers import pad_to_multiple

ImageFn = Callable[[Tensor], Tensor]


def _starts(length: int, tile: int, step: int) -> list[int]:
    """Tile starts along one axis: every ``step``, the last one flush with the end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def _ramp(n: int, margin: int, ramp: int, *, dtype: torch.dtype) -> Tensor:
    """Weights for the first ``n`` pixels from a tile's inner edge: ``margin`` zeros, then
    a raised-cosine rise over ``ramp`` pixels, then ones. Two ramps facing each other over
    an overlap of ``2 * margin + ramp`` sum to 1 (sin^2 + cos^2)."""
    k = torch.arange(n, dtype=torch.float64)
    t = ((k - margin + 0.5) / ramp).clamp(0.0, 1.0)  # 0 over the margin
    return (torch.sin(t * (math.pi / 2)) ** 2).to(dtype)


def _axis_windows(
    starts: list[int], tile: int, length: int, overlap: int, scale: int, like: Tensor
) -> list[Tensor]:
    """Per tile along one axis, its 1-D blending weights in output pixels, normalised so
    that the weights of all tiles sum to 1 at every output pixel.

    The 2-D weight of a tile is the outer product of its two axis weights, and the sum of
    outer products over a grid is the outer product of the sums, so normalising each
    axis on its own normalises the 2-D weights: no full-size weight canvas is needed.
    """
    size = tile * scale
    blend = overlap * scale
    margin = blend // 4
    ramp = _ramp(min(size, blend), margin, blend - 2 * margin, dtype=torch.float64)
    windows = []
    for s in starts:
        w = torch.ones(size, dtype=torch.float64)
        if s > 0:  # a neighbour before: fade in
            w[: ramp.numel()] *= ramp
        if s + tile < length:  # a neighbour after: fade out
            w[size - ramp.numel() :] *= ramp.flip(0)
        windows.append(w)
    total = torch.zeros(length * scale, dtype=torch.float64)
    for s, w in zip(starts, windows, strict=True):
        total[s * scale : s * scale + size] += w
    return [
        (w / total[s * scale : s * scale + size]).to(device=like.device, dtype=like.dtype)
        for s, w in zip(starts, windows, strict=True)
    ]


@torch.no_grad()
def tiled_apply(
    fn: ImageFn,
    x: Tensor,
    *,
    tile: int = 512,
    overlap: int = 32,
    scale: int = 1,
    multiple: int = 1,
    batch: int = 4,
    device: torch.device | str | None = None,
) -> Tensor:
    """``fn(x)`` computed over overlapping tiles, blended with a raised-cosine window.

    Args:
        fn: ``(N, C, t, t') -> (N, C', scale*t, scale*t')``; called on at most ``batch``
            tiles at a time, all of one size.
        x: ``(B, C, H, W)`` images, any size; stays where it is.
        tile: tile side in input pixels (rounded down to a multiple of ``multiple``);
            images smaller than a tile along an axis get one tile along it.
        overlap: input pixels shared by neighbouring tiles. Its outer quarters get zero
            weight (they carry the tile-border effects) and its middle half cross-fades,
            so a network of local operations with a receptive-field radius up to
            ``overlap / 4`` gives the untiled result.
        scale: output side / input side of ``fn`` (4 for x4 super-resolution).
        multiple: the network's size multiple: tile sides and tile starts are multiples
            of it (starts too, so a strided network sees every tile with the phase the
            whole image would give), and the image is reflect-padded to a multiple of it
            at the bottom/right (inside the border tiles) and the output cropped back.
        batch: tiles per call of ``fn``.
        device: where ``fn`` runs (default: ``x``'s device). Each batch of tiles is
            moved there and its output back, so a large image can stay in CPU memory
            while the network runs on a GPU.

    Returns ``(B, C', scale*H, scale*W)`` on ``x``'s device, in ``x``'s float dtype
    (accumulated in float32 or wider).
    Besides the input, only the output canvas and one batch of tiles with its
    activations are alive at once, so peak memory grows with the image only by the
    canvas, not by the network's activations.
    """
    if tile < 1 or overlap < 0 or scale < 1 or multiple < 1 or batch < 1:
        raise ValueError(
            f"tiled_apply needs tile >= 1, overlap >= 0, scale >= 1, multiple >= 1 and "
            f"batch >= 1; got tile={tile}, overlap={overlap}, scale={scale}, "
            f"multiple={multiple}, batch={batch}"
        )
    tile = max(multiple, tile // multiple * multiple)
    step = (tile - overlap) // multiple * multiple
    if step < 1:
        raise ValueError(
            f"tile overlap {overlap} leaves no step between tiles of {tile} pixels (size "
            f"multiple {multiple}); use a tile larger than the overlap + {multiple}, e.g. "
            f"tile={overlap + 4 * multiple}"
        )
    run_on = torch.device(device) if device is not None else x.device
    # The canvas accumulates in at least float32: half-precision sums of weighted tiles
    # would round visibly.
    acc_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    like = torch.empty((), device=x.device, dtype=acc_dtype)
    h, w = x.shape[-2:]
    ph, pw = h + (-h) % multiple, w + (-w) % multiple  # padded sides
    th, tw = min(tile, ph), min(tile, pw)
    # Only the last tiles along each axis reach into the padding; reflecting inside each
    # of them gives the same pixels as reflecting the whole image, without an image-sized
    # copy, when its real part is wider than the pad. Otherwise pad the image once.
    per_tile = th > 2 * (ph - h) and tw > 2 * (pw - w)
    source = x if per_tile else pad_to_multiple(x, multiple)
    ys, xs = _starts(ph, th, step), _starts(pw, tw, step)
    wy = _axis_windows(ys, th, ph, overlap, scale, like)
    wx = _axis_windows(xs, tw, pw, overlap, scale, like)
    jobs = [(b, i, j) for b in range(x.shape[0]) for i in range(len(ys)) for j in range(len(xs))]

    canvas: Tensor | None = None
    for first in range(0, len(jobs), batch):
        chunk = jobs[first : first + batch]
        tiles = torch.stack(
            [_crop(source, b, ys[i], xs[j], th, tw) for b, i, j in chunk]
        )  # (n, C, th, tw)
        out = fn(tiles.to(run_on))  # (n, C', scale*th, scale*tw)
        if tuple(out.shape[-2:]) != (th * scale, tw * scale):
            raise ValueError(
                f"tiled_apply: fn turned a {th}x{tw} tile into {tuple(out.shape[-2:])}, "
                f"expected {th * scale}x{tw * scale} for scale={scale}; pass the "
                f"network's scale"
            )
        out = out.to(device=x.device, dtype=acc_dtype)
        if canvas is None:
            canvas = like.new_zeros((x.shape[0], out.shape[1], h * scale, w * scale))
        for k, (b, i, j) in enumerate(chunk):
            y0, x0 = ys[i] * scale, xs[j] * scale
            # Crop what falls into the bottom/right padding (every tile has real pixels:
            # the padding is narrower than the size multiple, hence than a tile).
            hh, ww = min(th * scale, h * scale - y0), min(tw * scale, w * scale - x0)
            weight = wy[i][:hh, None] * wx[j][None, :ww]  # (hh, ww), separable
            canvas[b, :, y0 : y0 + hh, x0 : x0 + ww] += out[k, :, :hh, :ww] * weight
    assert canvas is not None  # at least one tile per image
    return canvas.to(x.dtype) if x.is_floating_point() else canvas


def _crop(x: Tensor, b: int, y0: int, x0: int, th: int, tw: int) -> Tensor:
    """Image ``b``'s ``th x tw`` window at (y0, x0), reflect-padded where it passes the
    bottom/right edge."""
    t = x[b, :, y0 : y0 + th, x0 : x0 + tw]
    short_h, short_w = th - t.shape[-2], tw - t.shape[-1]
    if short_h or short_w:
        t = F.pad(t[None], (0, short_w, 0, short_h), mode="reflect")[0]
    return t


_TRANSFORMS = [(k, flip) for k in range(4) for flip in (False, True)]


def _forward(x: Tensor, k: int, flip: bool) -> Tensor:
    x = torch.rot90(x, k, dims=(-2, -1))
    return x.flip(-1) if flip else x


def _inverse(y: Tensor, k: int, flip: bool) -> Tensor:
    y = y.flip(-1) if flip else y
    return torch.rot90(y, -k, dims=(-2, -1))


@torch.no_grad()
def self_ensemble(fn: ImageFn, x: Tensor) -> Tensor:
    """The x8 geometric self-ensemble of EDSR / BasicSR: ``fn`` on the eight flips and
    rotations of ``x``, each output transformed back, averaged.

    ``x``: ``(B, C, H, W)``; ``fn`` must accept ``(B, C, W, H)`` as well (the 90-degree
    rotations swap the sides), which any fully convolutional restorer does. Valid for
    deblurring and super-resolution alike: flips and rotations commute with upscaling.
    Costs eight passes; compose with ``tiled_apply`` inside ``fn`` for large images.
    """
    total: Tensor | None = None
    for k, flip in _TRANSFORMS:
        y = _inverse(fn(_forward(x, k, flip)), k, flip).float()
        total = y if total is None else total.add_(y)
    assert total is not None
    return (total / len(_TRANSFORMS)).to(x.dtype if x.is_floating_point() else torch.float32)
