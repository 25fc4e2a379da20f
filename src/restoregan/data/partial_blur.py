"""Partial blur synthesis: blur random regions of a sharp image and record where.

SR-GN (Khmag & Ramlee) trains and tests on sharp GoPro frames of which only some parts
are blurred, with a 70x70 Gaussian kernel (OpenCV) or DeblurGAN's camera-shake kernels.
Per image this module draws a set of regions (ellipses, polygons, free-form strokes),
feathers their edge, blurs the whole image with one kernel and blends:

    blurred = kernel * sharp  on  mask,   sharp  off it:  out = b * m + s * (1 - m)

so the mask records the blend weight in [0, 1] (1 = blurred). Everything is pure numpy
and draws only from the caller's ``numpy.random.Generator``: a seed fixes the regions,
the kernel and the image.

Coverage (the mask's mean) is drawn uniformly from a range per image. Shapes are added
until their union reaches it; then the feathered edge is moved in or out (a level set of
the signed distance to the union's boundary) so the mean of the final, 8-bit-quantised
mask is the drawn coverage. The edge ramp is a smoothstep over ``feather`` pixels, so the
blend has no seam: the weight changes by at most ``1.5 / feather`` between neighbours,
and it is exactly 0 (the sharp pixels, bit for bit) and exactly 1 away from edges.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

import numpy as np
from scipy import ndimage
from skimage import draw

from restoregan.data.degradations import TrajectoryKernel, blur_image, gaussian_kernel
from restoregan.data.io import DatasetError

__all__ = [
    "GaussianKernel",
    "PartialBlur",
    "RegionMaskSampler",
    "blend",
    "make_kernel_sampler",
    "synthesize_partial_blur",
]

SHAPES = ("ellipse", "polygon", "stroke")


@dataclass(frozen=True)
class RegionMaskSampler:
    """Random feathered region masks.

    Args:
        coverage: ``(low, high)``: each mask's mean is drawn from ``U[low, high]``.
        shapes: kinds of region to draw from, one picked uniformly per region.
        feather: width in pixels of the smooth edge ramp (0: a hard 0/1 mask).
        max_shapes: most regions per mask (shapes are added until the coverage is met).
    """

    coverage: tuple[float, float] = (0.2, 0.6)
    shapes: tuple[str, ...] = SHAPES
    feather: float = 16.0
    max_shapes: int = 8

    def __post_init__(self) -> None:
        # Hydra passes lists as ListConfig; tuples keep the sampler hashable and JSON-able.
        object.__setattr__(self, "coverage", tuple(float(c) for c in self.coverage))
        object.__setattr__(self, "shapes", tuple(str(s) for s in self.shapes))
        low, high = self.coverage if len(self.coverage) == 2 else (-1.0, -1.0)
        if not 0.0 < low <= high < 1.0:
            raise ValueError(
                f"partial blur coverage must be (low, high) with 0 < low <= high < 1, got "
                f"{self.coverage}; the default is (0.2, 0.6)"
            )
        unknown = [s for s in self.shapes if s not in SHAPES]
        if not self.shapes or unknown:
            raise ValueError(
                f"partial blur shapes must be a non-empty subset of {SHAPES}, got {self.shapes}"
            )
        if self.feather < 0 or self.max_shapes < 1:
            raise ValueError(f"need feather >= 0 and max_shapes >= 1, got {self}")

    def sample(self, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        """``(H, W)`` float32 mask in [0, 1], values on the 8-bit grid (k / 255)."""
        h, w = size
        target = rng.uniform(*self.coverage)
        union = np.zeros((h, w), bool)
        for _ in range(self.max_shapes):
            missing = target - union.mean()
            if missing <= 0:
                break
            # Each region takes a random share of what is missing, at least 1 % of the image.
            area = max(missing * rng.uniform(0.4, 1.0), 0.01) * h * w
            kind = self.shapes[rng.integers(len(self.shapes))]
            union |= _DRAW[kind](rng, (h, w), area)
        if not union.any():
            union[rng.integers(h), rng.integers(w)] = True
        if union.all():
            union[rng.integers(h), rng.integers(w)] = False
        signed = np.where(
            union,
            ndimage.distance_transform_edt(union) - 0.5,
            0.5 - ndimage.distance_transform_edt(~union),
        )
        return _fit_level(signed, self.feather, target)

    def params(self) -> dict:
        """Plain-dict form, for manifests that must change when a parameter does."""
        return {"type": "regions", **asdict(self)}


def _ramp(signed: np.ndarray, feather: float, offset: float) -> np.ndarray:
    """8-bit-quantised smoothstep of the signed distance shifted by ``offset``."""
    if feather == 0:
        return (signed + offset > 0).astype(np.float32)
    u = np.clip(0.5 + (signed + offset) / feather, 0.0, 1.0)
    return (np.round(u * u * (3.0 - 2.0 * u) * 255.0) / 255.0).astype(np.float32)


def _fit_level(signed: np.ndarray, feather: float, target: float) -> np.ndarray:
    """Bisect the edge offset so that the mask's mean is ``target`` (it grows with it).

    Soft masks reach it to ~1e-5; a hard mask (``feather=0``) moves in whole rings of
    pixels at equal distance, so its mean lands within one ring of ``target``.
    """
    reach = float(max(signed.shape)) + feather
    low, high = -reach, reach
    for _ in range(32):  # 2 * reach / 2**32: far below a pixel
        middle = 0.5 * (low + high)
        if _ramp(signed, feather, middle).mean() < target:
            low = middle
        else:
            high = middle
    below, above = _ramp(signed, feather, low), _ramp(signed, feather, high)
    return below if target - below.mean() < above.mean() - target else above


def _centre(rng: np.random.Generator, size: tuple[int, int]) -> tuple[float, float]:
    return rng.uniform(0, size[0]), rng.uniform(0, size[1])


def _ellipse(rng: np.random.Generator, size: tuple[int, int], area: float) -> np.ndarray:
    ratio = rng.uniform(0.3, 1.0)
    a = math.sqrt(area / (math.pi * ratio))
    r, c = _centre(rng, size)
    out = np.zeros(size, bool)
    out[draw.ellipse(r, c, a, a * ratio, shape=size, rotation=rng.uniform(-math.pi, math.pi))] = (
        True
    )
    return out


def _polygon(rng: np.random.Generator, size: tuple[int, int], area: float) -> np.ndarray:
    """A random star-shaped polygon: vertices at sorted angles and random radii."""
    n = int(rng.integers(3, 10))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = rng.uniform(0.4, 1.0, n)
    # Scale the radii so the polygon's area (shoelace formula) is the requested one.
    x, y = radii * np.cos(angles), radii * np.sin(angles)
    unit_area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    scale = math.sqrt(area / max(unit_area, 1e-6))
    r, c = _centre(rng, size)
    out = np.zeros(size, bool)
    out[draw.polygon(r + scale * y, c + scale * x, shape=size)] = True
    return out


def _stroke(rng: np.random.Generator, size: tuple[int, int], area: float) -> np.ndarray:
    """A thick free-form stroke: a random polyline, widened by a distance threshold."""
    radius = max(rng.uniform(0.03, 0.08) * min(size), 1.0)
    length = area / (2 * radius)
    segments = int(rng.integers(2, 6))
    r, c = _centre(rng, size)
    heading = rng.uniform(0, 2 * math.pi)
    line = np.zeros(size, bool)
    for _ in range(segments):
        heading += rng.uniform(-1.2, 1.2)
        r2 = r + length / segments * math.sin(heading)
        c2 = c + length / segments * math.cos(heading)
        rows, cols = draw.line(round(r), round(c), round(r2), round(c2))
        inside = (rows >= 0) & (rows < size[0]) & (cols >= 0) & (cols < size[1])
        line[rows[inside], cols[inside]] = True
        r, c = r2, c2
    if not line.any():  # the whole stroke left the image
        return line
    return ndimage.distance_transform_edt(~line) <= radius


_DRAW = {"ellipse": _ellipse, "polygon": _polygon, "stroke": _stroke}


@dataclass(frozen=True)
class GaussianKernel:
    """Isotropic Gaussian blur kernels, SR-GN's "additive Gaussian" setting.

    Args:
        size: kernel side. The paper says 70x70 with OpenCV, whose Gaussian blur only
            accepts odd sizes; an even kernel has no centre pixel and would shift the
            blurred region by half a pixel against the sharp part, so 71.
        sigma: standard deviation; ``(low, high)`` draws one per kernel; ``None`` takes
            OpenCV's rule for ``sigma=0``, ``0.3 * ((size - 1) / 2 - 1) + 0.8`` (11.0 at
            71), since the paper gives a size but no sigma.
    """

    size: int = 71
    sigma: float | tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.sigma is not None and not isinstance(self.sigma, int | float):
            object.__setattr__(self, "sigma", tuple(float(s) for s in self.sigma))
        if self.size < 3 or self.size % 2 == 0:
            raise ValueError(
                f"GaussianKernel size must be odd and >= 3 (an even kernel shifts the "
                f"blurred region by half a pixel), got {self.size}; SR-GN's 70 becomes 71"
            )

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One ``(size, size)`` float32 kernel summing to 1."""
        if self.sigma is None:
            sigma = 0.3 * ((self.size - 1) * 0.5 - 1) + 0.8
        elif isinstance(self.sigma, tuple):
            sigma = rng.uniform(*self.sigma)
        else:
            sigma = float(self.sigma)
        return gaussian_kernel(sigma, size=self.size)

    def params(self) -> dict:
        """Plain-dict form, for manifests that must change when a parameter does."""
        return {"type": "gaussian", **asdict(self)}


