"""Atomic checkpoint writes: a failed write leaves the previous checkpoint intact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from restoregan.plugins.checkpoint_io import AtomicCheckpointIO


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
