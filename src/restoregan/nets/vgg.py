"""Frozen VGG16 / VGG19 feature extractors with torchvision-compatible state-dict keys.

The convolutional trunk is written by hand (torchvision does not work in this environment)
but keeps torchvision's module indices, so ``features.{i}.weight`` / ``features.{i}.bias``
of the official ImageNet files load unchanged. For VGG19, ``conv3_3`` is ``features[14]``:
DeblurGAN's content layer ``features[:15]``.

Layer names a caller can request:

- ``conv{b}_{k}``: output of the k-th convolution of block b, *before* its ReLU;
- ``relu{b}_{k}``: the same after the ReLU;
- ``pool{b}``: output of block b's max-pool;
- Keras aliases ``block{b}_conv{k}`` (Keras ``Conv2D(activation="relu")`` includes the
  ReLU, so it equals ``relu{b}_{k}``) and ``block{b}_pool``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from restoregan.nets.weights.core import load_strict, read_state_dict

Arch = Literal["vgg16", "vgg19"]

# Official torchvision files. The 8 hex digits in each name are the sha256 prefix that
# torch.hub verifies after a download (not for a file already in the cache).
IMAGENET_URLS: dict[str, str] = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}

# Convolutions per block (torchvision configurations "D" and "E") and block widths.
_CONVS_PER_BLOCK: dict[str, tuple[int, ...]] = {
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
_BLOCK_CHANNELS = (64, 128, 256, 512, 512)


class PretrainedWeightsUnavailable(FileNotFoundError):
    """The ImageNet weights are neither in the torch hub cache nor downloadable."""


def imagenet_cache_path(arch: Arch) -> Path:
    """Where ``torch.hub`` looks for (and stores) the official file of ``arch``."""
    filename = IMAGENET_URLS[arch].rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def layer_indices(arch: Arch) -> dict[str, int]:
    """Map every accepted layer name of ``arch`` to its index in torchvision's ``features``."""
    if arch not in _CONVS_PER_BLOCK:
        raise ValueError(f"arch must be one of {sorted(_CONVS_PER_BLOCK)}, got {arch!r}")
    names: dict[str, int] = {}
    index = 0
    for block, n_convs in enumerate(_CONVS_PER_BLOCK[arch], start=1):
        for k in range(1, n_convs + 1):
            names[f"conv{block}_{k}"] = index
            names[f"relu{block}_{k}"] = names[f"block{block}_conv{k}"] = index + 1
            index += 2
        names[f"pool{block}"] = names[f"block{block}_pool"] = index
        index += 1
    return names


def _build_trunk(arch: Arch, last_index: int) -> nn.Sequential:
    """torchvision's ``vgg*.features[: last_index + 1]``, with non-inplace ReLUs."""
    layers: list[nn.Module] = []
    in_channels = 3
    for n_convs, channels in zip(_CONVS_PER_BLOCK[arch], _BLOCK_CHANNELS, strict=True):
        for _ in range(n_convs):
            layers.append(nn.Conv2d(in_channels, channels, kernel_size=3, padding=1))
            # Not inplace: the pre-ReLU output of the conv is returned to the caller.
            layers.append(nn.ReLU(inplace=False))
            in_channels = channels
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers[: last_index + 1])


