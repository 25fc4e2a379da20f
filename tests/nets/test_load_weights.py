"""`restoregan.nets.load_weights`: every supported published layout, with and without
DataParallel's `module.` prefix, into the suite's networks, reproducing the outputs.

The references for the discriminators are written here from the published layer lists
(DeblurGAN 2018 `NLayerDiscriminator`, BasicSR `VGGStyleDiscriminator`), independently
of the converters, so their key names come from the structure itself. The generator
layouts have their own round-trip tests (test_deblurgan_checkpoint.py,
test_esrgan_checkpoint.py); here they run through the prefix and wrong-architecture cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from restoregan.nets import load_weights
from restoregan.nets.discriminators.patchgan import PatchGANDiscriminator
from restoregan.nets.discriminators.vgg128 import VGGStyleDiscriminator
from restoregan.nets.generators.resnet import ResnetGenerator
from restoregan.nets.generators.rrdb import RRDBNet
from restoregan.nets.weights.core import CheckpointError
from tests.nets.test_deblurgan_checkpoint import _reference as deblurgan_generator_2018
from tests.nets.test_esrgan_checkpoint import old_style_reference, to_new_style

PREFIXES = ["", "module."]
SMALL_RRDB = {"nf": 8, "n_blocks": 1, "growth": 4}


def _prefixed(state: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {f"{prefix}{k}": v for k, v in state.items()}


def _randomise(net: nn.Module) -> nn.Module:
    """Weights and BatchNorm statistics far from the defaults, so every layer matters."""
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                if "running_var" in name:
                    tensor.uniform_(0.5, 2.0)
                else:
                    tensor.normal_(0.0, 0.3)
    return net


def _same(a: nn.Module, b: nn.Module, x: Tensor) -> bool:
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x), rtol=1e-5, atol=1e-5)


# ---- DeblurGAN 2018 NLayerDiscriminator -------------------------------------------------


def nlayer_discriminator_2018(ndf: int, n_layers: int, norm: str) -> nn.Sequential:
    """DeblurGAN 2018 `NLayerDiscriminator.model`: kernel 4, padding ceil(3 / 2) = 2,
    bias only where no BatchNorm follows; PyTorch 0.3 kept InstanceNorm buffers."""
    container = nn.Module()

    def norm_layer(c: int) -> nn.Module:
        if norm == "batch":
            return nn.BatchNorm2d(c)
        return nn.InstanceNorm2d(c, affine=False, track_running_stats=True)

    bias = norm != "batch"
    layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 2), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2**n, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 2, bias=bias), norm_layer(ndf * mult)]
        layers += [nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2**n_layers, 8)
    layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 2, bias=bias), norm_layer(ndf * mult)]
    layers += [nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, 1, 2)]
    container.model = nn.Sequential(*layers)
    container.forward = container.model.forward  # type: ignore[method-assign]
    return container


def _per_image_norm(net: nn.Module) -> nn.Module:
    # PyTorch 0.3 normalised with per-image statistics even in eval mode.
    for m in net.modules():
        if isinstance(m, nn.InstanceNorm2d):
            m.track_running_stats = False
    return net


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_deblurgan_2018_discriminator_loads_into_patchgan(
    prefix: str, norm: str, tmp_path: Path
) -> None:
    reference = _randomise(nlayer_discriminator_2018(ndf=8, n_layers=3, norm=norm))
    state = reference.state_dict()
    if norm == "batch":  # written by PyTorch 0.3: no num_batches_tracked yet
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    else:
        assert "model.3.running_mean" in state  # the 0.3 buffers the loader must drop
    path = tmp_path / "latest_net_D.pth"
    torch.save(_prefixed(state, prefix), path)
    net = PatchGANDiscriminator(ndf=8, n_layers=3, padding=2, norm=norm)
    x = torch.rand(2, 3, 40, 40) * 2 - 1
    assert not _same(net, _per_image_norm(reference), x)
    assert load_weights(net, path) == f"patchgan:{path}"
    assert _same(net, reference, x)


def test_deblurgan_2018_discriminator_settings_must_match() -> None:
    state = nlayer_discriminator_2018(ndf=8, n_layers=3, norm="instance").state_dict()
    with pytest.raises(CheckpointError, match=r"'ndf': 8.*'ndf': 16"):
        load_weights(PatchGANDiscriminator(ndf=16, n_layers=3), state)
    with pytest.raises(CheckpointError, match=r"'n_layers': 3.*'n_layers': 2"):
        load_weights(PatchGANDiscriminator(ndf=8, n_layers=2), state)
    with pytest.raises(CheckpointError, match=r"'norm': 'instance or none'.*'norm': 'batch'"):
        load_weights(PatchGANDiscriminator(ndf=8, n_layers=3, norm="batch"), state)


# ---- BasicSR VGGStyleDiscriminator -------------------------------------------------------


class BasicSRVGGStyle(nn.Module):
    """BasicSR's `VGGStyleDiscriminator` at input size 128, named as it names its layers."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        widths = [nf, nf * 2, nf * 4, nf * 8, nf * 8]
        prev = 3
        for i, w in enumerate(widths):
            setattr(self, f"conv{i}_0", nn.Conv2d(prev, w, 3, 1, 1, bias=i == 0))
            if i > 0:
                setattr(self, f"bn{i}_0", nn.BatchNorm2d(w))
            setattr(self, f"conv{i}_1", nn.Conv2d(w, w, 4, 2, 1, bias=False))
            setattr(self, f"bn{i}_1", nn.BatchNorm2d(w))
            prev = w
        self.linear1 = nn.Linear(nf * 8 * 4 * 4, 100)
        self.linear2 = nn.Linear(100, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor:
        for i in range(5):
            x = (
                self.conv0_0(x)
                if i == 0
                else getattr(self, f"bn{i}_0")(getattr(self, f"conv{i}_0")(x))
            )
            x = self.act(x)
            x = self.act(getattr(self, f"bn{i}_1")(getattr(self, f"conv{i}_1")(x)))
        return self.linear2(self.act(self.linear1(x.flatten(1))))


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("wrap", [None, "params"])
def test_basicsr_vgg_discriminator_loads_into_vgg128(
    prefix: str, wrap: str | None, tmp_path: Path
) -> None:
    reference = _randomise(BasicSRVGGStyle(nf=4))
    state = _prefixed(reference.state_dict(), prefix)
    path = tmp_path / "net_d.pth"
    torch.save({wrap: state} if wrap else state, path)
    net = VGGStyleDiscriminator(nf=4, input_size=128)
    x = torch.rand(2, 3, 128, 128)
    assert not _same(net, reference, x)
    assert load_weights(net, path) == f"basicsr-vgg:{path}"
    assert _same(net, reference, x)


def test_basicsr_vgg_discriminator_at_256_is_refused_with_its_keys() -> None:
    state = BasicSRVGGStyle(nf=4).state_dict()
    state["conv5_0.weight"] = torch.zeros(32, 32, 3, 3)
    with pytest.raises(CheckpointError, match=r"(?s)unexpected \(1\): conv5_0\.weight.*256-pixel"):
        load_weights(VGGStyleDiscriminator(nf=4, input_size=128), state)


# ---- ESRGAN / DeblurGAN generators with the prefix -----------------------------------


def _esrgan_files(g: RRDBNet) -> dict[str, dict[str, Tensor]]:
    own = g.state_dict()
    return {
        "basicsr": own,
        "new": to_new_style(own),
        "params": {"params": own},
        "params_ema": {
            "params": {k: torch.zeros_like(v) for k, v in own.items()},
            "params_ema": own,
        },
    }


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("naming", ["basicsr", "new", "params", "params_ema"])
def test_esrgan_namings_with_and_without_prefix(prefix: str, naming: str) -> None:
    source = _randomise(RRDBNet(**SMALL_RRDB))
    file = _esrgan_files(source)[naming]
    if naming.startswith("params"):
        file = {k: _prefixed(v, prefix) for k, v in file.items()}
    else:
        file = _prefixed(file, prefix)
    target = RRDBNet(**SMALL_RRDB)
    assert load_weights(target, file) == "esrgan:<state dict>"
    assert _same(source, target, torch.rand(1, 3, 8, 8))


@pytest.mark.parametrize("prefix", PREFIXES)
def test_esrgan_old_naming_with_and_without_prefix(prefix: str) -> None:
    reference = _randomise(old_style_reference(**SMALL_RRDB))
    target = RRDBNet(**SMALL_RRDB)
    load_weights(target, _prefixed(reference.state_dict(), prefix))
    assert _same(reference, target, torch.rand(1, 3, 8, 8))


@pytest.mark.parametrize("prefix", PREFIXES)
def test_deblurgan_2018_generator_with_and_without_prefix(prefix: str) -> None:
    reference = deblurgan_generator_2018(ngf=8, n_blocks=1)
    target = ResnetGenerator(ngf=8, n_blocks=1)
    assert load_weights(target, _prefixed(reference.state_dict(), prefix)).startswith(
        "deblurgan2018"
    )
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert _same(target, _per_image_norm(reference), x)


# ---- the suite's own checkpoints and state dicts --------------------------------------


def _run_checkpoint(
    generator: nn.Module, discriminator: nn.Module | None, ema: nn.Module | None, prefix: str = ""
) -> dict:
    state = {f"generator.{prefix}{k}": v for k, v in generator.state_dict().items()}
    if discriminator is not None:
        state.update(
            {f"discriminator.{prefix}{k}": v for k, v in discriminator.state_dict().items()}
        )
    ckpt = {"restoregan": {"generator": {}}, "state_dict": state}
    if ema is not None:
        ckpt["generator_ema"] = ema.state_dict()
    return ckpt


@pytest.mark.parametrize("prefix", PREFIXES)
def test_suite_checkpoint_generator_prefers_ema_and_discriminator_loads(
    prefix: str, tmp_path: Path
) -> None:
    raw, ema = (
        _randomise(ResnetGenerator(ngf=4, n_blocks=1)),
        _randomise(ResnetGenerator(ngf=4, n_blocks=1)),
    )
    disc = _randomise(PatchGANDiscriminator(ndf=4, n_layers=2))
    path = tmp_path / "last.ckpt"
    torch.save(_run_checkpoint(raw, disc, ema, prefix), path)
    x = torch.rand(1, 3, 16, 16) * 2 - 1

    generator = ResnetGenerator(ngf=4, n_blocks=1)
    assert load_weights(generator, path) == f"restoregan:{path}"
    assert _same(generator, ema, x) and not _same(generator, raw, x)

    torch.save(_run_checkpoint(raw, disc, None, prefix), path)
    load_weights(generator, path)
    assert _same(generator, raw, x)

    discriminator = PatchGANDiscriminator(ndf=4, n_layers=2)
    assert load_weights(discriminator, path) == f"restoregan:{path}"
    assert _same(discriminator, disc, x)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_suite_state_dicts_in_their_own_layout(prefix: str) -> None:
    for build in (
        lambda: ResnetGenerator(ngf=4, n_blocks=1, norm="batch"),
        lambda: VGGStyleDiscriminator(nf=4, input_size=32),
        lambda: PatchGANDiscriminator(ndf=4, n_layers=2, norm="spectral"),
    ):
        source, target = _randomise(build()), build()
        load_weights(target, _prefixed(source.state_dict(), prefix))
        size = 32 if isinstance(source, VGGStyleDiscriminator) else 16
        assert _same(source, target, torch.rand(1, 3, size, size))


def test_supervised_checkpoint_has_no_discriminator() -> None:
    ckpt = _run_checkpoint(ResnetGenerator(ngf=4, n_blocks=1), None, None)
    with pytest.raises(CheckpointError, match=r"no `discriminator\.\*` weights"):
        load_weights(PatchGANDiscriminator(ndf=4, n_layers=2), ckpt)


# ---- wrong architecture ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "net", "family", "config"),
    [
        (
            lambda: RRDBNet(**SMALL_RRDB).state_dict(),
            lambda: ResnetGenerator(ngf=4, n_blocks=1),
            "ESRGAN",
            "generator=rrdb",
        ),
        (
            lambda: deblurgan_generator_2018(ngf=4, n_blocks=1).state_dict(),
            lambda: RRDBNet(**SMALL_RRDB),
            "DeblurGAN 2018 generator",
            "generator=resnet",
        ),
        (
            lambda: BasicSRVGGStyle(nf=4).state_dict(),
            lambda: PatchGANDiscriminator(ndf=4),
            "BasicSR VGGStyleDiscriminator",
            "discriminator=vgg128",
        ),
        (
            lambda: nlayer_discriminator_2018(4, 3, "instance").state_dict(),
            lambda: VGGStyleDiscriminator(nf=4, input_size=32),
            "NLayerDiscriminator",
            "discriminator=patchgan",
        ),
        (
            lambda: _run_checkpoint(RRDBNet(**SMALL_RRDB), None, None),
            lambda: ResnetGenerator(ngf=4, n_blocks=1),
            "ESRGAN",
            "generator=rrdb",
        ),
    ],
)
def test_wrong_architecture_names_both(file, net, family: str, config: str) -> None:
    target = net()
    with pytest.raises(CheckpointError) as err:
        load_weights(target, file())
    message = str(err.value)
    assert family in message and config in message and type(target).__name__ in message


def test_unknown_layout_says_what_was_expected() -> None:
    with pytest.raises(
        CheckpointError,
        match=r"not a recognised .*NLayerDiscriminator.* PatchGANDiscriminator's own layout",
    ):
        load_weights(PatchGANDiscriminator(ndf=4), {"classifier.weight": torch.zeros(1)})
