"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


CONF_DIR = PROJECT_ROOT / "conf"


def compose(config_name: str, overrides: list[str], root: Path):
    """Compose a Hydra config the way the scripts do, with every path under `root`.

    The `${hydra:...}` interpolations in conf/paths are replaced, so the config resolves
    outside a Hydra run.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import open_dict

    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = hydra_compose(config_name=config_name, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.root_dir = str(root)
        cfg.paths.data_dir = str(root / "data")
        cfg.paths.log_dir = str(root / "logs")
        cfg.paths.output_dir = str(root / "out")
    return cfg


# A DeblurGAN-shaped run small enough for a CPU test: tiny widths, 32-pixel crops, random
# VGG weights (ImageNet weights cannot be downloaded in CI), CSV logging only.
TINY_MODEL = [
    "logger=csv",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "trainer.num_sanity_val_steps=0",
    "generator.ngf=8",
    "generator.n_blocks=2",
    "discriminator.ndf=8",
    "data.crop_size=32",
    "data.batch_size=2",
    "data.num_workers=0",
    "loss.terms.perceptual.weights=random",
    "callbacks.sample_grid.every_n_steps=2",
]
TINY_TRAIN = [*TINY_MODEL, "data.max_side=96", "data.train_variants=1", "data.val_variants=1"]

# Per recipe: the shared tiny settings minus the deblurgan-specific network and loss ones,
# plus each recipe's own shrunken networks. Recipes without a perceptual term must not get
# its VGG override.
_TINY_COMMON = [
    o for o in TINY_TRAIN if not o.startswith(("generator.", "discriminator.", "loss."))
]
_RANDOM_VGG = "loss.terms.perceptual.weights=random"
_TINY_NETS = {
    "deblurgan": ["generator.ngf=8", "generator.n_blocks=2", "discriminator.ndf=8", _RANDOM_VGG],
    "deblurgan_keras": [
        "generator.ngf=8",
        "generator.n_blocks=2",
        "discriminator.ndf=8",
        _RANDOM_VGG,
    ],
    "unet_patchgan": [
        "generator.base_channels=8",
        "generator.depth=2",
        "generator.blocks_per_level=1",
        "discriminator.ndf=8",
        _RANDOM_VGG,
    ],
    "resnet_patchgan": [
        "generator.ngf=8",
        "generator.n_blocks=2",
        "discriminator.ndf=8",
        _RANDOM_VGG,
    ],
    "convdeconv_gan": [
        "generator.encoder_channels=[8,8,8]",
        "generator.decoder_channels=[8,8,8,8]",
        "discriminator.ndf=8",
    ],
    "cnn_baseline": ["generator.width=8", "generator.depth=3"],
}
TINY_RECIPES = {
    model: [f"model={model}", *_TINY_COMMON, *nets] for model, nets in _TINY_NETS.items()
}


def ddp_check_overrides(report: Path) -> list[str]:
    """A short DDP run (3 batches, 2 validation batches, no test) that ends by writing the
    ranks' parameter checksums to `report` (DDPConsistencyCheck)."""
    return [
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=3",
        "trainer.limit_val_batches=2",
        "test_after_fit=false",
        "callbacks.sample_grid=null",
        "+callbacks.ddp_check._target_=tests.systems.ddp_check.DDPConsistencyCheck",
        f"+callbacks.ddp_check.path={report}",
    ]


def read_metrics(out_dir: Path) -> list[dict[str, str]]:
    """Rows of the CSV logger's metrics.csv of a run."""
    import csv

    with open(out_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def make_gopro_tree(root: Path, *, size: tuple[int, int] = (64, 96), frames: int = 2) -> Path:
    """A small GOPRO_Large tree of real photographs (scikit-image) blurred with trajectory kernels.

    {train,test} x 2 sequences x `frames` frames of `size` (H, W); blur and blur_gamma hold
    the same blurred frame.
    """
    import numpy as np
    from skimage import data as skdata

    from restoregan.data.degradations import TrajectoryKernel, blur_image
    from restoregan.data.io import write_image

    photos = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    rng = np.random.default_rng(0)
    kernel = TrajectoryKernel(num_steps=500, max_length=20.0)
    h, w = size
    i = 0
    for split in ("train", "test"):
        for s, seq in enumerate(("GOPR0001_11_00", "GOPR0002_11_00")):
            for f in range(frames):
                photo = photos[(i + s) % len(photos)]
                top, left = 20 * f + 10 * s, 30 * f
                sharp = photo[top : top + h, left : left + w].astype(np.float32) / 255.0
                blurred = blur_image(sharp, kernel.sample(rng))
                name = f"{f + 1:06d}.png"
                write_image(
                    root / split / seq / "sharp" / name, (sharp * 255 + 0.5).astype(np.uint8)
                )
                for kind in ("blur", "blur_gamma"):
                    write_image(
                        root / split / seq / kind / name,
                        (np.clip(blurred, 0, 1) * 255 + 0.5).astype(np.uint8),
                    )
                i += 1
    return root