class VGGFeatures(nn.Module):
    """Frozen VGG trunk returning the activations of the requested layers.

    Input: ``(B, 3, H, W)`` already normalised the way the weights expect (ImageNet mean/std
    on [0, 1] RGB for ``"imagenet"``); H and W at least ``2**p`` for ``p`` pools traversed.
    Output: ``{name: (B, C, H / 2**p, W / 2**p)}`` for every requested name.

    Parameters keep ``requires_grad=False`` (so DDP and optimisers ignore them) and the
    module stays in eval mode even when a parent calls ``.train()``; gradients still flow
    to the input.

    Args:
        arch: ``"vgg16"`` or ``"vgg19"``.
        layers: names to return (see the module docstring); only the trunk up to the
            deepest one is built.
        weights: ``"imagenet"`` (official torchvision file through the torch hub cache),
            ``"random"`` (deterministic initialisation from ``seed``), or the path of a
            torchvision-layout state dict (``features.*``; other keys are ignored).
        seed: seed of the ``"random"`` initialisation.
    """

    def __init__(
        self,
        *,
        arch: Arch,
        layers: Sequence[str],
        weights: str | Path = "imagenet",
        seed: int = 0,
    ) -> None:
        super().__init__()
        index_of = layer_indices(arch)
        layers = list(layers)
        unknown = [name for name in layers if name not in index_of]
        if not layers or unknown:
            raise ValueError(
                f"{arch} layers must be a non-empty list of known names; unknown: {unknown}. "
                f"Known names: {', '.join(index_of)}"
            )
        self.arch = arch
        self._names_at: dict[int, list[str]] = {}
        for name in layers:
            self._names_at.setdefault(index_of[name], []).append(name)
        # Built on the meta device, then every tensor is filled below: no wasted init, and
        # the global RNG is left untouched, so adding a perceptual term does not change the
        # generator's initialisation or the data order of a seeded run.
        with torch.device("meta"):
            trunk = _build_trunk(arch, max(self._names_at))
        self.features = trunk.to_empty(device="cpu")

        if weights == "random":
            self._init_random(seed)
            self.weights_description = f"random:seed={seed}"
        elif weights == "imagenet":
            path = imagenet_cache_path(arch)
            self._load_features(_load_imagenet(arch), source=str(path))
            self.weights_description = f"imagenet:{path.name}"
        else:
            path = Path(weights).expanduser().resolve()
            self._load_features(_load_file(path), source=str(path))
            self.weights_description = f"file:{path}"

        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        """Ignore ``mode``: a frozen feature extractor is always in eval mode."""
        return super().train(False)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``(B, 3, H, W)`` normalised input -> ``{layer name: activation}``."""
        features: dict[str, Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            for name in self._names_at.get(index, ()):
                features[name] = x
        return features

    def _init_random(self, seed: int) -> None:
        # A private generator makes the weights a pure function of the seed and leaves the
        # global RNG alone. Same scheme as torchvision's VGG.
        generator = torch.Generator().manual_seed(seed)
        for module in self.features:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(
                    module.weight, mode="fan_out", nonlinearity="relu", generator=generator
                )
                nn.init.zeros_(module.bias)

    def _load_features(self, state: Mapping[str, object], *, source: str) -> None:
        """Copy the ``features.*`` tensors of ``state`` into the trunk, checking keys/shapes.

        A torchvision file also holds the classifier and, for a shallow trunk, deeper
        features: only the keys this trunk has are taken, then checked strictly.
        """
        own = self.state_dict()
        load_strict(
            self,
            {key: value for key, value in state.items() if key in own},
            source=source,
            # The expected keys on the first line of the message: a wrong file shows at once.
            what=f"a torchvision {self.arch} trunk (features.0.weight ... {list(own)[-1]})",
        )


def _load_imagenet(arch: Arch) -> Mapping[str, object]:
    """Load the official file through the torch hub cache, downloading it if absent."""
    url = IMAGENET_URLS[arch]
    path = imagenet_cache_path(arch)
    try:
        return torch.hub.load_state_dict_from_url(
            url, check_hash=True, map_location="cpu", weights_only=True
        )
    except Exception as err:  # network, hash, disk and unpickling errors all end here
        hash_prefix = path.stem.rsplit("-", 1)[-1]
        raise PretrainedWeightsUnavailable(
            f"Could not get the ImageNet {arch} weights ({type(err).__name__}: {err}).\n"
            f"Needed file: {path.name}\n"
            f"  download it from {url}\n"
            f"  and put it at {path}\n"
            f"  (its sha256 must start with {hash_prefix}; the cache directory follows "
            f"$TORCH_HOME, see torch.hub.get_dir()).\n"
            f"Or pass weights='random' or weights=<path to a torchvision state dict>."
        ) from err


def _load_file(path: Path) -> Mapping[str, object]:
    expected = "'imagenet', 'random' or the path of a torchvision-layout state dict (.pth)"
    return read_state_dict(path, what="VGG weights file", expected=expected)
