"""Partially blurred datasets (SR-GN's setting): sharp images of any source, random regions
blurred, generated once and cached with their masks and kernels.

Sources of sharp images (``source``) and how they split:

- ``demo``: the photographs bundled with scikit-image / scikit-learn (offline);
  ``val_photos`` are validation and test.
- ``gopro``: the sharp frames of ``GOPRO_Large`` (``root``), split like ``data=gopro``
  (``val_source``: held-out train sequences by default); test is the test split.
- ``div2k``: ``DIV2K_train_HR`` for training, ``DIV2K_valid_HR`` for validation and test.
- ``folder``: every image of ``root``; ``val_fraction`` of them held out (by image, with
  ``seed``) for validation and test.

Per image and variant ``k`` a Generator fixed by ``(seed, "<name>/<k>")`` draws the
regions (coverage from ``regions.coverage``), then the kernel (Gaussian, SR-GN's 70x70
setting as an odd 71x71, or a camera-shake trajectory): the same settings give the same
bytes. Layout under ``cache_dir``::

    manifest.json                     settings, and the item names of every split
    <split>/blur/<name>_<k>.png       partially blurred input
    <split>/sharp/<name>_<k>.png      the sharp image (hard link when unchanged)
    <split>/mask/<name>_<k>.png       8-bit blend weight, 255 = fully blurred
    <split>/kernel/<name>_<k>.npy     the kernel (float32, sums to 1)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torch.utils.data import Dataset

from restoregan.data.cache import build_cache, json_params, link_or_copy, read_manifest
from restoregan.data.datamodule import PairedDataModule, evenly_spaced
from restoregan.data.degradations import TrajectoryKernel
from restoregan.data.demo import DEMO_PHOTOS, load_demo_photo, shrink
from restoregan.data.folders import list_images, name_rng, require_dir
from restoregan.data.gopro import ValSource, gopro_split
from restoregan.data.io import DatasetError, read_image, write_image, write_kernel
from restoregan.data.pairs import PairedImageDataset
from restoregan.data.partial_blur import GaussianKernel, RegionMaskSampler, synthesize_partial_blur

__all__ = ["PartialBlurDataModule"]

Source = Literal["demo", "gopro", "div2k", "folder"]
SOURCES = ("demo", "gopro", "div2k", "folder")
#: Bump when the synthesis changes, so existing caches are regenerated.
VERSION = 1
SPLITS = ("train", "val", "test")
#: ``(name, path or None, loader)``: a sharp image; ``path`` when it is a file on disk.
SharpImage = tuple[str, Path | None, Callable[[], np.ndarray]]


def _files(paths: Sequence[tuple[Path, str]]) -> list[SharpImage]:
    return [(name, path, lambda p=path: read_image(p)) for path, name in paths]


def _folder(directory: Path) -> list[tuple[Path, str]]:
    images = list_images(directory)
    if not images:
        raise DatasetError(f"No images found in '{directory}' for data=partial_blur.")
    return [(p, p.name) for p in images.values()]


class PartialBlurDataModule(PairedDataModule):
    """Partially blurred -> sharp pairs with blur masks (see the module docstring).

    Items: ``input``, ``target``, ``name`` and ``mask`` ``(1, H, W)``; validation and test
    items also carry ``kernel``. Training crops and flips move the mask with the pair.
    ``prepare_data`` generates the cache (Lightning calls it on one process per node);
    ``setup`` raises if it is missing or was made with other settings.

    Args:
        source: ``demo``, ``gopro``, ``div2k`` or ``folder``.
        root: the source's folder (``GOPRO_Large``, the DIV2K folder, an image folder);
            unused for ``demo``.
        cache_dir: where the generated pairs go.
        kernel: ``"gaussian"`` or ``"motion"``: SR-GN's two settings.
        gaussian, motion: the two kernel samplers (size, sigma; trajectory parameters).
        regions: the region sampler (coverage range, shapes, feather width).
        max_side: shrink sharp images to this longest side first (``None``: keep).
        train_variants, val_variants: blurred versions per training / evaluation image.
        val_max_images, test_max_images: images of the validation / test split used and
            generated, spread evenly (``None``: all).
        photos, val_photos: ``demo`` only. val_source, val_sequences, split_sizes:
            ``gopro`` only (see :mod:`restoregan.data.gopro`). val_fraction: ``folder``.
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "deblur"

    def __init__(
        self,
        *,
        source: Source = "demo",
        root: str | None = None,
        cache_dir: str,
        kernel: Literal["gaussian", "motion"] = "gaussian",
        gaussian: GaussianKernel | None = None,
        motion: TrajectoryKernel | None = None,
        regions: RegionMaskSampler | None = None,
        max_side: int | None = None,
        train_variants: int = 1,
        val_variants: int = 1,
        val_max_images: int | None = 16,
        test_max_images: int | None = None,
        photos: Sequence[str] = DEMO_PHOTOS,
        val_photos: Sequence[str] = ("coffee", "flower"),
        val_source: ValSource = "train_sequences",
        val_sequences: int | Sequence[str] = 2,
        split_sizes: Sequence[int] = (1600, 300, 313),
        val_fraction: float = 0.1,
        seed: int = 0,
        **common: Any,
    ) -> None:
        super().__init__(seed=seed, **common)
        if source not in SOURCES:
            raise DatasetError(f"data.source must be one of {', '.join(SOURCES)}, got '{source}'.")
        if kernel not in ("gaussian", "motion"):
            raise DatasetError(f"data.kernel must be 'gaussian' or 'motion', got '{kernel}'.")
        if min(train_variants, val_variants) < 1:
            raise DatasetError("data.train_variants and data.val_variants must be >= 1.")
        self.cache_dir = Path(cache_dir)
        if kernel == "gaussian":
            self.sampler: GaussianKernel | TrajectoryKernel = gaussian or GaussianKernel()
        else:
            self.sampler = motion or TrajectoryKernel()
        self.regions = regions or RegionMaskSampler()
        self.source = source
        self.root = root
        # Hydra hands lists over as ListConfig; plain values keep the manifest JSON-able.
        self.source_options = json_params(
            {
                "seed": seed,
                "photos": list(photos),
                "val_photos": list(val_photos),
                "val_source": val_source,
                "val_sequences": val_sequences
                if isinstance(val_sequences, int)
                else list(val_sequences),
                "split_sizes": list(split_sizes),
                "val_fraction": val_fraction,
            }
        )
        self.limits = {"val": val_max_images, "test": test_max_images}
        self.variants = {"train": train_variants, "val": val_variants, "test": val_variants}
        self.max_side = max_side
        self.seed = seed

    def params(self) -> dict:
        """Everything that decides the cached pixels, as stored in the manifest."""
        return json_params(
            {
                "kind": "restoregan-partial-blur",
                "version": VERSION,
                "source": self.source,
                "root": None if self.root is None else str(Path(self.root).expanduser().resolve()),
                "options": self.source_options,
                "limits": self.limits,
                "variants": self.variants,
                "max_side": self.max_side,
                "regions": self.regions.params(),
                "kernel": self.sampler.params(),
            }
        )

    def sharp_images(self) -> dict[str, list[SharpImage]]:
        """The sharp images of each split (``train``, ``val``, ``test``) of the source."""
        source, root, o = self.source, self.root, self.source_options
        if source == "demo":
            if not set(o["val_photos"]) < set(o["photos"]):
                raise DatasetError(
                    f"val_photos {o['val_photos']} must be a strict subset of photos {o['photos']}."
                )
            demo = {p: (p + ".png", None, lambda p=p: load_demo_photo(p)) for p in o["photos"]}
            val = [demo[p] for p in o["photos"] if p in o["val_photos"]]
            return {
                "train": [demo[p] for p in o["photos"] if p not in o["val_photos"]],
                "val": val,
                "test": val,
            }
        if root is None:
            raise DatasetError(f"data=partial_blur with source={source} needs data.root.")
        if source == "gopro":
            parts = gopro_split(
                root,
                val_source=o["val_source"],
                val_sequences=o["val_sequences"],
                split_sizes=o["split_sizes"],
                seed=o["seed"],
            )
            return {s: _files([(p[1], p[2]) for p in getattr(parts, s)]) for s in SPLITS}
        if source == "div2k":
            layout = "  <root>/DIV2K_train_HR/*.png and <root>/DIV2K_valid_HR/*.png"
            base = require_dir(root, "DIV2K root", layout)
            valid = _folder(require_dir(base / "DIV2K_valid_HR", "DIV2K valid HR folder", layout))
            train = _folder(require_dir(base / "DIV2K_train_HR", "DIV2K train HR folder", layout))
            return {"train": _files(train), "val": _files(valid), "test": _files(valid)}
        if source == "folder":
            images = _folder(require_dir(root, "Sharp-image folder", "  <root>/<image>.png"))
            val_fraction = o["val_fraction"]
            n_val = max(1, round(val_fraction * len(images)))
            if not 0 < val_fraction < 1 or n_val >= len(images):
                raise DatasetError(
                    f"{len(images)} image(s) in '{root}' cannot be split with "
                    f"val_fraction={val_fraction}; add images or change data.val_fraction."
                )
            held = set(np.random.default_rng(o["seed"]).permutation(len(images))[:n_val].tolist())
            val = [im for i, im in enumerate(images) if i in held]
            train = [im for i, im in enumerate(images) if i not in held]
            return {"train": _files(train), "val": _files(val), "test": _files(val)}
        raise DatasetError(f"data.source must be one of {', '.join(SOURCES)}, got '{source}'.")

    def prepare_data(self) -> None:
        build_cache(self.cache_dir, self.params(), self._write, what="partial-blur")

    def _write(self, tmp: Path) -> dict:
        sources = self.sharp_images()
        items: dict[str, list[str]] = {}
        for split in SPLITS:
            images = evenly_spaced(sources[split], self.limits.get(split))
            items[split] = []
            for name, path, load in images:
                items[split] += self._write_image(tmp / split, name, path, load, split)
        return {"items": items}

    def _write_image(
        self, out: Path, name: str, path: Path | None, load: Callable[[], np.ndarray], split: str
    ) -> list[str]:
        full = load()
        sharp = full if self.max_side is None else shrink(full, self.max_side)
        stem = str(Path(name).with_suffix(""))
        names = []
        for k in range(self.variants[split]):
            item = f"{stem}_{k}.png"
            rng = name_rng(self.seed, f"{name}/{k}")
            blurred, mask, kernel = synthesize_partial_blur(
                sharp, rng, masks=self.regions, kernel=self.sampler
            )
            write_image(out / "blur" / item, blurred, png_compression=1)
            write_image(out / "mask" / item, np.rint(mask * 255).astype(np.uint8))
            write_kernel(out / "kernel" / f"{stem}_{k}.npy", kernel)
            if k > 0 or (path is not None and path.suffix.lower() == ".png" and sharp is full):
                # Same pixels as a file that exists already: link instead of re-encoding.
                first = out / "sharp" / f"{stem}_0.png" if k > 0 else path
                link_or_copy(first, out / "sharp" / item)
            else:
                write_image(out / "sharp" / item, sharp, png_compression=1)
            names.append(item)
        return names

    def _dataset(self, split: str, *, train: bool) -> Dataset:
        manifest = read_manifest(self.cache_dir)
        if manifest is None or manifest["params"] != self.params():
            raise DatasetError(
                f"Partial-blur data at '{self.cache_dir}' is missing or was generated with other "
                f"settings (source, seed, kernel, regions). Call "
                f"PartialBlurDataModule.prepare_data() first (the Lightning Trainer does)."
            )
        base = self.cache_dir / split
        names = manifest["items"][split]
        pairs = [(base / "blur" / n, base / "sharp" / n, n) for n in names]
        masks = [base / "mask" / n for n in names]
        if train:
            return PairedImageDataset(
                pairs=pairs,
                masks=masks,
                train=True,
                crop_size=self.crop_size,
                seed=self.seed,
                **self.augment,
            )
        kernels = [base / "kernel" / f"{os.path.splitext(n)[0]}.npy" for n in names]
        return PairedImageDataset(
            pairs=pairs, masks=masks, kernel_files=kernels, train=False, eval_crop=self.eval_crop
        )

    def build_train(self) -> Dataset:
        return self._dataset("train", train=True)

    def build_val(self) -> Dataset:
        return self._dataset("val", train=False)

    def build_test(self) -> Dataset:
        return self._dataset("test", train=False)
