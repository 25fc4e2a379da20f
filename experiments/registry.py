"""Every reproduction entry: one module per table under `experiments/entries/`."""

from __future__ import annotations

import importlib
import pkgutil

from experiments import entries
from experiments.entry import Entry


class UnknownEntryError(ValueError):
    """A table name that no file under experiments/entries/ declares."""


def all_entries(*, include_todo: bool = False) -> dict[str, Entry]:
    """name -> Entry for every `experiments/entries/<name>.py` (sorted); placeholders
    (`done=False`) only when asked for."""
    found = {}
    for info in sorted(pkgutil.iter_modules(entries.__path__), key=lambda i: i.name):
        entry = importlib.import_module(f"{entries.__name__}.{info.name}").ENTRY
        if entry.name != info.name:
            raise UnknownEntryError(f"experiments/entries/{info.name}.py declares {entry.name!r}")
        if entry.done or include_todo:
            found[entry.name] = entry
    return found


def get(name: str) -> Entry:
    known = all_entries(include_todo=True)
    if name not in known:
        raise UnknownEntryError(
            f"no reproduction entry {name!r}; expected one of {sorted(known)} "
            "(files under experiments/entries/)"
        )
    return known[name]
