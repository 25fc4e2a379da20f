"""Recipes the tables depend on: the Dual-GAN paper's deblurring stage, the Keras port's loss."""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate

from restoregan.losses.adversarial import WGAN, WGANGP
from tests.helpers import compose


def test_dualgan_deblur_is_the_papers_stage(tmp_path: Path) -> None:
    cfg = compose(
        "train", ["model=dualgan_deblur", "loss.terms.perceptual.weights=random"], tmp_path
    )
    assert cfg.generator.norm == "batch" and cfg.generator.output == "keras_residual"
    assert cfg.discriminator._target_.endswith("GlobalDiscriminator")
    assert cfg.discriminator.norm == "batch" and cfg.discriminator.output_activation == "none"
    loss = instantiate(cfg.loss)
    assert isinstance(loss.adversarial, WGANGP)
    assert set(loss.terms) == {"l1", "perceptual"}
    assert (
        loss.terms["perceptual"].vgg.arch == "vgg16" and loss.terms["perceptual"].criterion == "mse"
    )


def test_keras_port_default_is_the_port_and_clipping_an_option(tmp_path: Path) -> None:
    cfg = compose("train", ["model=deblurgan_keras"], tmp_path)
    assert cfg.discriminator.output_activation == "sigmoid"
    adversarial = instantiate(cfg.loss.adversarial)
    assert type(adversarial) is WGAN and adversarial.clip_value is None
    clipped = compose(
        "train", ["model=deblurgan_keras", "loss.adversarial.clip_value=0.01"], tmp_path
    )
    assert instantiate(clipped.loss.adversarial).clip_value == 0.01
