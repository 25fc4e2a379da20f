"""Tiled inference and the x8 self-ensemble (restoregan.tiling)."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from restoregan.nets.layers import pad_to_multiple
from restoregan.tiling import self_ensemble, tiled_apply


def local_net(scale: int = 1) -> nn.Module:
    """Three 3x3 convs (receptive-field radius 3 input pixels), then a pixel shuffle."""
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 3 * scale * scale, 3, padding=1),
        nn.PixelShuffle(scale),
    )
    return net.eval()


def strided_net() -> nn.Module:
    """Down by 4 and back up: needs sides that are multiples of 4 (radius ~8 pixels)."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 8, 2, stride=2),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 3, 2, stride=2),
    ).eval()


def untiled(net: nn.Module, x: Tensor, multiple: int = 1, scale: int = 1) -> Tensor:
    h, w = x.shape[-2:]
    padded = pad_to_multiple(x, multiple)
    with torch.no_grad():
        return net(padded)[..., : h * scale, : w * scale]


@pytest.mark.parametrize(
    "shape",
    [(1, 3, 97, 61), (2, 3, 64, 64), (1, 3, 20, 25), (1, 3, 33, 200)],
    ids=["odd", "exact-grid", "smaller-than-tile", "one-row-of-tiles"],
)
def test_local_network_tiled_equals_untiled(shape: tuple[int, ...]) -> None:
    net, x = local_net(), torch.rand(*shape)
    out = tiled_apply(net, x, tile=32, overlap=16, batch=3)
    assert out.shape == shape
    assert (out - untiled(net, x)).abs().max() < 1e-4


def test_scale_4_tiled_equals_untiled() -> None:
    net, x = local_net(scale=4), torch.rand(1, 3, 45, 38)
    out = tiled_apply(net, x, tile=24, overlap=16, scale=4)
    assert out.shape == (1, 3, 180, 152)
    assert (out - untiled(net, x, scale=4)).abs().max() < 1e-4


@pytest.mark.parametrize(
    ("net", "shape", "tile", "overlap", "multiple"),
    [
        (strided_net, (2, 3, 75, 90), 50, 38, 4),  # tile 48, step 8; border tiles reflect
        (strided_net, (1, 3, 13, 10), 64, 16, 4),  # one tile, reflected inside it
        (local_net, (1, 3, 3, 3), 64, 16, 8),  # pad > side: the whole image replicates
    ],
)
def test_size_multiple_tiled_equals_padded_untiled(net, shape, tile, overlap, multiple) -> None:
    net, x = net(), torch.rand(*shape)
    out = tiled_apply(net, x, tile=tile, overlap=overlap, multiple=multiple)
    assert out.shape == shape
    assert (out - untiled(net, x, multiple=multiple)).abs().max() < 1e-4


def test_tiles_are_batched_and_sized_to_the_multiple() -> None:
    seen = []

    def record(t: Tensor) -> Tensor:
        seen.append(tuple(t.shape))
        return t

    tiled_apply(record, torch.rand(2, 3, 70, 130), tile=37, overlap=8, multiple=4, batch=5)
    assert all(n <= 5 and h % 4 == 0 and w % 4 == 0 for n, _, h, w in seen)
    assert {(h, w) for _, _, h, w in seen} == {(36, 36)}
    assert sum(n for n, *_ in seen) > 2 * 4  # several tiles per image


@pytest.mark.parametrize("scale", [1, 3])
def test_blending_weights_sum_to_one(scale: int) -> None:
    """An identity network (nearest upsampling for SR) comes back unchanged: the window
    weights of overlapping tiles sum to 1 at every pixel, including uneven last tiles."""

    def upsample(t: Tensor) -> Tensor:
        return t.repeat_interleave(scale, -2).repeat_interleave(scale, -1)

    x = torch.rand(1, 3, 83, 59, dtype=torch.float64)
    out = tiled_apply(upsample, x, tile=30, overlap=12, scale=scale)
    assert out.dtype == torch.float64
    assert torch.allclose(out, upsample(x), atol=1e-12)


def test_instance_norm_tiles_change_the_result() -> None:
    """Per-tile statistics: a network with instance norm is not tile-invariant."""
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.InstanceNorm2d(8), nn.Conv2d(8, 3, 3, padding=1)
    ).eval()
    x = torch.rand(1, 3, 96, 96)
    x[..., :48, :] *= 0.2  # a dark top half: very different tile statistics
    diff = (tiled_apply(net, x, tile=48, overlap=16) - untiled(net, x)).abs().max()
    assert diff > 1e-2


def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(ValueError, match="no step between tiles"):
        tiled_apply(local_net(), torch.rand(1, 3, 64, 64), tile=32, overlap=32)
    with pytest.raises(ValueError, match="expected 64x64 for scale=2"):
        tiled_apply(local_net(), torch.rand(1, 3, 64, 64), tile=32, overlap=8, scale=2)


# ---- self-ensemble --------------------------------------------------------------------


def eight_explicit_passes(fn, x: Tensor) -> Tensor:
    """The dihedral group written out by hand: (forward, inverse) pairs."""
    t = lambda a: a.transpose(-2, -1)  # noqa: E731
    h = lambda a: a.flip(-1)  # noqa: E731
    v = lambda a: a.flip(-2)  # noqa: E731
    pairs = [
        (lambda a: a, lambda a: a),
        (h, h),
        (v, v),
        (lambda a: h(v(a)), lambda a: v(h(a))),
        (t, t),
        (lambda a: h(t(a)), lambda a: t(h(a))),  # rotate 90 one way
        (lambda a: v(t(a)), lambda a: t(v(a))),  # and the other
        (lambda a: h(v(t(a))), lambda a: t(v(h(a)))),  # anti-transpose
    ]
    with torch.no_grad():
        return torch.stack([inv(fn(fwd(x))) for fwd, inv in pairs]).mean(0)


@pytest.mark.parametrize("scale", [1, 2])
def test_self_ensemble_matches_eight_explicit_passes(scale: int) -> None:
    net, x = local_net(scale=scale), torch.rand(2, 3, 23, 31)  # not square
    out = self_ensemble(net, x)
    assert out.shape == (2, 3, 23 * scale, 31 * scale)
    assert torch.allclose(out, eight_explicit_passes(net, x), atol=1e-6)
    with torch.no_grad():
        assert (out - net(x)).abs().max() > 1e-3  # a random net is not flip-equivariant


def test_self_ensemble_of_tiled_passes() -> None:
    net, x = local_net(), torch.rand(1, 3, 70, 50)
    out = self_ensemble(lambda t: tiled_apply(net, t, tile=32, overlap=16), x)
    assert torch.allclose(out, eight_explicit_passes(net, x), atol=1e-4)
