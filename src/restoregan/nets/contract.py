"""What every generator and discriminator states about itself, declared once.

The systems, `restoregan.restore` and the weights loader read these attributes directly;
subclassing the base class is how a network states them (no `getattr` with a default).
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn


class Generator(nn.Module):
    """Base of every generator, and of anything run like one (the Dual-GAN chain).

    A generator maps ``(B, 3, h, w)`` in ``value_range`` to ``(B, 3, scale*h, scale*w)``
    in the same range.

    Attributes:
        value_range: ``(low, high)`` of the images it takes and returns: ``(-1.0, 1.0)``
            for the DeblurGAN family, ``(0.0, 1.0)`` for ESRGAN and the conv/deconv and
            CNN baselines of the ResNet/PatchGAN paper. The systems and
            `restoregan.restore` map [0, 1] data into it and back.
        scale: output side / input side: 1 for deblurring, 2 or 4 for super-resolution.
        size_multiple: input height and width must be multiples of it;
            `restoregan.restore.restore` pads to it and crops back. 1 when any size works
            (a network that pads itself, like the U-Net, declares 1).
    """

    declares: ClassVar[str] = "value_range, scale and size_multiple"
    value_range: tuple[float, float]
    scale: int
    size_multiple: int

    def __init__(
        self, *, value_range: tuple[float, float], scale: int = 1, size_multiple: int = 1
    ) -> None:
        super().__init__()
        low, high = float(value_range[0]), float(value_range[1])
        if not high > low:
            raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
        if scale < 1 or size_multiple < 1:
            raise ValueError(
                f"scale and size_multiple must be >= 1, got scale={scale}, "
                f"size_multiple={size_multiple}"
            )
        self.value_range = (low, high)
        self.scale = int(scale)
        self.size_multiple = int(size_multiple)


class Discriminator(nn.Module):
    """Base of every discriminator.

    Takes ``(B, 3, H, W)`` images in the generator's ``value_range`` (only the restored
    or the sharp image, never the blurred input) and returns raw scores, ``(B, 1, h, w)``
    or ``(B, 1)``.

    Attributes:
        input_size: the square side a discriminator with dense layers requires (the
            adversarial system checks it against the training crop at start-up); None
            when any size works.
    """

    declares: ClassVar[str] = "input_size"
    input_size: int | None

    def __init__(self, *, input_size: int | None = None) -> None:
        super().__init__()
        if input_size is not None and input_size < 1:
            raise ValueError(f"input_size must be a positive side length or None, got {input_size}")
        self.input_size = input_size


def require(net: object, base: type[Generator | Discriminator], role: str) -> None:
    """Raise a TypeError naming `role` unless `net` states the `base` contract."""
    if not isinstance(net, base):
        raise TypeError(
            f"the {role} must subclass restoregan.nets.contract.{base.__name__} (it declares "
            f"{base.declares}); got {type(net).__name__}"
        )
