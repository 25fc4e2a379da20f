"""What each file of a dataset is, read once and remembered: the data check's file pass.

:func:`inspect_files` opens every file (its header, or a full decode, which is where a
truncated PNG/JPEG fails) in a thread pool, and remembers what it found about good files
in one small JSON file per folder, keyed by path, size and mtime, so that the next run
only ``stat``-s them. The rules a pair must follow are :mod:`restoregan.data.preflight`'s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["FileCache", "FileInfo", "default_cache_dir", "inspect_files"]

log = logging.getLogger("restoregan")

#: Files to read from which a progress bar is worth drawing.
PROGRESS_FROM = 200
_CACHE_VERSION = 1
_READ_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    UnidentifiedImageError,
    Image.DecompressionBombError,
)


@dataclass
class FileInfo:
    """What a file was found to be: ``(width, height)`` and PIL mode, or an ``error``."""

    size: tuple[int, int] = (0, 0)
    mode: str = ""
    decoded: bool = False
    error: str = ""
    stat: tuple[int, int] = field(default=(0, 0))  # (bytes, mtime_ns): the cache key


def default_cache_dir() -> Path:
    """``$RESTOREGAN_CACHE_DIR/checks``, else ``$XDG_CACHE_HOME/restoregan/checks``, else
    ``~/.cache/restoregan/checks``."""
    if os.environ.get("RESTOREGAN_CACHE_DIR"):
        return Path(os.environ["RESTOREGAN_CACHE_DIR"]).expanduser() / "checks"
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "restoregan" / "checks"


def _probe(path: Path, full: bool) -> FileInfo:
    """Open ``path`` (header only, or a full decode with ``full``) and say what it is."""
    try:
        st = path.stat()
    except OSError:
        return FileInfo(error="no file there")
    stat = (st.st_size, st.st_mtime_ns)
    if not path.is_file():
        return FileInfo(error="not a file", stat=stat)
    try:
        with Image.open(path) as im:
            size, mode = im.size, im.mode
            if full:
                # Image.open reads the header only; load() decodes every pixel, which is
                # where a truncated file fails.
                im.load()
    except _READ_ERRORS as err:
        return FileInfo(error=f"{type(err).__name__}: {err}", stat=stat)
    return FileInfo(size=size, mode=mode, decoded=full, stat=stat)


def _folder(path: Path) -> Path:
    # Absolute, so a relative path given from another working directory shares the entry.
    return Path(os.path.abspath(path.parent))


class FileCache:
    """What was found about good files, one JSON file per folder under ``root``."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.folders: dict[Path, dict[str, Any]] = {}
        self.dirty: set[Path] = set()
        self.lock = threading.Lock()

    def _file(self, folder: Path) -> Path:
        assert self.root is not None
        return self.root / f"{hashlib.sha1(str(folder).encode()).hexdigest()[:20]}.json"

    def _entries(self, folder: Path) -> dict[str, Any]:
        if folder not in self.folders:
            entries: dict[str, Any] = {}
            if self.root is not None:
                try:
                    data = json.loads(self._file(folder).read_text())
                    if data.get("version") == _CACHE_VERSION and data.get("folder") == str(folder):
                        entries = dict(data["files"])
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    pass  # no cache yet, or an unreadable one: check again
            self.folders[folder] = entries
        return self.folders[folder]

    def get(self, path: Path, full: bool) -> FileInfo | None:
        try:
            st = path.stat()
        except OSError:
            return None
        with self.lock:
            entry = self._entries(_folder(path)).get(path.name)
        if not isinstance(entry, dict) or entry.get("stat") != [st.st_size, st.st_mtime_ns]:
            return None
        if full and not entry.get("decoded"):
            return None
        return FileInfo(
            size=tuple(entry["size"]),
            mode=entry["mode"],
            decoded=entry["decoded"],
            stat=(st.st_size, st.st_mtime_ns),
        )

    def put(self, path: Path, info: FileInfo) -> None:
        if self.root is None or info.error:
            return
        entry = {
            "stat": list(info.stat),
            "size": list(info.size),
            "mode": info.mode,
            "decoded": info.decoded,
        }
        with self.lock:
            self._entries(_folder(path))[path.name] = entry
            self.dirty.add(_folder(path))

    def save(self) -> None:
        """Write the changed folders' files atomically (a reader never sees half a file;
        a failure to write only costs the next run a new check)."""
        if self.root is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for folder in sorted(self.dirty):
                files = self.folders[folder]
                data = {"version": _CACHE_VERSION, "folder": str(folder), "files": files}
                # Not mkstemp: its files are 0600; os.open's mode goes through the umask.
                tmp = self.root / f".check-{uuid.uuid4().hex}.tmp"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                try:
                    with os.fdopen(fd, "w") as f:
                        json.dump(data, f)
                    os.replace(tmp, self._file(folder))
                finally:
                    Path(tmp).unlink(missing_ok=True)
        except OSError as err:
            log.warning("data check: could not write the cache under %s (%s)", self.root, err)
        self.dirty.clear()


def inspect_files(
    paths: Iterable[Path], *, full: bool, cache: FileCache, threads: int | None, progress: bool
) -> dict[Path, FileInfo]:
    """FileInfo of every path: from the cache where it is still valid, else probed."""
    found: dict[Path, FileInfo] = {}
    todo = []
    for path in paths:
        hit = cache.get(path, full)
        if hit is None:
            todo.append(path)
        else:
            found[path] = hit
    if not todo:
        return found
    workers = threads or min(16, 2 * (os.cpu_count() or 1))
    start = time.perf_counter()
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("checking data ({task.fields[what]})"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        # Only on a terminal: in a log file a transient bar leaves blank lines.
        disable=not progress or len(todo) < PROGRESS_FROM or not console.is_terminal,
    )
    # Threads: reading files is I/O bound and Pillow's decoders release the GIL.
    with bar, ThreadPoolExecutor(max_workers=workers) as pool:
        task = bar.add_task("check", total=len(todo), what="decode" if full else "headers")
        for path, info in zip(todo, pool.map(lambda p: _probe(p, full), todo), strict=True):
            found[path] = info
            cache.put(path, info)
            bar.advance(task)
    cache.save()
    log.info(
        "data check: %s %d files in %.1f s (%d unchanged since the last check)",
        "decoded" if full else "read the headers of",
        len(todo),
        time.perf_counter() - start,
        len(found) - len(todo),
    )
    return found
