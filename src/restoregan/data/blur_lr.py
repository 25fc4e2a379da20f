"""Blurred low-resolution inputs with sharp high-resolution targets (deblur + SR chains).

The input is ``downsample_bicubic(blur(source, k), scale)`` and the target is the HR image,
so one network (or the Dual-GAN chain DeblurGAN -> ESRGAN) must undo both. With
``target="lr"`` the target is the sharp image at the input's resolution instead,
``downsample_bicubic(HR, scale)``: the pairs the deblurring stage of such a chain trains
on. Sources:

- ``folder``: HR images of a folder (e.g. Set5/HR); ``k`` is synthetic.
- ``gopro``: GoPro frames; source = the real blurred frame, target = its sharp partner
  (1280x720 -> 320x180 inputs at x4). Use ``kernel: none`` to keep only the real blur.
  Validation holds out whole train sequences by default, as ``data=gopro`` does
  (``val_source``, ``val_sequences``: see :mod:`restoregan.data.gopro`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from torch.utils.data import Dataset

from restoregan.data.datamodule import PairedDataModule, evenly_spaced
from restoregan.data.degradations import TrajectoryKernel, load_levin_kernels
from restoregan.data.folders import require_dir
from restoregan.data.gopro import BlurType, ValSource, gopro_split
from restoregan.data.gpu_degrade import degrade_batch
from restoregan.data.io import DatasetError
from restoregan.data.pairs import DegradedPairDataset, KernelSource
from restoregan.data.sr import hr_only_pairs

__all__ = ["BlurLRDataModule"]

_FOLDER_LAYOUT = """\
  <root>/<image>.png          HR images for validation/test (e.g. .../sr/Set5/HR)
  <train_root>/<image>.png    HR images for training (optional)"""


class BlurLRDataModule(PairedDataModule):
    """Blur + bicubic x``scale`` inputs, HR (or sharp LR) targets, deterministic per image
    for a seed.

    Evaluation kernels are fixed per image by ``(seed, name)``; training draws fresh
    kernels from each item's ``(seed, epoch, index)`` stream. Training crops are ``crop_size`` on the target side.

    Args:
        source: ``"folder"`` or ``"gopro"`` (see the module docstring).
        root: ``folder``: the evaluation HR folder; ``gopro``: ``GOPRO_Large``.
        train_root: ``folder`` only: HR folder for training (``None``: no training).
        scale: downsampling factor (4: input is 1/4 of the HR size).
        target: ``"hr"``: the sharp HR image (the module's ``scale`` is ``scale``, protocol
            ``sr``); ``"lr"``: the sharp image downsampled like the input (``scale`` 1,
            protocol ``deblur``; ``crop_size``/``eval_crop`` are then LR-side).
        kernel: ``"trajectory"`` (random camera shake), ``"levin"`` (the 8 Levin et al.
            kernels from ``kernels_dir``, one picked per image) or ``"none"``.
        kernels_dir: folder of ``levin09_{1..8}.npy`` for ``kernel="levin"``.
        trajectory: kernel sampler for ``kernel="trajectory"`` (default parameters if None).
        blur_type: ``gopro`` only: ``linear`` or ``gamma`` blurred frames.
        val_source, val_sequences: ``gopro`` only: where validation frames come from.
        eval_crop: HR centre crop for validation/test; ``None`` = full images.
        val_max_images: validation subset size (``None`` = all); test uses all images.
        degrade_on: ``"cpu"`` (default) or ``"gpu"``: training blur applied on the batch on
            the model's device (:mod:`restoregan.data.gpu_degrade`; ``target="hr"``).
        Others (crops, batch size, workers, augmentation): see :class:`PairedDataModule`.
    """

    protocol = "sr"

    def __init__(
        self,
        *,
        source: Literal["folder", "gopro"] = "folder",
        root: str,
        train_root: str | None = None,
        scale: int = 4,
        target: Literal["hr", "lr"] = "hr",
        kernel: Literal["trajectory", "levin", "none"] = "trajectory",
        kernels_dir: str | None = None,
        trajectory: TrajectoryKernel | None = None,
        blur_type: BlurType = "linear",
        val_source: ValSource = "train_sequences",
        val_sequences: int | list[str] = 2,
        val_max_images: int | None = 16,
        degrade_on: Literal["cpu", "gpu"] = "cpu",
        seed: int = 0,
        **common: Any,
    ) -> None:
        if source not in ("folder", "gopro"):
            raise DatasetError(f"blur_lr source must be 'folder' or 'gopro', got '{source}'.")
        if kernel not in ("trajectory", "levin", "none"):
            raise DatasetError(f"kernel must be 'trajectory', 'levin' or 'none', got '{kernel}'.")
        if kernel == "levin" and kernels_dir is None:
            raise DatasetError("kernel='levin' needs kernels_dir (the folder of levin09_*.npy).")
        if target not in ("hr", "lr"):
            raise DatasetError(f"blur_lr target must be 'hr' or 'lr', got '{target}'.")
        # The contract's scale is target size / input size.
        super().__init__(
            seed=seed, scale=scale if target == "hr" else 1, **{"crop_size": 128, **common}
        )
        self.target = target
        self.factor = scale
        if target == "lr":
            self.protocol = "deblur"
        self.source = source
        self.root = Path(root)
        self.train_root = None if train_root is None else Path(train_root)
        self.kernel = kernel
        self.kernels_dir = kernels_dir
        self.trajectory = trajectory or TrajectoryKernel()
        self.blur_type = blur_type
        self.val_source = val_source
        self.val_sequences = (
            val_sequences if isinstance(val_sequences, int) else list(val_sequences)
        )
        self.val_max_images = val_max_images
        self.degrade_on = degrade_on

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        # degrade_on=gpu: training batches arrive sharp with their kernels; degrade them here,
        # on the device, so the system sees the usual input/target batch.
        return degrade_batch(batch, self.factor) if isinstance(batch, dict) else batch

    def _kernels(self) -> KernelSource:
        if self.kernel == "levin":
            return load_levin_kernels(self.kernels_dir)
        return self.trajectory if self.kernel == "trajectory" else None

    def _pairs(self, split: Literal["train", "val", "test"]) -> list:
        if self.source == "gopro":
            parts = gopro_split(
                self.root,
                blur_type=self.blur_type,
                val_source=self.val_source,
                val_sequences=self.val_sequences,
                seed=self.seed,
            )
            self.split_info = parts.info
            return getattr(parts, split)
        if split == "train":
            if self.train_root is None:
                raise DatasetError(
                    "blur_lr with source=folder has no training images: set data.train_root "
                    f"to a folder of HR images. Expected layout:\n{_FOLDER_LAYOUT}"
                )
            return hr_only_pairs(require_dir(self.train_root, "HR training folder", _FOLDER_LAYOUT))
        return hr_only_pairs(require_dir(self.root, "HR image folder", _FOLDER_LAYOUT))

    def _dataset(self, pairs: list, *, train: bool) -> Dataset:
        # Datasets take HR-side crops; the module's are target-side (LR for target="lr").
        k = 1 if self.target == "hr" else self.factor
        return DegradedPairDataset(
            pairs=pairs,
            downsample_target=self.target == "lr",
            kernels=self._kernels(),
            seed=self.seed,
            scale=self.factor,
            train=train,
            crop_size=self.crop_size and self.crop_size * k,
            eval_crop=self.eval_crop and self.eval_crop * k,
            degrade_on=self.degrade_on if train else "cpu",
            **(self.augment if train else {}),
        )

    def build_train(self) -> Dataset:
        return self._dataset(self._pairs("train"), train=True)

    def build_val(self) -> Dataset:
        return self._dataset(evenly_spaced(self._pairs("val"), self.val_max_images), train=False)

    def build_test(self) -> Dataset:
        return self._dataset(self._pairs("test"), train=False)
