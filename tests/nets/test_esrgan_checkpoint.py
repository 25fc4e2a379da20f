"""load_weights: every official ESRGAN key naming loads into RRDBNet and computes the same.

The renamings here are written independently of the loader's: the new and BasicSR
namings by plain string tables, and the old naming by a reference model built the way the
2018 release built it (one flat nn.Sequential), whose state dict has the `model.N` keys
naturally and whose forward is an independent implementation of the architecture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from restoregan.nets import load_weights
from restoregan.nets.generators.rrdb import RRDBNet

SMALL = {"nf": 8, "n_blocks": 2, "growth": 4}

# RRDBNet / BasicSR top-level name -> the 2019 ESRGAN repository's name.
_NEW_NAMES = {
    "conv_first": "conv_first",
    "conv_body": "trunk_conv",
    "conv_up1": "upconv1",
    "conv_up2": "upconv2",
    "conv_hr": "HRconv",
    "conv_last": "conv_last",
}


def to_new_style(state: dict[str, Tensor]) -> dict[str, Tensor]:
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "body":  # body.i.rdbk.convj.weight -> RRDB_trunk.i.RDBk.convj.weight
            parts = ["RRDB_trunk", parts[1], parts[2].upper(), *parts[3:]]
        else:
            parts[0] = _NEW_NAMES[parts[0]]
        out[".".join(parts)] = value
    return out


class _OldDenseBlock(nn.Module):
    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        # Each conv wrapped in a Sequential, as the 2018 `conv_block` helper did (conv5 has
        # no activation but is still wrapped), which is where the `.0` in the keys comes from.
        self.conv1 = nn.Sequential(nn.Conv2d(nf, gc, 3, 1, 1), act)
        self.conv2 = nn.Sequential(nn.Conv2d(nf + gc, gc, 3, 1, 1), act)
        self.conv3 = nn.Sequential(nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1), act)
        self.conv4 = nn.Sequential(nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1), act)
        self.conv5 = nn.Sequential(nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(conv(torch.cat(feats, 1)))
        return x + 0.2 * self.conv5(torch.cat(feats, 1))


class _OldRRDB(nn.Module):
    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        self.RDB1 = _OldDenseBlock(nf, gc)
        self.RDB2 = _OldDenseBlock(nf, gc)
        self.RDB3 = _OldDenseBlock(nf, gc)

    def forward(self, x: Tensor) -> Tensor:
        return x + 0.2 * self.RDB3(self.RDB2(self.RDB1(x)))


class _Shortcut(nn.Module):
    def __init__(self, sub: nn.Sequential) -> None:
        super().__init__()
        self.sub = sub

    def forward(self, x: Tensor) -> Tensor:
        return x + self.sub(x)


def old_style_reference(*, nf: int, n_blocks: int, growth: int) -> nn.Module:
    """The 2018 layout: `model` is one flat Sequential, so parameter-free layers take indices."""
    trunk = nn.Sequential(
        *(_OldRRDB(nf, growth) for _ in range(n_blocks)), nn.Conv2d(nf, nf, 3, 1, 1)
    )
    container = nn.Module()
    container.model = nn.Sequential(
        nn.Conv2d(3, nf, 3, 1, 1),  # 0
        _Shortcut(trunk),  # 1
        nn.Upsample(scale_factor=2, mode="nearest"),  # 2
        nn.Conv2d(nf, nf, 3, 1, 1),  # 3
        nn.LeakyReLU(0.2),  # 4
        nn.Upsample(scale_factor=2, mode="nearest"),  # 5
        nn.Conv2d(nf, nf, 3, 1, 1),  # 6
        nn.LeakyReLU(0.2),  # 7
        nn.Conv2d(nf, nf, 3, 1, 1),  # 8
        nn.LeakyReLU(0.2),  # 9
        nn.Conv2d(nf, 3, 3, 1, 1),  # 10
    )
    container.forward = container.model.forward  # type: ignore[method-assign]
    return container


@pytest.fixture
def source() -> RRDBNet:
    return RRDBNet(**SMALL).eval()


def _same_outputs(a: nn.Module, b: nn.Module) -> bool:
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return torch.allclose(a(x), b(x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("wrap", [None, "params", "params_ema"])
@pytest.mark.parametrize("naming", ["basicsr", "new"])
def test_mapping_namings_load_exactly(source: RRDBNet, naming: str, wrap: str | None) -> None:
    state = source.state_dict()
    if naming == "new":
        state = to_new_style(state)
    checkpoint = {wrap: state} if wrap else state
    target = RRDBNet(**SMALL).eval()
    assert not _same_outputs(source, target)  # so the comparison below means something
    assert load_weights(target, checkpoint) == "esrgan:<state dict>"
    assert _same_outputs(source, target)


def test_basicsr_file_prefers_params_ema(source: RRDBNet, tmp_path: Path) -> None:
    other = RRDBNet(**SMALL)
    path = tmp_path / "net_g.pth"
    torch.save({"params": other.state_dict(), "params_ema": source.state_dict()}, path)
    target = RRDBNet(**SMALL).eval()
    load_weights(target, path)
    assert _same_outputs(source, target)


def test_old_style_matches_an_independent_reference(tmp_path: Path) -> None:
    reference = old_style_reference(**SMALL).eval()
    keys = set(reference.state_dict())
    assert {"model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight", "model.1.sub.2.weight"} <= keys
    assert {k.split(".")[1] for k in keys if not k.startswith("model.1.")} == {
        "0",
        "3",
        "6",
        "8",
        "10",
    }
    path = tmp_path / "RRDB_ESRGAN_x4_old_arch.pth"
    torch.save(reference.state_dict(), path)
    target = RRDBNet(**SMALL).eval()
    load_weights(target, path)
    assert _same_outputs(reference, target)


def test_own_state_dict_round_trips_through_a_file(source: RRDBNet, tmp_path: Path) -> None:
    path = tmp_path / "rrdb.pth"
    torch.save(source.state_dict(), path)
    target = RRDBNet(**SMALL).eval()
    load_weights(target, path)
    assert _same_outputs(source, target)


def test_x2_checkpoint_into_x4_net_names_file_and_shapes(tmp_path: Path) -> None:
    path = tmp_path / "RealESRGAN_x2plus.pth"
    torch.save({"params_ema": RRDBNet(scale=2, **SMALL).state_dict()}, path)
    target = RRDBNet(scale=4, **SMALL)
    before = target.conv_first.weight.clone()
    with pytest.raises(ValueError, match=r"RealESRGAN_x2plus\.pth") as err:
        load_weights(target, path)
    message = str(err.value)
    assert "scale=2" in message and "conv_first.weight: checkpoint (8, 12, 3, 3)" in message
    assert torch.equal(target.conv_first.weight, before)  # nothing half-loaded


def test_different_block_count_lists_the_extra_keys(source: RRDBNet) -> None:
    bigger = RRDBNet(**{**SMALL, "n_blocks": 3})
    with pytest.raises(ValueError, match=r"unexpected \(30\): body\.2\.rdb1\.conv1\.bias"):
        load_weights(source, to_new_style(bigger.state_dict()))
    with pytest.raises(ValueError, match=r"missing \(30\)"):
        load_weights(bigger, source.state_dict())


def test_unrecognised_or_unreadable_sources(tmp_path: Path, source: RRDBNet) -> None:
    with pytest.raises(ValueError, match="not a recognised ESRGAN"):
        load_weights(source, {"generator.conv.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="not found"):
        load_weights(source, tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pth: could not read"):
        load_weights(source, junk)
