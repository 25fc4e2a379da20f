"""The embedded demo dataset: photographs shipped inside scikit-image and scikit-learn,
blurred with random camera-shake kernels, generated once and cached as PNG pairs.

It needs no download, so ``python src/train.py`` runs out of the box. Layout under ``root``::

    manifest.json                      what was generated (seed, version, kernel params)
    train/{blur,sharp}/<photo>_<k>.png k = 0 .. train_variants-1 (a different kernel each)
    train/kernel/<photo>_<k>.npy       the kernel of that pair (float32, sums to 1)
    val/{blur,sharp}/<photo>_<k>.png   held-out photographs (split by image, not by crop)
    val/kernel/<photo>_<k>.npy

Validation and test items carry their true ``kernel`` (for non-blind baselines).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from restoregan.data.cache import build_cache, json_params, link_or_copy, read_params
from restoregan.data.datamodule import PairedDataModule
from restoregan.data.degradations import TrajectoryKernel, blur_image, resize_bicubic
from restoregan.data.folders import match_by_stem, name_rng
from restoregan.data.io import DatasetError, write_image, write_kernel
from restoregan.data.pairs import PairedImageDataset

__all__ = ["DEMO_PHOTOS", "DemoDataModule", "load_demo_photo", "synthesize_demo"]

#: Bump when the synthesis changes, so existing caches are regenerated (2: kernels saved).
DEMO_VERSION = 2
#: Colour photographs bundled with the libraries (grayscale and synthetic images left out;
#: ``skimage.data.cat`` is ``chelsea`` again).
DEMO_PHOTOS: tuple[str, ...] = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "china",  # scikit-learn sample images
    "flower",
)
_KIND = "restoregan-demo"


def load_demo_photo(name: str) -> np.ndarray:
    """One bundled photograph as ``(H, W, 3)`` uint8 RGB (read from the installed package)."""
    if name not in DEMO_PHOTOS:
        raise DatasetError(
            f"Unknown demo photograph '{name}'; choose from {', '.join(DEMO_PHOTOS)}."
        )
    # Imported here, not at the top: scikit-learn and scikit-image's data module take
    # seconds to import and are needed only the first time the demo data is synthesised.
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(f"{name}.jpg"), dtype=np.uint8)
    import skimage.data

    return np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)[..., :3]


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    f = max_side / max(h, w)
    return resize_bicubic(image, (round(h * f), round(w * f)))


def _manifest_params(
    *,
    seed: int,
    max_side: int,
    train_variants: int,
    val_variants: int,
    val_photos: Sequence[str],
    photos: Sequence[str],
    kernel: TrajectoryKernel,
) -> dict:
    return {
        "kind": _KIND,
        "version": DEMO_VERSION,
        "seed": seed,
        "max_side": max_side,
        "train_variants": train_variants,
        "val_variants": val_variants,
        "val_photos": list(val_photos),
        "photos": list(photos),
        "kernel": {k: list(v) if isinstance(v, tuple) else v for k, v in kernel.params().items()},
    }


def synthesize_demo(
    root: str | os.PathLike,
    *,
    seed: int = 0,
    max_side: int = 512,
    train_variants: int = 4,
    val_variants: int = 2,
    val_photos: Sequence[str] = ("coffee", "flower"),
    photos: Sequence[str] = DEMO_PHOTOS,
    kernel: TrajectoryKernel | None = None,
) -> Path:
    """Generate the demo pairs under ``root`` unless an identical set is already there.

    Each photograph is shrunk to ``max_side`` on its longest side (MATLAB-style bicubic;
    keeps synthesis to seconds and crops meaningful), then blurred with
    ``train_variants`` (or ``val_variants``) trajectory kernels drawn from a Generator
    fixed by ``(seed, "<photo>/<k>")``: the same arguments give byte-identical PNGs.

    Safe under concurrency (DDP ranks, several jobs): everything is written to a
    temporary sibling folder that is renamed into place; a process that loses the race
    keeps the winner's copy. A stale cache (different parameters) is replaced; a
    non-empty ``root`` without a demo manifest is never deleted.

    Returns:
        ``root`` as a Path.
    """
    root = Path(root).expanduser()
    kernel = kernel or TrajectoryKernel()
    unknown = sorted(set(val_photos) - set(photos))
    if unknown or len(set(photos) - set(val_photos)) == 0:
        raise DatasetError(
            f"Demo val_photos {list(val_photos)} must be a strict subset of photos {list(photos)}."
        )
    params = _manifest_params(
        seed=seed,
        max_side=max_side,
        train_variants=train_variants,
        val_variants=val_variants,
        val_photos=val_photos,
        photos=photos,
        kernel=kernel,
    )

    def write(tmp: Path) -> dict:
        counts = {"train": 0, "val": 0}
        for photo in photos:
            split = "val" if photo in val_photos else "train"
            sharp = shrink(load_demo_photo(photo), max_side)
            sharp_float = sharp.astype(np.float32) / 255.0
            first_sharp = None
            for k in range(val_variants if split == "val" else train_variants):
                name = f"{photo}_{k}.png"
                kernel_k = kernel.sample(name_rng(seed, f"{photo}/{k}"))
                blur = blur_image(sharp_float, kernel_k)
                write_image(
                    tmp / split / "blur" / name,
                    np.rint(blur * 255.0).astype(np.uint8),
                    png_compression=1,
                )
                write_kernel(tmp / split / "kernel" / f"{photo}_{k}.npy", kernel_k)
                sharp_path = tmp / split / "sharp" / name
                if first_sharp is None:
                    write_image(sharp_path, sharp, png_compression=1)
                    first_sharp = sharp_path
                else:
                    link_or_copy(first_sharp, sharp_path)  # same pixels: skip re-encoding
                counts[split] += 1
        return {"pairs": counts}

    return build_cache(root, params, write, what="demo")


class DemoDataModule(PairedDataModule):
    """The embedded demo deblurring dataset (see the module docstring).

    With the defaults: 9 photographs, 7 for training x 4 kernels = 28 pairs, 2 held out
    for validation x 2 kernels = 4 pairs; test uses the validation pairs.
    ``prepare_data`` generates the cache (Lightning calls it on one process per node);
    ``setup`` raises if it is missing or was made with other parameters.

    Args:
        root: cache folder (default config: ``${paths.data_dir}/demo``).
        seed: fixes the kernels; a new seed regenerates the cache.
        max_side, train_variants, val_variants, val_photos, photos, kernel: see
            :func:`synthesize_demo`.
        eval_crop: target-side centre crop for validation; ``None`` = full frames.
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "deblur"

    def __init__(
        self,
        *,
        root: str,
        seed: int = 0,
        max_side: int = 512,
        train_variants: int = 4,
        val_variants: int = 2,
        val_photos: Sequence[str] = ("coffee", "flower"),
        photos: Sequence[str] = DEMO_PHOTOS,
        kernel: TrajectoryKernel | None = None,
        **common: Any,
    ) -> None:
        super().__init__(seed=seed, **{"batch_size": 4, "num_workers": 2, **common})
        self.root = Path(root)
        # Hydra hands lists over as ListConfig; plain tuples keep the manifest JSON-able.
        self.synthesis = {
            "seed": seed,
            "max_side": max_side,
            "train_variants": train_variants,
            "val_variants": val_variants,
            "val_photos": tuple(str(p) for p in val_photos),
            "photos": tuple(str(p) for p in photos),
            "kernel": kernel or TrajectoryKernel(),
        }

    def prepare_data(self) -> None:
        synthesize_demo(self.root, **self.synthesis)

    def _pairs(self, split: str) -> list:
        if read_params(self.root) != json_params(_manifest_params(**self.synthesis)):
            raise DatasetError(
                f"Demo data at '{self.root}' is missing or was generated with other parameters "
                f"(seed, sizes, kernels). Call DemoDataModule.prepare_data() first (the "
                f"Lightning Trainer does), or restoregan.data.demo.synthesize_demo(root, ...)."
            )
        return match_by_stem(self.root / split / "blur", self.root / split / "sharp")

    def _kernels(self, pairs: list) -> list[Path]:
        return [self.root / "val" / "kernel" / f"{Path(n).stem}.npy" for _, _, n in pairs]

    def build_train(self) -> Dataset:
        return PairedImageDataset(
            pairs=self._pairs("train"),
            train=True,
            crop_size=self.crop_size,
            seed=self.seed,
            **self.augment,
        )

    def build_val(self) -> Dataset:
        pairs = self._pairs("val")
        return PairedImageDataset(
            pairs=pairs, train=False, eval_crop=self.eval_crop, kernel_files=self._kernels(pairs)
        )

    def build_test(self) -> Dataset:
        return self.build_val()
