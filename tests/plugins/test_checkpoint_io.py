"""Atomic checkpoint writes: a failed write leaves the previous checkpoint intact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from restoregan.plugins.checkpoint_io import AtomicCheckpointIO, NonFiniteCheckpointError


def test_atomic_save_keeps_old_file_when_write_fails(tmp_path: Path, monkeypatch) -> None:
    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"step": 1}, target)
    assert io.load_checkpoint(target)["step"] == 1

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"step": 2}, target)
    monkeypatch.undo()
    assert io.load_checkpoint(target)["step"] == 1  # the previous checkpoint is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no temporary left


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_never_overwrite_a_checkpoint(tmp_path: Path, bad: float) -> None:
    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"global_step": 4, "state_dict": {"w": torch.ones(3)}}, target)
    weights = torch.ones(3)
    weights[1] = bad
    for entry in ("state_dict", "generator_ema"):
        checkpoint = {"global_step": 6, "state_dict": {"w": torch.ones(3)}, entry: {"w": weights}}
        with pytest.raises(NonFiniteCheckpointError, match=rf"global step 6: 1 weight tensor\(s\) "
                           rf"are NaN or infinite \(first: {entry}/w\).*'{target}' keeps the last "
                           "good weights"):  # fmt: skip
            io.save_checkpoint(checkpoint, target)
    assert io.load_checkpoint(target)["global_step"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    # Integer tensors (counters) and non-weight entries are not weights.
    io.save_checkpoint(
        {"global_step": 8, "state_dict": {"n": torch.tensor(3)}, "x": weights}, target
    )
    assert io.load_checkpoint(target)["global_step"] == 8
