"""SR-GN end to end on partial blur: mask plumbing, region validation, recipes, no-mask data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from restoregan.nets.generators.srgn import SRGNGenerator
from tests.helpers import compose, read_metrics
from train import train

_COMMON = [
    "logger=csv",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=2",
    "test_after_fit=false",
    "generator.ngf=8",
    "generator.n_blocks=2",
    "discriminator.ndf=8",
    "data.crop_size=32",
    "data.batch_size=2",
    "data.num_workers=0",
    "callbacks.sample_grid=null",
]
_PARTIAL = [
    "data=demo_partial",
    "data.max_side=96",
    "data.train_variants=1",
    "data.val_variants=1",
    "data.gaussian.size=15",
    "data.regions.feather=4.0",
]
REGION_LOGS = (
    "val/psnr_blurred",
    "val/ssim_blurred",
    "val/psnr_clear",
    "val/ssim_clear",
    "val/psnr_weighted",
    "val/psnr_input_blurred",
    "val/ssim_input_blurred",
    "val/psnr_input_clear",
    "val/ssim_input_clear",
    "val/psnr_input_weighted",
)


@pytest.fixture(scope="module")
def partial_cache(tmp_path_factory) -> Path:
    """One small partial-blur cache (96-pixel photographs) shared by these tests."""
    return tmp_path_factory.mktemp("partial") / "cache"


def _logged(out: Path) -> dict[str, float]:
    values: dict[str, float] = {}
    for row in read_metrics(out):
        values.update({k: float(v) for k, v in row.items() if v and k != "epoch"})
    return values


@pytest.mark.slow  # end-to-end training
def test_srgn_trains_on_partial_blur_with_masks(tmp_path: Path, partial_cache: Path) -> None:
    cfg = compose(
        "train",
        [
            "model=srgn",
            *_PARTIAL,
            f"data.cache_dir={partial_cache}",
            *_COMMON,
            "loss.region.weights=random",
        ],
        tmp_path,
    )
    train(cfg)
    out = tmp_path / "out"
    logged = _logged(out)
    for key in (
        "train/content_blurred",
        "train/content_clear",
        "train/mask_bce",
        "train/adv",
        "train/gp",
        "val/psnr",
        "val/psnr_input",
    ):
        assert key in logged, key
    for key in REGION_LOGS:
        assert math.isfinite(logged[key]), key
    # The input's clear part is the target there (only the blurred part differs), far above
    # its blurred part.
    assert logged["val/psnr_input_clear"] > logged["val/psnr_input_blurred"] + 5
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["restoregan"]["generator"]["_target_"].endswith("SRGNGenerator")
    assert ckpt["global_step"] == 2 * 6  # 5 critic steps + 1 generator step per batch
    # The recipe's values the paper leaves out are DeblurGAN's.
    assert cfg.model.d_steps == 5 and cfg.model.optimizer_g.lr == 1.0e-4


@pytest.mark.slow  # end-to-end training
def test_deblurgan_trains_on_the_same_partial_blur(tmp_path: Path, partial_cache: Path) -> None:
    cfg = compose(
        "train",
        [
            "model=deblurgan",
            *_PARTIAL,
            f"data.cache_dir={partial_cache}",
            *_COMMON,
            "loss.terms.perceptual.weights=random",
        ],
        tmp_path,
    )
    train(cfg)
    logged = _logged(tmp_path / "out")
    assert "train/perceptual" in logged and "train/mask_bce" not in logged
    for key in REGION_LOGS:
        assert math.isfinite(logged[key]), key


@pytest.mark.slow  # end-to-end training
def test_srgn_trains_without_masks(tmp_path: Path, demo_root: Path) -> None:
    # Fully blurred data (no mask): the whole image is the blurred sub-image, no mask term,
    # and validation logs only the whole-image scores.
    cfg = compose(
        "train",
        [
            "model=srgn",
            "data=demo",
            f"data.root={demo_root}",
            "data.max_side=96",
            "data.train_variants=1",
            "data.val_variants=1",
            *_COMMON,
            "loss.region.weights=random",
        ],
        tmp_path,
    )
    train(cfg)
    logged = _logged(tmp_path / "out")
    assert "train/content_blurred" in logged and math.isfinite(logged["val/psnr"])
    assert "train/mask_bce" not in logged and "train/content_clear" in logged
    assert logged["train/content_clear"] == 0.0  # no clear pixel: the empty kind is exactly 0
    assert not any(k in logged for k in REGION_LOGS)


class _Recorder(torch.nn.Module):
    """A loss that records what the system hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict] = []

    def forward(self, fake, real, **kwargs):
        self.calls.append(kwargs)
        return fake.mean(), {}


def test_generate_passes_the_mask_and_returns_logits() -> None:
    from restoregan.systems.base import RestorationSystem

    class _Sys(RestorationSystem):
        pass

    from restoregan.losses.composite import GeneratorLoss

    gen = SRGNGenerator(ngf=4, n_blocks=1, use_given_mask=True)
    system = _Sys(generator=gen, loss=GeneratorLoss(terms={}, weights={}), optimizer_g=None)
    x = torch.rand(2, 3, 16, 16)
    mask = torch.zeros(2, 1, 16, 16)
    fake, extras = system.generate({"input": x, "mask": mask})
    assert set(extras) == {"mask", "mask_logits"} and extras["mask"] is mask
    assert extras["mask_logits"].shape == (2, 1, 16, 16)
    # use_given_mask with an all-zero mask: the output is the input (in the net's range).
    torch.testing.assert_close(fake, x * 2 - 1, rtol=0, atol=1e-6)
    fake, extras = system.generate({"input": x})
    assert set(extras) == {"mask_logits"}
