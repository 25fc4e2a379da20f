"""Degradations: camera-shake blur kernels, convolution, and bicubic resizing.

All functions work on numpy arrays (``(H, W)`` or ``(H, W, C)``) and, where random,
draw from a caller-supplied ``numpy.random.Generator`` so that a seed fixes the result.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import sparse
from scipy.signal import fftconvolve

from restoregan.data.io import DatasetError

__all__ = [
    "TrajectoryKernel",
    "blur_image",
    "downsample_bicubic",
    "gaussian_kernel",
    "load_levin_kernels",
    "random_trajectory",
    "rasterise_trajectory",
    "resize_bicubic",
    "resize_like_pil",
    "resize_matrix",
]


def random_trajectory(
    rng: np.random.Generator,
    *,
    num_steps: int = 2000,
    max_length: float = 60.0,
    expl: float = 0.005,
) -> np.ndarray:
    """Random camera-shake trajectory after Boracchi & Foi (2012).

    A 2-D random walk (complex numbers, x + iy in pixels) whose every step has the same
    length ``max_length / (num_steps - 1)``, so the path is ``max_length`` long. Its
    direction changes by a centripetal pull back to the start (weight ``0.7 * U``), a
    Gaussian perturbation (``10 * U``) and, with probability ``0.2 * U * expl`` per
    step, an abrupt near-reversal ("big shake"); ``expl`` scales the impulsive terms.

    Returns:
        ``(num_steps,)`` complex128 positions, starting at 0.
    """
    step = max_length / (num_steps - 1)
    centripetal = 0.7 * rng.random()
    big_shake_prob = 0.2 * rng.random()
    gaussian_shake = 10.0 * rng.random()
    angle = 2.0 * math.pi * rng.random()
    # Drawn up front (not inside the loop) so one Generator state gives one trajectory
    # however the branches fall.
    shake_u = rng.random(num_steps - 1).tolist()
    turn_u = rng.random(num_steps - 1).tolist()
    noise = rng.standard_normal((num_steps - 1, 2)).tolist()

    v = complex(math.cos(angle), math.sin(angle)) * (expl if expl > 0 else step)
    x = [0j] * num_steps
    for t in range(num_steps - 1):
        shake = 0j
        if shake_u[t] < big_shake_prob * expl:
            # Turn back by pi +- 0.5 rad at twice the speed: the jerk of a hand correcting.
            shake = (
                2.0
                * v
                * complex(math.cos(math.pi + turn_u[t] - 0.5), math.sin(math.pi + turn_u[t] - 0.5))
            )
        gauss = complex(noise[t][0], noise[t][1])
        v += shake + expl * (gaussian_shake * gauss - centripetal * x[t]) * step
        v *= step / abs(v)
        x[t + 1] = x[t] + v
    return np.asarray(x)


def rasterise_trajectory(trajectory: np.ndarray, *, exposure: float = 1.0) -> np.ndarray:
    """Point-spread function of the first ``exposure`` fraction of a trajectory.

    Each trajectory sample is splatted bilinearly (sub-pixel) onto a pixel grid and the
    result is normalised to sum 1. The grid is the smallest odd square centred on the
    PSF's centre of mass (bilinear splatting preserves it exactly), so convolving with
    the kernel blurs without shifting the image.

    Returns:
        ``(k, k)`` float32 kernel, ``k`` odd, non-negative, sum 1.
    """
    if not 0.0 < exposure <= 1.0:
        raise ValueError(f"exposure must be in (0, 1], got {exposure}")
    samples = exposure * len(trajectory)
    count = max(1, math.ceil(samples))
    weights = np.ones(count)
    if samples < count and samples > count - 1:
        weights[-1] = samples - (count - 1)  # the last sample is only partly exposed
    points = trajectory[:count]
    points = points - (weights * points).sum() / weights.sum()
    radius = math.ceil(max(np.abs(points.real).max(), np.abs(points.imag).max())) + 1
    size = 2 * radius + 1
    col, row = points.real + radius, points.imag + radius
    c0, r0 = np.floor(col).astype(int), np.floor(row).astype(int)
    fc, fr = col - c0, row - r0
    psf = np.zeros((size, size))
    for dr, wr in ((0, 1.0 - fr), (1, fr)):
        for dc, wc in ((0, 1.0 - fc), (1, fc)):
            np.add.at(psf, (r0 + dr, c0 + dc), weights * wr * wc)
    return (psf / psf.sum()).astype(np.float32)


@dataclass(frozen=True)
class TrajectoryKernel:
    """Sampler of random motion-blur kernels (Boracchi & Foi 2012, as used by DeblurGAN).

    Args:
        num_steps: random-walk samples (reference: 2000).
        max_length: path length in pixels (reference: 60; the reference canvas is 64 px).
        expl: impulsive-shake strength; ``None`` draws it per kernel from
            ``U[expl_range]`` as the DeblurGAN reference does (0.005 recommended).
        expl_range: range for ``expl=None``.
        exposures: exposure fractions, one picked uniformly per kernel.
    """

    num_steps: int = 2000
    max_length: float = 60.0
    expl: float | None = 0.005
    expl_range: tuple[float, float] = (0.003, 0.01)
    exposures: tuple[float, ...] = (0.01, 0.1, 0.5, 1.0)

    def __post_init__(self) -> None:
        # Hydra passes lists as ListConfig; tuples of floats keep the sampler hashable and
        # its params() JSON-able.
        object.__setattr__(self, "expl_range", tuple(float(e) for e in self.expl_range))
        object.__setattr__(self, "exposures", tuple(float(e) for e in self.exposures))
        if not self.exposures or not all(0.0 < e <= 1.0 for e in self.exposures):
            raise ValueError(f"exposures must be fractions in (0, 1], got {self.exposures}")
        if self.num_steps < 2 or self.max_length <= 0:
            raise ValueError(f"need num_steps >= 2 and max_length > 0, got {self}")

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One ``(k, k)`` float32 kernel (odd ``k``, sum 1), deterministic given ``rng``."""
        expl = rng.uniform(*self.expl_range) if self.expl is None else self.expl
        exposure = float(rng.choice(self.exposures))
        trajectory = random_trajectory(
            rng, num_steps=self.num_steps, max_length=self.max_length, expl=expl
        )
        return rasterise_trajectory(trajectory, exposure=exposure)

    def params(self) -> dict:
        """Plain-dict form, for manifests that must change when a parameter does."""
        return {"type": "trajectory", **asdict(self)}


