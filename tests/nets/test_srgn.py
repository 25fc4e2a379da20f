"""SR-GN generator: parameter count, spectral norm, attention gate, mask blending, sizes."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.utils import parametrize

from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.generators.srgn import PooledSelfAttention, SRGNGenerator
from restoregan.nets.summary import count_parameters

TINY = {"ngf": 8, "n_blocks": 2}


def _image(b: int = 2, h: int = 32, w: int = 24, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g) * 2 - 1


def _convs(net: nn.Module) -> list[tuple[str, nn.Module]]:
    return [
        (name, m)
        for name, m in net.named_modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
    ]


# --- architecture ---------------------------------------------------------------------


def test_default_parameter_count_is_pinned() -> None:
    g = SRGNGenerator()
    assert count_parameters(g) == 11_658_063
    # The docstring's split: DeblurGAN's ResNet plus the attention block and the mask branch.
    assert count_parameters(ResnetGenerator()) == 11_378_179
    assert count_parameters(g.attention) == 131_713
    assert count_parameters(g.mask_head) + count_parameters(g.mask_refine) == 148_171
    assert (g.value_range, g.scale, g.size_multiple) == ((-1.0, 1.0), 1, 4)
    assert g.attention_after == 4


def test_trunk_keeps_deblurgan_key_names() -> None:
    """Head, down, blocks, up and tail are DeblurGAN's, key for key (spectral norm moves
    each ``weight`` to ``parametrizations.weight.original``)."""
    ours = {
        key.replace(".parametrizations.weight.original", ".weight")
        for key in SRGNGenerator(**TINY).state_dict()
        if not key.endswith(("._u", "._v"))
        and key.split(".")[0] in ("head", "down", "blocks", "up", "tail")
    }
    assert ours == set(ResnetGenerator(**TINY).state_dict())


def test_every_convolution_is_spectrally_normalised() -> None:
    g = SRGNGenerator(**TINY).eval()
    convs = _convs(g)
    assert len(convs) == 17  # head, 2 down, 2x2 block convs, 4 attention, 2 up, tail, 3 mask
    for name, m in convs:
        assert parametrize.is_parametrized(m, "weight"), name
        kinds = [type(p).__name__ for p in m.parametrizations.weight]
        assert kinds == ["_SpectralNorm"], (name, kinds)
        w = m.weight.transpose(0, 1) if isinstance(m, nn.ConvTranspose2d) else m.weight
        sigma = torch.linalg.matrix_norm(w.flatten(1), ord=2).item()
        assert abs(sigma - 1.0) < 0.1, (name, sigma)


def test_attention_gate_starts_at_zero_so_the_block_is_the_identity() -> None:
    g = SRGNGenerator(**TINY)
    assert g.attention.gamma.item() == 0.0
    h = torch.randn(2, 32, 5, 7)
    assert torch.equal(g.attention(h), h)


def test_gate_receives_gradient_at_zero() -> None:
    g = SRGNGenerator(**TINY)
    g(_image()).square().mean().backward()
    assert g.attention.gamma.grad is not None and g.attention.gamma.grad.abs() > 0


def test_attention_is_non_local() -> None:
    """A change in one corner reaches the opposite corner: what lets blurred regions use
    features of clear regions far away."""
    attention = PooledSelfAttention(channels=16)
    with torch.no_grad():
        attention.gamma.fill_(1.0)
    x = torch.randn(1, 16, 12, 12)
    y = x.clone()
    y[..., 0, 0] += 5.0
    assert not torch.allclose(attention(x)[..., -1, -1], attention(y)[..., -1, -1])


@pytest.mark.parametrize("size", [(12, 12), (9, 13)])
def test_attention_runs_on_the_fused_kernel(size: tuple[int, int]) -> None:
    """The math fallback builds the N x N/4 score matrix (13 GB at 720p); forbid it."""
    attention = PooledSelfAttention(channels=32)
    x = torch.randn(2, 32, *size, requires_grad=True)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        attention(x).sum().backward()
    assert x.grad is not None


def test_attention_after_must_be_within_the_blocks() -> None:
    with pytest.raises(ValueError, match="attention_after"):
        SRGNGenerator(**TINY, attention_after=3)


# --- output and masks -----------------------------------------------------------------


def test_output_shape_range_and_mask_logits() -> None:
    g = SRGNGenerator(**TINY).eval()
    x = _image()
    with torch.no_grad():
        out, logits = g.forward_with_mask(x)
    assert out.shape == x.shape and logits.shape == (2, 1, 32, 24)
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert torch.equal(g(x), out)


def test_zero_given_mask_returns_the_input_exactly() -> None:
    g = SRGNGenerator(**TINY, use_given_mask=True).eval()
    x = _image()
    with torch.no_grad():
        out = g(x, torch.zeros(2, 1, 32, 24))
    assert torch.equal(out, x)


def test_given_mask_blends_restored_and_input() -> None:
    g = SRGNGenerator(**TINY, use_given_mask=True).eval()
    x = _image()
    mask = torch.zeros(2, 1, 32, 24)
    mask[:, :, :, :10] = 1.0
    mask[1, :, 20:, :] = 0.25
    with torch.no_grad():
        restored = g(x, torch.ones_like(mask))
        out = g(x, mask)
        out_predicted, logits = g.forward_with_mask(x)  # no mask given: the prediction
    assert not torch.allclose(restored, x)
    torch.testing.assert_close(out, mask * restored + (1 - mask) * x, rtol=0, atol=1e-6)
    m = torch.sigmoid(logits)
    torch.testing.assert_close(out_predicted, m * restored + (1 - m) * x, rtol=0, atol=1e-6)


def test_without_use_given_mask_the_passed_mask_is_ignored() -> None:
    torch.manual_seed(3)
    g = SRGNGenerator(**TINY).eval()
    x = _image()
    with torch.no_grad():
        assert torch.equal(g(x, torch.zeros(2, 1, 32, 24)), g(x))


def test_mask_loss_gradient_reaches_the_mask_branch_only_through_the_logits() -> None:
    g = SRGNGenerator(**TINY)
    _, logits = g.forward_with_mask(_image())
    F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).backward()
    assert g.mask_refine.conv.parametrizations.weight.original.grad.abs().sum() > 0
    assert g.tail.conv.parametrizations.weight.original.grad is None


def test_state_dict_round_trip_reproduces_outputs() -> None:
    torch.manual_seed(1)
    source = SRGNGenerator(**TINY).train()
    source(_image())  # one training forward moves the spectral-norm vectors
    source.eval()
    with torch.no_grad():
        source.attention.gamma.fill_(0.3)  # so the attention path matters
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(2)
    copy = SRGNGenerator(**TINY).eval()
    x = _image(seed=5)
    with torch.no_grad():
        assert not torch.allclose(copy(x), source(x))
        copy.load_state_dict(torch.load(buffer, weights_only=True))
        assert torch.equal(copy.forward_with_mask(x)[0], source.forward_with_mask(x)[0])
        assert torch.equal(copy.forward_with_mask(x)[1], source.forward_with_mask(x)[1])


# --- sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize(("n_downsampling", "size"), [(2, (20, 28)), (2, (8, 12)), (3, (24, 40))])
def test_any_multiple_of_size_multiple_works(n_downsampling: int, size: tuple[int, int]) -> None:
    g = SRGNGenerator(**TINY, n_downsampling=n_downsampling).eval()
    assert g.size_multiple == 2**n_downsampling
    x = torch.rand(1, 3, *size) * 2 - 1
    with torch.no_grad():
        assert g(x).shape == x.shape


@pytest.mark.parametrize("size", [(30, 32), (32, 26), (33, 33), (4, 8)])
def test_other_sizes_raise_a_clear_error(size: tuple[int, int]) -> None:
    g = SRGNGenerator(**TINY)
    with pytest.raises(ValueError, match=r"multiples of 4 .*at least 8.*crop or pad"):
        g(torch.zeros(1, 3, *size))


def test_bad_shapes_raise_clear_errors() -> None:
    g = SRGNGenerator(**TINY)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        g(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="mask must be"):
        g(torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 32, 32))
