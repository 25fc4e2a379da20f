"""Shared fixtures. Tests are CPU-only; the real images in ../shared/data are optional."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import restoregan.runs  # noqa: F401  (registers the resolvers of hydra.run.dir / sweep.dir)
from tests.helpers import PROJECT_ROOT, SHARED_DATA


@pytest.fixture(autouse=True)
def _seed_and_threads() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _data_check_cache(tmp_path_factory, monkeypatch) -> None:
    """The data check's cache (restoregan.data.preflight) in a temporary folder, never in
    the user's ~/.cache; one per session, inherited by subprocesses."""
    monkeypatch.setenv("RESTOREGAN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def shared_data() -> Path:
    """Root of the optional reference data (Set5/Set14/BSD100, Levin kernels); skips if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture
def fake_vgg_cache(tmp_path_factory, monkeypatch) -> Path:
    """A torch hub cache holding VGG16/19 files under their official names (random weights).

    `torch.hub.load_state_dict_from_url` loads a cached file without downloading, so
    configs that ask for ImageNet VGG weights instantiate offline. The weights are random:
    only tests that do not care about VGG's ImageNet features may use this.
    """
    from restoregan.nets.vgg import VGGFeatures

    home = tmp_path_factory.mktemp("torch_home")
    ckpt = home / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    for arch, name in (("vgg16", "vgg16-397923af.pth"), ("vgg19", "vgg19-dcbb9e9d.pth")):
        net = VGGFeatures(arch=arch, layers=["pool5"], weights="random")
        torch.save(net.state_dict(), ckpt / name)
    monkeypatch.setenv("TORCH_HOME", str(home))
    return ckpt


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """One demo-data cache shared by the training tests (it is generated on first use)."""
    return tmp_path_factory.mktemp("demo_data") / "demo"