def gaussian_kernel(sigma: float, *, size: int | None = None) -> np.ndarray:
    """Isotropic Gaussian ``(size, size)`` float32 kernel summing to 1.

    ``size`` defaults to ``2 * ceil(3 * sigma) + 1`` (covers +-3 sigma).
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    size = size or 2 * math.ceil(3 * sigma) + 1
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-(t**2) / (2 * sigma**2))
    kernel = np.outer(g, g)
    return (kernel / kernel.sum()).astype(np.float32)


def load_levin_kernels(directory: str | os.PathLike) -> list[np.ndarray]:
    """The 8 camera-shake kernels of Levin et al. (2009), ``levin09_{1..8}.npy``.

    Returns:
        8 float32 2-D kernels (13x13 to 27x27), each renormalised to sum 1.
    """
    directory = Path(directory)
    paths = [directory / f"levin09_{i}.npy" for i in range(1, 9)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(
            f"Levin kernels not found in '{directory}': expected levin09_1.npy .. "
            f"levin09_8.npy (2-D float arrays), missing {', '.join(missing)}."
        )
    kernels = []
    for p in paths:
        k = np.load(p).astype(np.float32)
        if k.ndim != 2 or k.min() < 0 or k.sum() <= 0:
            raise DatasetError(f"'{p}' is not a blur kernel: expected a non-negative 2-D array.")
        kernels.append(k / k.sum())
    return kernels


def blur_image(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with ``kernel`` (FFT), keeping the image size.

    The border is extended by mirroring with the edge pixel repeated (numpy
    ``"symmetric"``, MATLAB ``imfilter(..., 'symmetric')``) so no dark frame creeps in.
    The kernel centre is index ``k // 2``, so a kernel centred there does not shift.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` float array in [0, 1].
        kernel: ``(kh, kw)`` float kernel.

    Returns:
        Same shape, float32, clipped to [0, 1].
    """
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"blur_image expects a float image in [0, 1], got {image.dtype}")
    kh, kw = kernel.shape
    # Padding of kh-1 rows split so that 'valid' output index i sees kernel centre kh//2.
    pad = [(kh - 1 - kh // 2, kh // 2), (kw - 1 - kw // 2, kw // 2)]
    # float32 FFTs are twice as fast; their ~1e-6 error is far below one 8-bit level.
    k = kernel.astype(np.float32)
    if image.ndim == 3:
        pad.append((0, 0))
        k = k[:, :, None]
    padded = np.pad(image.astype(np.float32), pad, mode="symmetric")
    out = fftconvolve(padded, k, mode="valid", axes=(0, 1))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _cubic(t: np.ndarray) -> np.ndarray:
    # Keys cubic convolution with a = -0.5, the kernel of MATLAB's imresize 'bicubic'.
    a = np.abs(t)
    return np.where(
        a <= 1,
        1.5 * a**3 - 2.5 * a**2 + 1,
        np.where(a < 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0.0),
    )


def resize_matrix(n_in: int, n_out: int) -> sparse.csr_matrix:
    """``(n_out, n_in)`` interpolation matrix of MATLAB-style antialiased bicubic resizing."""
    factor = n_out / n_in
    # Downscaling stretches the kernel by 1/factor: a low-pass filter that prevents aliasing.
    stretch = min(factor, 1.0)
    width = 4.0 / stretch
    u = np.arange(1, n_out + 1) / factor + 0.5 * (1 - 1 / factor)  # 1-based input coordinate
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based
    w = stretch * _cubic(stretch * (u[:, None] - idx))
    w /= w.sum(axis=1, keepdims=True)
    # Out-of-range taps mirror back with the edge repeated (symmetric boundary).
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    cols = mirror[np.mod(idx.astype(int) - 1, 2 * n_in)]
    rows = np.repeat(np.arange(n_out), taps)
    return sparse.csr_matrix((w.ravel(), (rows, cols.ravel())), shape=(n_out, n_in))


def resize_bicubic(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size = (height, width)`` like MATLAB ``imresize(img, size, 'bicubic')``.

    Keys cubic (a = -0.5), antialiased when shrinking (the kernel is widened by the
    shrink factor), symmetric boundary, height resized first. A uint8 image is rounded
    to 8 bits after each pass, as MATLAB does for uint8 input.

    Args:
        image: ``(H, W)`` or ``(H, W, C)``, uint8 or float in [0, 1].

    Returns:
        ``(height, width[, C])``: uint8 for uint8 input, otherwise float32 clipped to [0, 1].
    """
    h, w = image.shape[:2]
    out_h, out_w = size
    is_uint8 = image.dtype == np.uint8

    def finish(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x), 0, 255) if is_uint8 else x

    x = image.astype(np.float64).reshape(h, -1)
    x = finish(resize_matrix(h, out_h) @ x)
    x = x.reshape(out_h, w, -1).transpose(1, 0, 2).reshape(w, -1)
    x = finish(resize_matrix(w, out_w) @ x)
    x = x.reshape(out_w, out_h, -1).transpose(1, 0, 2).reshape((out_h, out_w, *image.shape[2:]))
    if is_uint8:
        return x.astype(np.uint8)
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def resize_like_pil(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size = (height, width)`` with PIL's ``BICUBIC`` filter.

    DeblurGAN's loader resizes GoPro frames this way (to 640x360) before cropping; PIL is
    also about 10x faster than :func:`resize_bicubic`, which matters in a loader. (The
    reference resizes blurred and sharp side by side in one image, so its filter mixes a
    few pixels across their shared edge; here each image is resized on its own.)

    Args:
        image: ``(H, W, 3)`` uint8, or ``(H, W)`` float (a mask: the result is clipped to
            [0, 1]).
    """
    height, width = size
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))
    resized = Image.fromarray(image.astype(np.float32)).resize(  # mode "F"
        (width, height), Image.BICUBIC
    )
    return np.clip(np.asarray(resized), 0.0, 1.0)


def downsample_bicubic(image: np.ndarray, scale: int) -> np.ndarray:
    """Shrink by an integer ``scale`` with :func:`resize_bicubic` (MATLAB ``imresize(img, 1/scale)``).

    This is the kernel used to make the DIV2K ``LR_bicubic`` and the Set5/Set14/BSD100
    LR images; on 8-bit images it reproduces the Set5 LR files except for about 0.05% of
    values that differ by 1 grey level (floating-point rounding ties), so treat it as a
    close, not bit-exact, match. Output size is ``ceil(H / scale) x ceil(W / scale)``.
    """
    h, w = image.shape[:2]
    return resize_bicubic(image, (math.ceil(h / scale), math.ceil(w / scale)))
