"""experiment=quickstart (`make train`) is the DeblurGAN recipe plus the documented deltas."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from tests.helpers import compose


def test_quickstart_is_deblurgan_with_its_documented_changes(tmp_path: Path) -> None:
    quick = compose("train", ["experiment=quickstart"], tmp_path)
    full = compose("train", ["model=deblurgan"], tmp_path)
    # The recipe's networks and GAN objective are untouched...
    for key in ("generator.ngf", "generator.n_blocks", "generator.norm", "generator.output"):
        assert OmegaConf.select(quick, key) == OmegaConf.select(full, key), key
    assert quick.discriminator == full.discriminator
    assert quick.loss.adversarial == full.loss.adversarial
    assert quick.loss.weights.perceptual == full.loss.weights.perceptual == 100.0
    assert quick.loss.terms.perceptual.layers == full.loss.terms.perceptual.layers
    assert quick.model.d_steps == full.model.d_steps == 5
    assert quick.model.optimizer_d == full.model.optimizer_d
    # ...and these are the changes the experiment file and the README list.
    assert quick.generator.zero_init_last and not full.generator.zero_init_last
    assert quick.loss.terms.l1._target_.endswith("L1Loss") and "l1" not in full.loss.terms
    assert quick.loss.weights.l1 == 1000.0
    assert quick.loss.terms.perceptual.weights == "random"
    assert quick.model.optimizer_g.lr == 3e-5 and full.model.optimizer_g.lr == 1e-4
    assert (quick.data.batch_size, quick.data.crop_size) == (4, 64)
    assert quick.trainer.max_steps == 3000  # 500 generator iterations x (5 + 1) steps
