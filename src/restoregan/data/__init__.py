"""Image IO, degradations, datasets and datamodules.

Modules (import from them directly; this package re-exports nothing):

- ``io``: ``read_image`` / ``write_image`` / ``read_mask`` / kernels, ``DatasetError``.
- ``degradations``: trajectory blur kernels, ``blur_image``, MATLAB-style bicubic resizing.
- ``partial_blur``: random feathered region masks, Gaussian kernels, partial-blur synthesis.
- ``transforms``: item keys and ``(seed, epoch, index)`` generators, paired crops,
  albumentations flips/rotations/colour jitter on pair and mask.
- ``folders``: folder scanning, stem matching of pairs and masks.
- ``pairs``: ``PairedImageDataset``, ``DegradedPairDataset``.
- ``cache``: generated datasets on disk (manifest, atomic install).
- ``datamodule``: ``PairedDataModule``, the base of the datamodules below.
- ``demo``, ``gopro``, ``paired_folder``, ``partial_blur_data``, ``sr``, ``blur_lr``: one
  datamodule per ``conf/data`` file.
"""
