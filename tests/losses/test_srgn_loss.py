"""SRGNLoss: region content + mask BCE on top of the GeneratorLoss, range from the system."""

from __future__ import annotations

import pytest
import torch

from restoregan.losses.adversarial import WGANGP
from restoregan.losses.perceptual import PerceptualLoss
from restoregan.losses.regions import MaskBCELoss, RegionContentLoss
from restoregan.losses.srgn import SRGNLoss


def _loss(gammas=None, **kwargs) -> SRGNLoss:
    region = RegionContentLoss(weights="random", gammas=gammas or {"blurred": 1.0, "clear": 1.0})
    loss = SRGNLoss(region=region, adversarial=WGANGP(), **kwargs)
    loss.set_value_range((-1.0, 1.0))  # what the system does once
    return loss


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    fake = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    real = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, :, :16] = 1.0
    logits = torch.randn(2, 1, 32, 32, generator=g)
    return fake, real, mask, logits


def test_total_is_the_weighted_sum_of_its_terms() -> None:
    fake, real, mask, logits = _batch()
    loss = _loss({"blurred": 2.0, "clear": 0.5}, content_weight=10.0, mask_weight=3.0)
    d_fake = torch.randn(2, 1, 4, 4)
    total, terms = loss(fake, real, d_fake=d_fake, mask=mask, mask_logits=logits)
    assert set(terms) == {"content_blurred", "content_clear", "mask_bce", "adv"}
    expected = (
        10.0 * (2.0 * terms["content_blurred"] + 0.5 * terms["content_clear"])
        + 3.0 * terms["mask_bce"]
        + terms["adv"]
    )
    torch.testing.assert_close(total, expected)
    torch.testing.assert_close(terms["mask_bce"], MaskBCELoss()(logits, mask))
    torch.testing.assert_close(terms["adv"], -d_fake.mean())


def test_gamma_changes_the_objective() -> None:
    fake, real, mask, logits = _batch()
    a, _ = _loss({"blurred": 1.0, "clear": 1.0})(fake, real, mask=mask, mask_logits=logits)
    b, _ = _loss({"blurred": 1.0, "clear": 5.0})(fake, real, mask=mask, mask_logits=logits)
    assert not torch.allclose(a, b)


def test_without_a_mask_the_whole_image_is_the_blurred_part() -> None:
    fake, real, _, logits = _batch()
    loss = _loss(content_weight=100.0)
    total, terms = loss(fake, real, mask_logits=logits)
    assert "mask_bce" not in terms and float(terms["content_clear"]) == 0.0
    # One sub-image covering the image: DeblurGAN's whole-image conv3_3 MSE.
    whole = PerceptualLoss(weights="random", layers={"conv3_3": 1.0}, input_range=(-1.0, 1.0))
    torch.testing.assert_close(terms["content_blurred"], whole(fake, real), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(total, 100.0 * terms["content_blurred"])


def test_range_comes_from_the_generator() -> None:
    fake, real, mask, _ = _batch()
    region = RegionContentLoss(weights="random")
    loss = SRGNLoss(region=region)
    with pytest.raises(ValueError, match="does not know the range"):
        loss(fake, real, mask=mask)
    loss.set_value_range((0.0, 1.0))
    assert region.perceptual.input_range == (0.0, 1.0)
    loss(fake, real, mask=mask)  # runs now


def test_mask_weight_zero_switches_the_term_off() -> None:
    fake, real, mask, logits = _batch()
    _, terms = _loss(mask_weight=0.0)(fake, real, mask=mask, mask_logits=logits)
    assert "mask_bce" not in terms
    with pytest.raises(ValueError, match=">= 0"):
        SRGNLoss(region=RegionContentLoss(weights="random"), mask_weight=-1.0)
