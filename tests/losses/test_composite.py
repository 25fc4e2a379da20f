"""GeneratorLoss and the loss recipes under conf/loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from restoregan.losses.adversarial import WGAN, WGANGP, Hinge, RaGAN
from restoregan.losses.composite import GeneratorLoss
from restoregan.losses.perceptual import PerceptualLoss
from restoregan.losses.pixel import L1Loss, MSELoss
from tests.helpers import compose as compose_train

CONF = Path(__file__).resolve().parents[2] / "conf"
RECIPES = sorted(p.stem for p in (CONF / "loss").glob("*.yaml"))


def test_weighted_total_and_unweighted_terms() -> None:
    loss = GeneratorLoss(
        terms={"l1": L1Loss(), "mse": MSELoss()},
        weights={"l1": 100.0, "mse": 0.5},
        adversarial=WGANGP(),
        adversarial_weight=2.0,
    )
    fake = torch.zeros(2, 3, 4, 4)
    real = torch.full((2, 3, 4, 4), 0.5)  # L1 = 0.5, MSE = 0.25
    total, terms = loss(fake, real)
    assert set(terms) == {"l1", "mse"}
    assert terms["l1"].item() == pytest.approx(0.5)
    assert terms["mse"].item() == pytest.approx(0.25)
    assert total.item() == pytest.approx(100.0 * 0.5 + 0.5 * 0.25)
    assert loss.adversarial_weight == 2.0 and isinstance(loss.adversarial, WGANGP)


def test_gradient_flows_through_total() -> None:
    loss = GeneratorLoss(terms={"l1": L1Loss()}, weights={"l1": 3.0})
    fake = torch.zeros(1, 3, 2, 2, requires_grad=True)
    total, _ = loss(fake, torch.ones(1, 3, 2, 2))
    total.backward()
    # d/dfake of 3 * mean|fake - 1| = -3 / 12 per element
    torch.testing.assert_close(fake.grad, torch.full_like(fake, -0.25))


def test_key_mismatch_lists_both() -> None:
    with pytest.raises(
        ValueError, match=r"terms: \['l1', 'mse'\], weights: \['l1', 'perceptual'\]"
    ):
        GeneratorLoss(
            terms={"l1": L1Loss(), "mse": MSELoss()}, weights={"l1": 1.0, "perceptual": 1.0}
        )


def test_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match="l1"):
        GeneratorLoss(terms={"l1": torch.nn.functional.l1_loss}, weights={"l1": 1.0})
    with pytest.raises(TypeError, match="AdversarialLoss"):
        GeneratorLoss(terms={}, weights={}, adversarial=L1Loss())


def test_describe() -> None:
    loss = GeneratorLoss(
        terms={"perceptual": PerceptualLoss(weights="random", seed=2)},
        weights={"perceptual": 100.0},
        adversarial=WGAN(clip_value=0.01),
    )
    assert loss.describe() == {
        "terms": {"perceptual": "PerceptualLoss"},
        "weights": {"perceptual": 100.0},
        "adversarial": "WGAN",
        "adversarial_params": {"clip_value": 0.01},
        "adversarial_weight": 1.0,
        "weights_description": {"perceptual": "random:seed=2"},
    }


# ---- recipes ---------------------------------------------------------------------------
def compose_loss(recipe: str, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(overrides=[f"+loss={recipe}", *overrides]).loss
    with open_dict(cfg):  # tests run offline: no ImageNet download
        for term in cfg.get("terms", {}).values():
            if "weights" in term:
                term.weights = "random"
        if "region" in cfg:  # SR-GN's sub-image content loss
            cfg.region.weights = "random"
    return cfg


def test_all_recipes_found() -> None:
    assert set(RECIPES) >= {
        "deblurgan", "deblurgan_keras", "unet_patchgan", "resnet_patchgan", "convdeconv_gan",
        "l1", "mse", "esrgan_psnr", "esrgan", "srgn",
    }  # fmt: skip


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_instantiates(recipe: str) -> None:
    loss = instantiate(compose_loss(recipe))
    assert isinstance(loss, GeneratorLoss)
    loss.set_value_range((0.0, 1.0))  # what the system does with its generator's range
    fake, real = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    total, terms = loss(fake, real)
    # SR-GN's objective reports one content term per sub-image kind besides its weights'.
    kinds = getattr(getattr(loss, "region", None), "gammas", {})
    assert torch.isfinite(total)
    assert set(terms) == set(loss.weights) | {f"content_{k}" for k in kinds}


def system_loss(tmp_path: Path, *overrides: str) -> GeneratorLoss:
    """The loss of a recipe's system, after the system told it its generator's range."""
    cfg = compose_train("train", [*overrides, "loss.terms.perceptual.weights=random"], tmp_path)
    return instantiate(cfg.model).loss


def test_recipe_values(tmp_path: Path) -> None:
    deblurgan = system_loss(tmp_path, "model=deblurgan", "generator.ngf=4", "generator.n_blocks=1")
    perceptual = deblurgan.terms["perceptual"]
    assert isinstance(deblurgan.adversarial, WGANGP) and deblurgan.adversarial.lambda_gp == 10.0
    assert deblurgan.weights == {"perceptual": 100.0}
    assert perceptual.layer_weights == {"conv3_3": 1.0} and perceptual.criterion == "mse"
    assert perceptual.vgg.arch == "vgg19" and perceptual.input_range == (-1.0, 1.0)

    esrgan = system_loss(tmp_path, "model=esrgan", "generator.n_blocks=1", "data.crop_size=32")
    assert isinstance(esrgan.adversarial, RaGAN) and esrgan.adversarial_weight == 5e-3
    assert esrgan.weights == {"pixel": 1e-2, "perceptual": 1.0}
    perceptual = esrgan.terms["perceptual"]
    assert perceptual.layer_weights == {"conv5_4": 1.0} and perceptual.criterion == "l1"
    assert perceptual.input_range == (0.0, 1.0) and perceptual.normalization == "imagenet"

    keras = instantiate(compose_loss("deblurgan_keras"))
    # The Keras port exactly: a Wasserstein loss on a sigmoid critic with no clipping.
    assert isinstance(keras.adversarial, WGAN) and keras.adversarial.clip_value is None
    assert not isinstance(keras.adversarial, WGANGP)
    assert keras.terms["perceptual"].vgg.arch == "vgg16"
    assert keras.terms["perceptual"].layer_weights == {"block3_conv3": 1.0}

    for supervised in ("l1", "mse", "esrgan_psnr"):
        assert instantiate(compose_loss(supervised)).adversarial is None


def test_recipe_default_weights_are_imagenet() -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(overrides=["+loss=esrgan"]).loss
    assert cfg.terms.perceptual.weights == "imagenet"


def test_cli_swaps(tmp_path: Path) -> None:
    swapped = instantiate(compose_loss("deblurgan", "loss/adversarial=hinge"))
    assert isinstance(swapped.adversarial, Hinge)
    # A swapped term still gets the generator's range ([-1, 1] for DeblurGAN's ResNet),
    # not the [0, 1] that ESRGAN's own recipe works in.
    swapped = system_loss(
        tmp_path,
        "model=deblurgan",
        "generator.ngf=4",
        "generator.n_blocks=1",
        "loss/content@loss.terms.perceptual=perceptual_vgg19_conv5_4",
    )
    assert list(swapped.terms["perceptual"].layer_weights) == ["conv5_4"]
    assert swapped.terms["perceptual"].input_range == (-1.0, 1.0)
    # A supervised recipe can gain an adversarial loss from the command line.
    assert isinstance(instantiate(compose_loss("l1", "loss/adversarial=hinge")).adversarial, Hinge)


def test_adversarial_term_is_weighted_here_and_logged_unweighted() -> None:
    loss = GeneratorLoss(
        terms={"l1": L1Loss()}, weights={"l1": 2.0}, adversarial=WGAN(), adversarial_weight=0.5
    )
    fake, real = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.25)
    d_fake = torch.full((1, 1), 3.0)  # WGAN generator loss: -mean(D(fake)) = -3
    total, terms = loss(fake, real, d_fake=d_fake)
    assert terms["adv"].item() == pytest.approx(-3.0)
    assert total.item() == pytest.approx(2.0 * 0.25 + 0.5 * -3.0)
    relativistic = GeneratorLoss(terms={}, weights={}, adversarial=RaGAN())
    with pytest.raises(ValueError, match="d_real"):
        relativistic(fake, real, d_fake=d_fake)
    with pytest.raises(ValueError, match="no adversarial loss"):
        GeneratorLoss(terms={"l1": L1Loss()}, weights={"l1": 1.0})(fake, real, d_fake=d_fake)
    with pytest.raises(ValueError, match="'adv' names the adversarial term"):
        GeneratorLoss(terms={"adv": L1Loss()}, weights={"adv": 1.0})
