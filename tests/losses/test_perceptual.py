"""VGG feature extractor (layer indices, weights sources) and the perceptual loss."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from restoregan.losses.perceptual import PerceptualLoss
from restoregan.nets import vgg as vgg_module
from restoregan.nets.vgg import PretrainedWeightsUnavailable, VGGFeatures, imagenet_cache_path

# Conv indices of torchvision's vgg16/vgg19 ``features`` (the official files' keys).
TORCHVISION_CONVS = {
    "vgg16": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
    "vgg19": [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34],
}


def conv_keys(indices: list[int]) -> set[str]:
    return {f"features.{i}.{p}" for i in indices for p in ("weight", "bias")}


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache; any real download attempt fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def no_network(url: str, *args: object, **kwargs: object) -> None:
        raise URLError(f"offline test: refused {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "torch_home"


# ---- layer indices ---------------------------------------------------------------------
@pytest.mark.parametrize(("arch", "deepest"), [("vgg16", "pool5"), ("vgg19", "pool5")])
def test_full_trunk_has_torchvision_keys(arch: str, deepest: str) -> None:
    net = VGGFeatures(arch=arch, layers=[deepest], weights="random")
    assert set(net.state_dict()) == conv_keys(TORCHVISION_CONVS[arch])
    assert len(net.features) == {"vgg16": 31, "vgg19": 37}[arch]


def test_vgg19_conv3_3_is_features_15() -> None:
    """DeblurGAN's content layer: torchvision ``vgg19().features[:15]``, built by hand."""
    net = VGGFeatures(arch="vgg19", layers=["conv3_3"], weights="random", seed=1)
    assert set(net.state_dict()) == conv_keys([0, 2, 5, 7, 10, 12, 14])  # built no deeper

    def conv(i: int, o: int) -> nn.Conv2d:
        return nn.Conv2d(i, o, 3, padding=1)

    relu, pool = nn.ReLU, lambda: nn.MaxPool2d(2, 2)
    reference = nn.Sequential(
        conv(3, 64), relu(), conv(64, 64), relu(), pool(),
        conv(64, 128), relu(), conv(128, 128), relu(), pool(),
        conv(128, 256), relu(), conv(256, 256), relu(), conv(256, 256),
    )  # fmt: skip
    reference.load_state_dict({k.removeprefix("features."): v for k, v in net.state_dict().items()})
    x = torch.randn(2, 3, 32, 32)
    out = net(x)["conv3_3"]
    assert out.shape == (2, 256, 8, 8)
    torch.testing.assert_close(out, reference(x))
    assert (out < 0).any()  # before its ReLU


def test_keras_alias_is_post_relu() -> None:
    net = VGGFeatures(
        arch="vgg16", layers=["block3_conv3", "conv3_3", "relu3_3", "pool3"], weights="random"
    )
    out = net(torch.randn(1, 3, 16, 16))
    assert (out["block3_conv3"] >= 0).all()
    assert (out["conv3_3"] < 0).any()  # the ReLU after it must not run in place
    torch.testing.assert_close(out["block3_conv3"], F.relu(out["conv3_3"]))
    torch.testing.assert_close(out["block3_conv3"], out["relu3_3"])
    torch.testing.assert_close(out["pool3"], F.max_pool2d(out["relu3_3"], 2))


def test_unknown_layer_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"unknown: \['conv6_1'\].*conv1_1"):
        VGGFeatures(arch="vgg19", layers=["conv6_1"], weights="random")
    with pytest.raises(ValueError, match="conv3_4"):  # VGG16 has 3 convs in block 3
        VGGFeatures(arch="vgg16", layers=["conv3_4"], weights="random")


