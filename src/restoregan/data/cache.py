"""Generated datasets on disk: a manifest of what was made, and an atomic install.

A cache folder holds ``manifest.json`` = ``{"params": {...}, ...}`` beside the files. The
params say everything that decides the pixels (kind, version, seed, sources, kernel
settings); a cache whose params differ is stale and is rebuilt. Building writes into a
temporary sibling folder that is renamed into place, so a reader, a second process or a
DDP rank never sees half a dataset, and a process that loses the race keeps the winner's
copy. A non-empty folder without a manifest is never deleted. A build that was killed
(no ``finally`` ran) leaves its temporary folder behind; the next build on the same host
removes it once the process that made it is gone (``.owner`` records host and pid).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from restoregan.data.io import DatasetError
from restoregan.files import make_temp_dir

__all__ = [
    "MANIFEST",
    "build_cache",
    "json_params",
    "link_or_copy",
    "read_manifest",
    "read_params",
]

MANIFEST = "manifest.json"
_OWNER = ".owner"


def json_params(params: dict) -> dict:
    """``params`` as they read back from the manifest (tuples become lists)."""
    return json.loads(json.dumps(params))


def read_manifest(root: Path) -> dict | None:
    """The whole manifest of a cache folder, or ``None`` when there is none (or it is broken)."""
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and "params" in manifest else None


def read_params(root: Path) -> dict | None:
    """The ``params`` a cache was built with, or ``None``."""
    manifest = read_manifest(root)
    return None if manifest is None else manifest["params"]


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (same pixels, no re-encoding), copying where links fail."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # filesystems without hard links, or across devices
        shutil.copyfile(src, dst)


def build_cache(
    root: str | os.PathLike, params: dict, write: Callable[[Path], dict], *, what: str
) -> Path:
    """Make the cache at ``root`` unless one with the same ``params`` is there already.

    Args:
        params: JSON-able; compared with the stored manifest's ``params``.
        write: fills a fresh folder and returns what else the manifest records (counts,
            item lists); called only when a build is needed.
        what: the kind of data, for messages ("demo", "partial-blur").

    Returns:
        ``root`` as a Path.
    """
    root = Path(root).expanduser()
    params = json_params(params)
    if read_params(root) == params:
        return root
    _refuse_foreign(root, what)
    root.parent.mkdir(parents=True, exist_ok=True)
    _sweep_killed_builds(root)
    tmp = make_temp_dir(root.parent, prefix=f".{root.name}.tmp-")
    try:
        (tmp / _OWNER).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        extra = write(tmp)
        (tmp / _OWNER).unlink()
        manifest = {"params": params, **extra}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _install(tmp, root, params, what)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _sweep_killed_builds(root: Path) -> None:
    """Remove temporary build folders of ``root`` whose builder died on this host.

    A folder of another host (a shared filesystem) or of a live process is left alone: it
    may be a build in progress. A folder without an owner file is too young to judge (its
    builder writes the file first thing) or not ours.
    """
    host = socket.gethostname()
    for tmp in root.parent.glob(f".{root.name}.tmp-*"):
        try:
            owner_host, pid = (tmp / _OWNER).read_text().split()
            if owner_host != host:
                continue
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)  # its builder is gone
        except (OSError, ValueError):
            continue  # no owner file yet, another host, or no permission to signal: alive


def _refuse_foreign(root: Path, what: str) -> None:
    if root.is_dir() and not (root / MANIFEST).is_file() and any(root.iterdir()):
        raise DatasetError(
            f"The {what} data folder '{root}' exists, is not empty and holds no {MANIFEST}: "
            f"it is not a {what} cache, so it is left alone. Point it at an empty or new folder."
        )


def _install(tmp: Path, root: Path, params: dict, what: str) -> None:
    """Move the finished ``tmp`` folder to ``root``, tolerating a concurrent winner."""
    if root.exists():
        if read_params(root) == params:
            return  # another process finished first
        _refuse_foreign(root, what)
        stale = root.with_name(f".{root.name}.stale-{uuid.uuid4().hex}")
        try:
            os.rename(root, stale)
            shutil.rmtree(stale, ignore_errors=True)
        except FileNotFoundError:
            pass  # another process moved it away already
    try:
        os.rename(tmp, root)
    except OSError:
        if read_params(root) != params:
            raise