KernelSampler = GaussianKernel | TrajectoryKernel


def make_kernel_sampler(kind: Literal["gaussian", "motion"], **kwargs: object) -> KernelSampler:
    """SR-GN's two settings: ``"gaussian"`` (`GaussianKernel`) or ``"motion"`` (DeblurGAN's
    camera-shake `TrajectoryKernel`); ``kwargs`` go to the sampler."""
    if kind == "gaussian":
        return GaussianKernel(**kwargs)
    if kind == "motion":
        return TrajectoryKernel(**kwargs)
    raise ValueError(f"partial blur kernel must be 'gaussian' or 'motion', got {kind!r}")


class PartialBlur(NamedTuple):
    """One synthesised input: ``blurred`` like the sharp image (uint8), ``mask`` ``(H, W)``
    float32 in [0, 1] (1 = blurred, 8-bit grid, so a PNG stores it exactly), ``kernel``."""

    blurred: np.ndarray
    mask: np.ndarray
    kernel: np.ndarray


def blend(sharp: np.ndarray, blurred: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``round(blurred * m + sharp * (1 - m))`` as uint8.

    Args:
        sharp: ``(H, W[, C])`` uint8.
        blurred: the same shape, float on 0..255.
        mask: ``(H, W)`` in [0, 1]; where it is 0 the result is ``sharp`` exactly.
    """
    m = mask[..., None] if sharp.ndim == 3 else mask
    out = blurred * m + sharp.astype(np.float32) * (1.0 - m)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def synthesize_partial_blur(
    sharp: np.ndarray,
    rng: np.random.Generator,
    *,
    masks: RegionMaskSampler | None = None,
    kernel: KernelSampler | None = None,
) -> PartialBlur:
    """Blur random regions of ``sharp``; deterministic given ``rng``'s state.

    Args:
        sharp: ``(H, W, 3)`` or ``(H, W)`` uint8 image.
        rng: the only source of randomness (the mask is drawn first, then the kernel).
        masks: region sampler (default `RegionMaskSampler()`: 20-60 % coverage).
        kernel: kernel sampler (default `GaussianKernel()`: 71x71, sigma 11).

    Returns:
        `PartialBlur` ``(blurred uint8, mask float32, kernel float32)``.
    """
    if sharp.dtype != np.uint8 or sharp.ndim not in (2, 3):
        raise DatasetError(
            f"synthesize_partial_blur expects an (H, W, 3) or (H, W) uint8 image, got "
            f"{sharp.dtype} of shape {sharp.shape}"
        )
    masks = masks or RegionMaskSampler()
    kernel = kernel or GaussianKernel()
    mask = masks.sample(rng, sharp.shape[:2])
    k = kernel.sample(rng)
    fully_blurred = blur_image(sharp.astype(np.float32) / 255.0, k) * 255.0
    return PartialBlur(blend(sharp, fully_blurred, mask), mask, k)
