"""Perceptual (VGG feature) loss.

Distance between frozen VGG activations of the restored and the sharp image, summed over
layers with per-layer weights. Used by DeblurGAN (VGG19 ``conv3_3``, MSE), its Keras port
(VGG16 ``block3_conv3``, MSE) and ESRGAN (VGG19 ``conv5_4``, L1).

Input normalisation. torchvision's ImageNet VGG weights expect RGB in [0, 1] normalised
with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225); ``normalization="imagenet"``
maps ``input_range`` (the generator's ``value_range``, which the system tells the loss
through `GeneratorLoss.set_value_range`) to [0, 1] and applies that. The 2018 DeblurGAN code (and the Keras
port, whose Keras VGG16 expects Caffe-style BGR input) fed its [-1, 1] images to VGG as
they were; ``normalization="none"`` reproduces that quirk: the images go in unchanged, in
their native ``input_range``. The two give features of different magnitude, so a weight
tuned under one does not carry over to the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restoregan.losses.pixel import check_pair
from restoregan.nets.vgg import VGGFeatures

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_DEFAULT_LAYERS = MappingProxyType({"conv3_3": 1.0})
_CRITERIA = {"mse": F.mse_loss, "l1": F.l1_loss}


class PerceptualLoss(nn.Module):
    """Weighted sum over VGG layers of ``criterion(vgg(fake)[layer], vgg(real)[layer])``.

    ``forward(fake, real)``: two ``(B, 3, H, W)`` images in ``input_range`` -> scalar.
    The target's features are computed without grad; gradients reach ``fake`` only.

    The VGG is frozen (``requires_grad=False``: not trainable, ignored by DDP's gradient
    reduction) and is left out of this module's ``state_dict``: it always comes from
    ``weights`` (see ``weights_description``), so checkpoints do not carry ~80 MB of
    ImageNet weights and loading one never replaces them.

    Args:
        network: ``"vgg19"`` or ``"vgg16"``.
        layers: ``{layer name: weight}``; names as in :mod:`restoregan.nets.vgg`
            (``conv3_3`` before ReLU, ``relu3_3``, Keras ``block3_conv3`` after ReLU, ...).
        criterion: ``"mse"`` or ``"l1"`` (mean over all elements of each layer).
        weights: ``"imagenet"``, ``"random"`` or a torchvision-layout state-dict path.
        input_range: value range of the images this loss receives. None (the configs'
            choice): the generator's, set by `set_value_range` when the system is built.
            Given explicitly, a different generator range is refused.
        normalization: ``"imagenet"`` (map to [0, 1], ImageNet mean/std) or ``"none"``
            (feed the images unchanged; the DeblurGAN 2018 quirk).
        seed: seed of the ``"random"`` weights.
    """

    def __init__(
        self,
        *,
        network: Literal["vgg16", "vgg19"] = "vgg19",
        layers: Mapping[str, float] = _DEFAULT_LAYERS,
        criterion: Literal["mse", "l1"] = "mse",
        weights: str | Path = "imagenet",
        input_range: Sequence[float] | None = None,
        normalization: Literal["imagenet", "none"] = "imagenet",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if criterion not in _CRITERIA:
            raise ValueError(f"criterion must be one of {sorted(_CRITERIA)}, got {criterion!r}")
        if normalization not in ("imagenet", "none"):
            raise ValueError(f"normalization must be 'imagenet' or 'none', got {normalization!r}")
        self.layer_weights = {str(name): float(w) for name, w in layers.items()}
        self.criterion = criterion
        self.normalization = normalization
        self.vgg = VGGFeatures(
            arch=network, layers=list(self.layer_weights), weights=weights, seed=seed
        )
        self.register_buffer("scale", torch.ones(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", torch.zeros(1, 3, 1, 1), persistent=False)
        self.input_range: tuple[float, float] | None = None
        self._range_given = input_range is not None
        if input_range is not None:
            self._fold(tuple(input_range))

        self.register_state_dict_post_hook(_drop_vgg_from_state_dict)
        self.register_load_state_dict_pre_hook(_restore_vgg_in_state_dict)

    def set_value_range(self, value_range: Sequence[float]) -> None:
        """Told once by the system (through `GeneratorLoss`): the generator's value range."""
        rng = (float(value_range[0]), float(value_range[1]))
        if self._range_given and rng != self.input_range:
            raise ValueError(
                f"PerceptualLoss was given input_range={self.input_range} but the generator "
                f"works in {rng}; drop the input_range setting, the generator's range is used"
            )
        self._fold(rng)

    def _fold(self, input_range: tuple[float, ...]) -> None:
        low, high = (float(v) for v in input_range)
        if not high > low:
            raise ValueError(f"input_range must be (low, high) with high > low, got {input_range}")
        self.input_range = (low, high)
        if self.normalization == "imagenet":
            # x -> ((x - low) / (high - low) - mean) / std, folded into one affine map.
            mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
            self.scale.copy_(1.0 / ((high - low) * std))
            self.shift.copy_((-low / (high - low) - mean) / std)

    @property
    def weights_description(self) -> str:
        """Which VGG weights are in use, e.g. ``"imagenet:vgg19-dcbb9e9d.pth"``."""
        return self.vgg.weights_description

    def features(self, x: Tensor) -> dict[str, Tensor]:
        """``{layer: (B, C, h, w)}`` VGG activations of ``x`` (in ``input_range``), mapped
        to the VGG's input the way this loss maps it; for losses built on the same features."""
        return self.vgg(x * self.scale + self.shift)

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        check_pair(fake, real, loss_name="PerceptualLoss")
        if self.input_range is None and self.normalization == "imagenet":
            raise ValueError(
                "PerceptualLoss does not know the range of its images: build it through a "
                "system (which tells it the generator's value_range) or pass input_range"
            )
        distance = _CRITERIA[self.criterion]
        fake_features = self.vgg(fake * self.scale + self.shift)
        with torch.no_grad():
            real_features = self.vgg(real * self.scale + self.shift)
        terms = [
            weight * distance(fake_features[name], real_features[name])
            for name, weight in self.layer_weights.items()
        ]
        return torch.stack(terms).sum()

    def extra_repr(self) -> str:
        return (
            f"layers={self.layer_weights}, criterion={self.criterion!r}, "
            f"input_range={self.input_range}, normalization={self.normalization!r}, "
            f"weights={self.weights_description!r}"
        )


def _drop_vgg_from_state_dict(
    module: PerceptualLoss, state_dict: dict[str, Any], prefix: str, local_metadata: Any
) -> None:
    for key in [k for k in state_dict if k.startswith(prefix + "vgg.")]:
        del state_dict[key]


def _restore_vgg_in_state_dict(
    module: PerceptualLoss, state_dict: dict[str, Any], prefix: str, *args: Any
) -> None:
    # Fill in (or overwrite) the frozen weights so strict loading passes and the VGG stays
    # what ``weights_description`` says, whatever the checkpoint holds.
    for key, value in module.vgg.state_dict().items():
        state_dict[prefix + "vgg." + key] = value
