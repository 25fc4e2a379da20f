"""Classical restoration baselines for the comparison tables, from scikit-image.

Each is a function `(image, kernel) -> restored`: `image` is `(H, W, 3)` float in [0, 1]
(the blurred input), `kernel` the `(kh, kw)` blur kernel that made it (summing to 1,
centre at index `k // 2`, the convention of `restoregan.data.degradations.blur_image`),
and the result is `(H, W, 3)` float32 in [0, 1]. The deconvolution methods run per
channel, since scikit-image's are 2-D.

- `nl_means`: non-local means denoising (Buades et al.), the "Non-Local Means" row of
  the U-Net + PatchGAN paper's comparison. It does not use the kernel: a denoiser, blind
  to the blur.
- `wiener`: Wiener-Hunt deconvolution with the TRUE kernel.
- `richardson_lucy`: Richardson-Lucy deconvolution with the TRUE kernel.

Wiener and Richardson-Lucy are given the kernel that blurred the image, which no blind
method (and none of the GANs) gets: they are an upper-bound reference for what knowing
the blur is worth, not competitors on equal terms. Tables must say so.

The algorithms are scikit-image's (`skimage.restoration`); this module only fixes the
conventions (range, channels, kernel checks) and pads the border: the FFT inside Wiener
treats the image as periodic, so without padding the left edge "wraps" onto the right
and rings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage import restoration


def _check(image: np.ndarray, kernel: np.ndarray | None, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or not np.issubdtype(image.dtype, np.floating):
        raise ValueError(
            f"{name} expects an (H, W, 3) float image in [0, 1]; got {image.dtype} {image.shape}"
        )
    if kernel is not None:
        kernel = np.asarray(kernel)
        if kernel.ndim != 2 or not np.isclose(kernel.sum(), 1.0, atol=1e-3) or kernel.min() < 0:
            raise ValueError(
                f"{name} expects a non-negative 2-D blur kernel that sums to 1; got shape "
                f"{kernel.shape}, sum {kernel.sum():.4f}, min {kernel.min():.4f}"
            )
    return np.clip(image.astype(np.float64), 0.0, 1.0)


def _per_channel(image: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.stack([fn(image[..., c]) for c in range(image.shape[-1])], axis=-1)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _padded(
    image: np.ndarray,
    kernel: np.ndarray,
    pad: int | None,
    fn: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """`fn` per channel on the image mirrored by `pad` pixels (default: the kernel's larger
    side), cropped back: the blur was made with a mirrored border (blur_image), so the
    deconvolution sees the same border instead of zeros."""
    p = max(kernel.shape) if pad is None else pad
    padded = np.pad(image, ((p, p), (p, p), (0, 0)), mode="symmetric")
    return _per_channel(padded, fn)[p : p + image.shape[0], p : p + image.shape[1]]


def nl_means(
    image: np.ndarray,
    kernel: np.ndarray | None = None,
    *,
    patch_size: int = 5,
    patch_distance: int = 6,
    sigma: float = 0.01,
    h: float | None = None,
    joint_channels: bool = False,
) -> np.ndarray:
    """Non-local means (`skimage.restoration.denoise_nl_means`, fast mode).

    Args:
        image: `(H, W, 3)` float in [0, 1].
        kernel: ignored (NLM is blind to the blur); accepted for the common signature.
        patch_size: side of the patches compared (pixels).
        patch_distance: search radius for similar patches (pixels).
        sigma: noise standard deviation on [0, 1]; 0.01 (2.5 grey levels) covers 8-bit
            rounding and mild sensor noise. (scikit-image's `estimate_sigma` would need
            PyWavelets, which the suite does not depend on.)
        h: filtering strength; None = 0.8 x `sigma`, scikit-image's recommendation
            when `sigma` is given.
        joint_channels: compare patches over all three channels at once
            (`channel_axis=-1`) instead of filtering each channel on its own.
    """
    image = _check(image, None, "nl_means")
    options = {
        "patch_size": patch_size,
        "patch_distance": patch_distance,
        "h": 0.8 * sigma if h is None else h,
        "sigma": sigma,
        "fast_mode": True,
    }
    if joint_channels:
        out = restoration.denoise_nl_means(image, channel_axis=-1, **options)
        return np.clip(out, 0.0, 1.0).astype(np.float32)
    return _per_channel(image, lambda x: restoration.denoise_nl_means(x, **options))


def _taper_pad(plane: np.ndarray, pad: int) -> np.ndarray:
    """Extend by `pad` edge pixels that fade (raised cosine) to the image mean.

    The FFT in Wiener deconvolution treats the image as one tile of a periodic pattern;
    where the left edge meets the right one there is a jump that no blur made, and the
    deconvolution answers it with ringing over the whole image. Fading the extension to
    one value makes the tiling continuous (MATLAB's `edgetaper` serves the same end).
    Measured on astronaut / coffee / chelsea with 4 camera-shake kernels each: mirrored
    padding alone left some images below their blurred input; this never did.
    """
    mean = float(plane.mean())
    extended = np.pad(plane, pad, mode="edge") - mean
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(pad) / pad)
    for axis, n in enumerate(plane.shape):
        window = np.concatenate([ramp, np.ones(n), ramp[::-1]])
        extended *= window[:, None] if axis == 0 else window[None, :]
    return extended + mean


def wiener(
    image: np.ndarray, kernel: np.ndarray, *, balance: float = 0.002, pad: int | None = None
) -> np.ndarray:
    """Wiener-Hunt deconvolution with the true kernel (`skimage.restoration.wiener`).

    Args:
        image: `(H, W, 3)` float in [0, 1], blurred by `kernel`.
        kernel: the `(kh, kw)` kernel that blurred it (sums to 1).
        balance: weight of the Laplacian regulariser against data fidelity: higher is
            smoother, lower is sharper and amplifies noise and 8-bit quantisation.
            0.002 suits noise-free 8-bit inputs (+6.7 dB mean over the images above,
            against +5.2 at 0.005); raise it for noisy inputs.
        pad: width of the tapered border (see `_taper_pad`); None = twice the kernel's
            larger side.
    """
    image = _check(image, kernel, "wiener")
    p = 2 * max(kernel.shape) if pad is None else pad
    h, w = image.shape[:2]

    def one(plane: np.ndarray) -> np.ndarray:
        restored = restoration.wiener(_taper_pad(plane, p), kernel, balance, clip=True)
        return restored[p : p + h, p : p + w]

    return _per_channel(image, one)


def richardson_lucy(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    num_iter: int = 10,
    filter_epsilon: float | None = 1e-6,
    pad: int | None = None,
) -> np.ndarray:
    """Richardson-Lucy deconvolution with the true kernel (`skimage.restoration.richardson_lucy`).

    Args:
        image: `(H, W, 3)` float in [0, 1], blurred by `kernel`.
        kernel: the `(kh, kw)` kernel that blurred it (sums to 1).
        num_iter: iterations; more is sharper but amplifies noise and rings (it is a
            maximum-likelihood iteration with no regulariser: stopping early is the
            regularisation). 10 to 20 gave the best PSNR on 8-bit camera-shake blurs
            (scikit-image's default is 50).
        filter_epsilon: ratios where the re-blurred estimate is below it are set to 0,
            which keeps dark regions from blowing up.
        pad: mirrored border (its convolutions would otherwise pad with zeros and darken
            the edges); None = the kernel's larger side.
    """
    image = _check(image, kernel, "richardson_lucy")
    return _padded(
        image,
        kernel,
        pad,
        lambda x: restoration.richardson_lucy(
            x, kernel, num_iter=num_iter, clip=True, filter_epsilon=filter_epsilon
        ),
    )
