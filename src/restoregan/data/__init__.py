"""Image IO, degradations, datasets and datamodules.

Modules (import from them directly; this package re-exports nothing):

- ``io``: ``read_image`` / ``write_image`` / ``to_tensor`` / ``to_uint8``, ``DatasetError``.
- ``degradations``: trajectory blur kernels, ``blur_image``, MATLAB-style bicubic resizing.
- ``transforms``: paired crops, flips/rotations and colour jitter (torch RNG only).
- ``pairs``: ``PairedImageDataset``, ``DegradedPairDataset``, folder scanning.
- ``datamodule``: ``PairedDataModule``, the base of the datamodules below.
- ``demo``, ``gopro``, ``paired_folder``, ``sr``, ``blur_lr``: one datamodule per ``conf/data`` file.
"""
