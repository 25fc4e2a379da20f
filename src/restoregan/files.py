"""Atomic file writes with the user's normal permissions (standard library only).

Every file the suite writes (checkpoints, images, kernels, caches, exports, reports) goes
through `atomic_path` / `atomic_open`: the data lands in a temporary file beside the
target and is moved onto it with ``os.replace``, so a reader or a killed run never sees
half a file. ``tempfile.mkstemp`` creates that file with mode 0600 (private on purpose);
renamed as it is, every output would be unreadable to the user's group. So the temporary
file is given ``0o666 & ~umask`` first, the mode ``open()`` would have given the file.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

TEMP_SUFFIX = ".tmp"
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows it."""
    try:  # Linux >= 4.7 reports it; reading is thread-safe, unlike the swap below
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:  # the only portable way: set and restore
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """Permission bits a newly created file gets from ``open()``: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Permission bits a newly created folder gets from ``mkdir()``: ``0o777 & ~umask``."""
    return 0o777 & ~current_umask()


def _temp_name(target: Path) -> str:
    # `.<name>.<random>.tmp`: hidden, beside the target (same filesystem, so the rename is
    # atomic), and recognisable by `remove_stale_temporaries`.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    return tmp


@contextmanager
def atomic_path(target: str | os.PathLike, *, fsync: bool = False) -> Iterator[Path]:
    """A temporary path beside `target`; the block writes it (any writer that takes a
    path: ONNX export, ``savefig``), and on success it becomes `target` with the umask's
    permissions. On any error the temporary file is removed and `target` is untouched.
    Parent folders are created."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(target)
    try:
        yield Path(tmp)
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def atomic_open(
    target: str | os.PathLike, mode: str = "wb", *, fsync: bool = False, **kwargs: Any
) -> Iterator[IO[Any]]:
    """``open(target, mode)`` done atomically (see `atomic_path`); `kwargs` go to ``open``.
    With ``fsync=True`` the data reaches the disk before the rename (checkpoints)."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes new files; mode must start with 'w', got {mode!r}")
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as f:
        yield f
        f.flush()
        if fsync:
            os.fsync(f.fileno())


def make_temp_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """``tempfile.mkdtemp`` in `parent` with the umask's folder permissions instead of 0700
    (the folder is renamed into place as a cache, so its mode is the cache's)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, dir_mode())
    return path


def remove_stale_temporaries(folder: str | os.PathLike, *, suffix: str = "") -> list[Path]:
    """Delete the temporary files a killed `atomic_path` write left in `folder` (only
    `.<name><suffix>.<random>.tmp`, never other files); returns what was removed.

    Call it only where no other process writes into `folder` at the same moment."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"^\..+{re.escape(suffix)}\.[^.]+{re.escape(TEMP_SUFFIX)}$")
    removed = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and pattern.match(path.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
