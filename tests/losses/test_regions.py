"""SR-GN sub-image content loss and mask BCE: hand-computed regions, gammas, empty regions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from restoregan.losses.perceptual import PerceptualLoss
from restoregan.losses.regions import MaskBCELoss, RegionContentLoss

ALL_KINDS = {"blurred": 1.0, "clear": 1.0, "block_blurred": 1.0, "block_clear": 1.0}


def _loss(**kwargs) -> RegionContentLoss:
    kwargs.setdefault("input_range", (-1.0, 1.0))
    return RegionContentLoss(weights="random", **kwargs)


def _pair(b: int = 2, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    real = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    fake = (real + 0.3 * torch.randn(b, 3, size, size, generator=g)).clamp(-1, 1)
    return fake, real


def _error_map(loss: RegionContentLoss, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """(B, h, w) channel-mean squared conv3_3 difference, computed here by hand."""
    with torch.no_grad():
        f = loss.perceptual.features(fake)["conv3_3"]
        r = loss.perceptual.features(real)["conv3_3"]
    return (f - r).square().mean(dim=1)


def test_whole_image_regions_reduce_to_deblurgan_perceptual_loss() -> None:
    fake, real = _pair()
    loss = _loss(gammas={"blurred": 2.0, "clear": 5.0})
    reference = PerceptualLoss(weights="random", layers={"conv3_3": 1.0}, input_range=(-1.0, 1.0))(
        fake, real
    )
    total, values = loss(fake, real, torch.ones(2, 1, 32, 32))
    torch.testing.assert_close(values["content_blurred"], reference)
    assert values["content_clear"].item() == 0.0  # empty region: exactly 0, not NaN
    torch.testing.assert_close(total, 2.0 * reference)
    _, values = loss(fake, real, torch.zeros(2, 1, 32, 32))
    torch.testing.assert_close(values["content_clear"], reference)
    assert values["content_blurred"].item() == 0.0


def test_regions_at_feature_resolution_match_a_hand_computation() -> None:
    """Image 0: columns 0..9 blurred -> feature columns 0..2 (column 2 covers image columns
    8..11, half blurred, and >= 0.5 counts). Image 1: rows 0..8 -> feature rows 0..1 (row 2
    is a quarter blurred)."""
    fake, real = _pair()
    mask = torch.zeros(2, 1, 32, 32)
    mask[0, :, :, :10] = 1.0
    mask[1, :, :9, :] = 1.0
    loss = _loss()
    _, values = loss(fake, real, mask)
    e = _error_map(loss, fake, real)  # (2, 8, 8)
    blurred = (e[0, :, :3].mean() + e[1, :2, :].mean()) / 2
    clear = (e[0, :, 3:].mean() + e[1, 2:, :].mean()) / 2
    torch.testing.assert_close(values["content_blurred"], blurred)
    torch.testing.assert_close(values["content_clear"], clear)
    # The test can tell a region one feature pixel off, and the whole image's area.
    for wrong in (
        (e[0, :, :2].mean() + e[1, :2, :].mean()) / 2,
        (e[0, :, :4].mean() + e[1, :2, :].mean()) / 2,
        (e[0, :, :3].mean() + e[1, :3, :].mean()) / 2,
        (e[0, :, :3].sum() + e[1, :2, :].sum()) / (2 * 64),
    ):
        assert not torch.isclose(values["content_blurred"], wrong, rtol=1e-3)


def test_normalisation_is_by_the_regions_own_area() -> None:
    """The same per-pixel error over a smaller region gives the same term: eq. 7 divides by
    the sub-image's area, not the image's."""
    real = torch.zeros(1, 3, 32, 32)
    fake = torch.full((1, 3, 32, 32), 0.5)
    loss = _loss(gammas={"blurred": 1.0})
    e = _error_map(loss, fake, real)[0]
    small, large = torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32)
    small[..., 8:16, 8:16] = 1.0  # feature pixels 2..3 x 2..3
    large[..., 8:24, 8:24] = 1.0  # feature pixels 2..5 x 2..5
    torch.testing.assert_close(loss(fake, real, small)[1]["content_blurred"], e[2:4, 2:4].mean())
    torch.testing.assert_close(loss(fake, real, large)[1]["content_blurred"], e[2:6, 2:6].mean())


def test_gammas_weight_the_terms() -> None:
    fake, real = _pair()
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 4:20, 8:28] = 1.0
    _, values = _loss()(fake, real, mask)
    total, weighted_values = _loss(gammas={"blurred": 2.0, "clear": 3.0})(fake, real, mask)
    for name in values:  # the logged values are unweighted
        torch.testing.assert_close(weighted_values[name], values[name])
    torch.testing.assert_close(
        total, 2.0 * values["content_blurred"] + 3.0 * values["content_clear"]
    )
    only_blurred, terms = _loss(gammas={"blurred": 1.0})(fake, real, mask)
    assert set(terms) == {"content_blurred"}
    torch.testing.assert_close(only_blurred, values["content_blurred"])


def test_an_image_without_blur_does_not_dilute_the_blurred_term_or_make_nan() -> None:
    fake, real = _pair()
    mask = torch.zeros(2, 1, 32, 32)
    mask[1, :, 16:, 16:] = 1.0  # image 0 has no blurred pixel
    fake.requires_grad_(True)
    loss = _loss()
    total, values = loss(fake, real, mask)
    e = _error_map(loss, fake, real)
    torch.testing.assert_close(values["content_blurred"], e[1, 4:, 4:].mean())
    total.backward()
    assert torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0


def test_no_blur_anywhere_gives_zero_with_finite_gradients() -> None:
    fake, real = _pair()
    fake.requires_grad_(True)
    total, values = _loss(gammas={"blurred": 1.0})(fake, real, torch.zeros(2, 1, 32, 32))
    assert total.item() == 0.0 and values["content_blurred"].item() == 0.0
    total.backward()
    assert torch.isfinite(fake.grad).all()


def test_gradients_reach_only_the_restored_image() -> None:
    fake, real = _pair()
    fake.requires_grad_(True)
    real.requires_grad_(True)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., :16] = 1.0
    _loss()(fake, real, mask)[0].backward()
    assert fake.grad.abs().sum() > 0 and real.grad is None


def test_blocks_are_labelled_by_their_coverage() -> None:
    """2x2 grid on 8x8 features: blocks of 4x4. Blurred: image 0..11 -> features 0..2, so
    block (0, 0) is 9/16 blurred (a blurred block), the others 0."""
    fake, real = _pair(b=1)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :12, :12] = 1.0
    loss = _loss(gammas=ALL_KINDS, grid=2)
    _, values = loss(fake, real, mask)
    e = _error_map(loss, fake, real)[0]
    torch.testing.assert_close(values["content_blurred"], e[:3, :3].mean())
    torch.testing.assert_close(values["content_block_blurred"], e[:4, :4].mean())
    others = (e[:4, 4:].mean() + e[4:, :4].mean() + e[4:, 4:].mean()) / 3
    torch.testing.assert_close(values["content_block_clear"], others)
    _, strict = _loss(gammas=ALL_KINDS, grid=2, block_threshold=0.6)(fake, real, mask)
    assert strict["content_block_blurred"].item() == 0.0
    torch.testing.assert_close(strict["content_block_clear"], (e[:4, :4].mean() + 3 * others) / 4)


def test_blocks_partition_an_uneven_feature_map() -> None:
    """36 px -> 9x9 features; a 2x2 grid splits rows and columns 0..4 | 5..8."""
    fake, real = _pair(b=1, size=36)
    loss = _loss(gammas={"block_clear": 1.0}, grid=2)
    _, values = loss(fake, real, torch.zeros(1, 1, 36, 36))
    e = _error_map(loss, fake, real)[0]
    blocks = [e[:5, :5], e[:5, 5:], e[5:, :5], e[5:, 5:]]
    torch.testing.assert_close(
        values["content_block_clear"], torch.stack([b.mean() for b in blocks]).mean()
    )


def test_configuration_errors_name_the_setting() -> None:
    with pytest.raises(ValueError, match="unknown"):
        _loss(gammas={"blured": 1.0})
    with pytest.raises(ValueError, match="grid"):
        _loss(gammas={"block_blurred": 1.0})
    with pytest.raises(ValueError, match="grid"):
        _loss(gammas={"blurred": 1.0}, grid=4)
    fake, real = _pair()
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        _loss()(fake, real, torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match="grid needs features"):
        _loss(gammas={"block_clear": 1.0}, grid=16)(fake, real, torch.zeros(2, 1, 32, 32))


def test_vgg_is_not_in_the_state_dict() -> None:
    assert not any("vgg" in key for key in _loss().state_dict())


# --- mask BCE -------------------------------------------------------------------------


def test_mask_bce_uses_the_soft_mask_as_target() -> None:
    logits = torch.randn(2, 1, 8, 8, requires_grad=True)
    mask = torch.rand(2, 1, 8, 8)
    value = MaskBCELoss()(logits, mask)
    expected = -(mask * F.logsigmoid(logits) + (1 - mask) * F.logsigmoid(-logits)).mean()
    torch.testing.assert_close(value, expected)
    value.backward()
    assert logits.grad.abs().sum() > 0
    perfect = MaskBCELoss()(torch.full((1, 1, 4, 4), 30.0), torch.ones(1, 1, 4, 4))
    assert perfect.item() < 1e-10


def test_mask_bce_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="same size"):
        MaskBCELoss()(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 4))
    with pytest.raises(ValueError, match="same size"):
        MaskBCELoss()(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8))