# ---- frozen ----------------------------------------------------------------------------
def test_frozen_always_eval_gradients_reach_input() -> None:
    net = VGGFeatures(arch="vgg19", layers=["relu2_1"], weights="random")
    parent = nn.Sequential(nn.Conv2d(3, 3, 1), net)
    parent.train()
    assert not net.training and parent.training
    assert all(not p.requires_grad for p in net.parameters())
    assert sum(p.numel() for p in parent.parameters() if p.requires_grad) == 3 * 3 + 3
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    net(x)["relu2_1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# ---- weights sources -------------------------------------------------------------------
def test_random_weights_deterministic_and_rng_neutral() -> None:
    state = torch.get_rng_state()
    a = VGGFeatures(arch="vgg16", layers=["conv2_1"], weights="random", seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    b = VGGFeatures(arch="vgg16", layers=["conv2_1"], weights="random", seed=0)
    c = VGGFeatures(arch="vgg16", layers=["conv2_1"], weights="random", seed=1)
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert not torch.equal(a.features[0].weight, c.features[0].weight)
    assert a.weights_description == "random:seed=0"


def fake_official_state(seed: int = 7) -> dict[str, torch.Tensor]:
    """A torchvision-layout vgg19 state dict up to conv3_3, plus keys loading must ignore."""
    state = VGGFeatures(arch="vgg19", layers=["conv3_3"], weights="random", seed=seed).state_dict()
    state["classifier.0.weight"] = torch.zeros(2, 2)
    state["features.16.weight"] = torch.zeros(256, 256, 3, 3)
    return state


def test_file_weights(tmp_path: Path) -> None:
    path = tmp_path / "my_vgg19.pth"
    state = fake_official_state()
    torch.save(state, path)
    net = VGGFeatures(arch="vgg19", layers=["conv3_3"], weights=str(path))
    assert torch.equal(net.features[14].weight, state["features.14.weight"])
    assert net.weights_description == f"file:{path.resolve()}"


def test_file_weights_errors_name_the_file(tmp_path: Path) -> None:
    bad_shape = tmp_path / "bad_shape.pth"
    state = fake_official_state()
    state["features.0.weight"] = torch.zeros(32, 3, 3, 3)
    torch.save(state, bad_shape)
    with pytest.raises(ValueError, match=r"bad_shape\.pth.*features\.0\.weight"):
        VGGFeatures(arch="vgg19", layers=["conv3_3"], weights=str(bad_shape))

    classifier_only = tmp_path / "classifier_only.pth"
    torch.save({"classifier.0.weight": torch.zeros(2, 2)}, classifier_only)
    with pytest.raises(ValueError, match=r"classifier_only\.pth.*missing keys"):
        VGGFeatures(arch="vgg19", layers=["conv1_1"], weights=str(classifier_only))

    with pytest.raises(ValueError, match=r"not found.*nothing_here\.pth"):
        VGGFeatures(arch="vgg19", layers=["conv1_1"], weights=str(tmp_path / "nothing_here.pth"))

    not_a_checkpoint = tmp_path / "notes.pth"
    not_a_checkpoint.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.pth"):
        VGGFeatures(arch="vgg19", layers=["conv1_1"], weights=str(not_a_checkpoint))


def test_imagenet_uses_cached_official_file(torch_home: Path) -> None:
    """(a) A file under the official name in the hub cache is loaded, without download."""
    cache = torch_home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    assert imagenet_cache_path("vgg19") == cache
    cache.parent.mkdir(parents=True)
    state = fake_official_state(seed=11)
    torch.save(state, cache)
    net = VGGFeatures(arch="vgg19", layers=["conv3_3"], weights="imagenet")
    assert torch.equal(net.features[0].weight, state["features.0.weight"])
    assert net.weights_description == "imagenet:vgg19-dcbb9e9d.pth"


def test_imagenet_offline_error_says_what_to_do(torch_home: Path) -> None:
    """(b) Empty cache, download fails: the error names the URL, the file and the path."""
    with pytest.raises(PretrainedWeightsUnavailable) as info:
        VGGFeatures(arch="vgg16", layers=["block3_conv3"], weights="imagenet")
    message = str(info.value)
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in message
    assert str(torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth") in message
    assert "397923af" in message and "sha256" in message
    assert isinstance(info.value, OSError)
    assert isinstance(info.value.__cause__, URLError)


def serve_file_url(tmp_path: Path, name: str, state: dict[str, torch.Tensor]) -> str:
    source = tmp_path / "server" / name
    source.parent.mkdir(exist_ok=True)
    torch.save(state, source)
    return source.as_uri()


def test_imagenet_download_checks_sha256_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(c) The real torch.hub download over a file:// URL: the name's hash is enforced."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    checkpoints = tmp_path / "torch_home" / "hub" / "checkpoints"
    state = fake_official_state(seed=5)
    written = tmp_path / "written.pth"
    torch.save(state, written)
    digest = hashlib.sha256(written.read_bytes()).hexdigest()

    wrong = "0" * 8 if not digest.startswith("0" * 8) else "1" * 8
    url = serve_file_url(tmp_path, f"vgg19-{wrong}.pth", state)
    shutil.copy(written, Path(url.removeprefix("file://")))  # identical bytes
    monkeypatch.setitem(vgg_module.IMAGENET_URLS, "vgg19", url)
    with pytest.raises(PretrainedWeightsUnavailable, match="invalid hash value") as info:
        VGGFeatures(arch="vgg19", layers=["conv3_3"], weights="imagenet")
    assert url in str(info.value)
    assert not any(checkpoints.iterdir())  # the rejected download left nothing behind

    right_name = f"vgg19-{digest[:8]}.pth"
    url = serve_file_url(tmp_path, right_name, state)
    shutil.copy(written, Path(url.removeprefix("file://")))
    monkeypatch.setitem(vgg_module.IMAGENET_URLS, "vgg19", url)
    net = VGGFeatures(arch="vgg19", layers=["conv3_3"], weights="imagenet")
    assert (checkpoints / right_name).is_file()
    assert torch.equal(net.features[14].weight, state["features.14.weight"])
    assert net.weights_description == f"imagenet:{right_name}"


# ---- perceptual loss -------------------------------------------------------------------
def make_loss(**kwargs: object) -> PerceptualLoss:
    # [-1, 1] unless a test says otherwise (in training the system passes the generator's).
    return PerceptualLoss(weights="random", **{"input_range": (-1.0, 1.0), **kwargs})


def test_normalisation_maps_input_range_then_imagenet() -> None:
    x = torch.rand(2, 3, 16, 16) * 2 - 1  # [-1, 1]
    loss = make_loss(layers={"conv1_2": 1.0}, input_range=(-1.0, 1.0))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = loss.vgg(((x + 1) / 2 - mean) / std)["conv1_2"]
    torch.testing.assert_close(loss.vgg(x * loss.scale + loss.shift)["conv1_2"], expected)

    # [0, 1] generators: same features for the same picture.
    loss01 = make_loss(layers={"conv1_2": 1.0}, input_range=(0.0, 1.0))
    torch.testing.assert_close(
        loss01.vgg((x + 1) / 2 * loss01.scale + loss01.shift)["conv1_2"], expected
    )

    # The DeblurGAN 2018 quirk: the images go in unchanged.
    raw = make_loss(layers={"conv1_2": 1.0}, normalization="none")
    y = torch.rand(2, 3, 16, 16) * 2 - 1
    value = raw(x, y)
    torch.testing.assert_close(value, F.mse_loss(raw.vgg(x)["conv1_2"], raw.vgg(y)["conv1_2"]))


def test_weighted_sum_over_layers_and_criterion() -> None:
    loss = make_loss(layers={"conv1_2": 0.5, "relu2_1": 2.0}, criterion="l1", input_range=(0, 1))
    fake, real = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    f = loss.vgg(fake * loss.scale + loss.shift)
    r = loss.vgg(real * loss.scale + loss.shift)
    expected = 0.5 * F.l1_loss(f["conv1_2"], r["conv1_2"])
    expected = expected + 2.0 * F.l1_loss(f["relu2_1"], r["relu2_1"])
    torch.testing.assert_close(loss(fake, real), expected)
    assert loss(real, real).item() == 0.0


def test_gradients_reach_fake_only() -> None:
    loss = make_loss()
    fake = torch.rand(1, 3, 16, 16, requires_grad=True)
    real = torch.rand(1, 3, 16, 16, requires_grad=True)
    loss(fake, real).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert real.grad is None
    assert all(p.grad is None for p in loss.parameters())


def test_vgg_left_out_of_checkpoints_and_strict_load_works() -> None:
    class System(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generator = nn.Conv2d(3, 3, 1)
            self.loss = make_loss(layers={"conv2_2": 1.0})

    system = System()
    system.train()
    assert not system.loss.vgg.training
    trainable = [n for n, p in system.named_parameters() if p.requires_grad]
    assert trainable == ["generator.weight", "generator.bias"]
    state = system.state_dict()
    assert set(state) == {"generator.weight", "generator.bias"}

    other = System()
    vgg_before = other.loss.vgg.features[0].weight.clone()
    other.load_state_dict(state, strict=True)
    torch.testing.assert_close(other.generator.weight, system.generator.weight)
    # A checkpoint that does carry VGG tensors cannot replace the configured weights.
    polluted = dict(state, **{"loss.vgg.features.0.weight": torch.zeros_like(vgg_before)})
    other.load_state_dict(polluted, strict=True)
    assert torch.equal(other.loss.vgg.features[0].weight, vgg_before)


def test_description_and_argument_errors() -> None:
    loss = make_loss(network="vgg16", layers={"block3_conv3": 1.0}, seed=3)
    assert loss.weights_description == "random:seed=3"
    with pytest.raises(ValueError, match="criterion"):
        make_loss(criterion="huber")
    with pytest.raises(ValueError, match="normalization"):
        make_loss(normalization="caffe")
    with pytest.raises(ValueError, match="input_range"):
        make_loss(input_range=(1.0, -1.0))
    with pytest.raises(ValueError, match="same shape"):
        loss(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 18))


def test_range_comes_from_the_generator_unless_given() -> None:
    loss = PerceptualLoss(weights="random", layers={"conv1_2": 1.0})  # the configs' way
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="does not know the range"):
        loss(x, x)
    loss.set_value_range((0.0, 1.0))
    reference = make_loss(layers={"conv1_2": 1.0}, input_range=(0.0, 1.0))
    torch.testing.assert_close(loss.scale, reference.scale)
    torch.testing.assert_close(loss.shift, reference.shift)
    with pytest.raises(ValueError, match=r"input_range=\(0\.0, 1\.0\) but the generator"):
        reference.set_value_range((-1.0, 1.0))
