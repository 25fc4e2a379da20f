"""Every file the suite writes is atomic and gets the user's umask permissions (not 0600)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from restoregan.data.cache import build_cache
from restoregan.data.io import write_image, write_kernel
from restoregan.files import (
    atomic_open,
    atomic_path,
    current_umask,
    make_temp_dir,
    remove_stale_temporaries,
)
from restoregan.plugins.checkpoint_io import AtomicCheckpointIO
from restoregan.sweeps.status import write_status


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_the_process_umask(umask: int) -> None:
    assert current_umask() == umask
    assert current_umask() == umask  # reading it did not change it


WRITERS: dict[str, Callable[[Path], Path]] = {
    "atomic_open": lambda d: _atomic_open_text(d / "a.txt"),
    "image": lambda d: _write(d / "x.png", lambda p: write_image(p, np.zeros((4, 4, 3), np.uint8))),
    "kernel": lambda d: _write(d / "k.npy", lambda p: write_kernel(p, np.ones((3, 3)) / 9)),
    "checkpoint": lambda d: _write(
        d / "last.ckpt", lambda p: AtomicCheckpointIO().save_checkpoint({"w": torch.ones(2)}, p)
    ),
    "status": lambda d: write_status(d, "running"),
}


def _write(path: Path, fn: Callable[[Path], object]) -> Path:
    fn(path)
    return path


def _atomic_open_text(path: Path) -> Path:
    with atomic_open(path, "w") as f:
        f.write("hello")
    return path


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_written_files_get_umask_permissions(writer: str, umask: int, tmp_path: Path) -> None:
    path = WRITERS[writer](tmp_path)
    assert _mode(path) == 0o666 & ~umask, oct(_mode(path))
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def test_cache_folder_gets_umask_permissions(umask: int, tmp_path: Path) -> None:
    def fill(folder: Path) -> dict:
        write_image(folder / "a.png", np.zeros((4, 4, 3), np.uint8))
        return {"count": 1}

    root = build_cache(tmp_path / "cache", {"v": 1}, fill, what="test")
    assert _mode(root) == 0o777 & ~umask
    assert _mode(root / "a.png") == 0o666 & ~umask
    assert _mode(make_temp_dir(tmp_path, prefix="t-")) == 0o777 & ~umask


def test_failed_write_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(target) as f:
        f.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_remove_stale_temporaries_removes_only_killed_writes(tmp_path: Path) -> None:
    stale = [tmp_path / ".last.ckpt.k2j4_x9a.tmp", tmp_path / ".best.ckpt.abcdefgh.tmp"]
    keep = [tmp_path / "last.ckpt", tmp_path / "notes.tmp", tmp_path / ".x.png.abcdefgh.tmp"]
    for path in [*stale, *keep]:
        path.write_bytes(b"x")
    removed = remove_stale_temporaries(tmp_path, suffix=".ckpt")
    assert sorted(removed) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(keep)
    assert remove_stale_temporaries(tmp_path / "missing") == []


def test_no_module_but_files_uses_tempfile(project_root: Path) -> None:
    package = project_root / "src" / "restoregan"
    users = [
        p.relative_to(package).as_posix()
        for p in sorted(package.rglob("*.py"))
        if p.name != "files.py" and "tempfile" in p.read_text()
    ]
    assert not users, f"write files through restoregan.files, not tempfile: {users}"
