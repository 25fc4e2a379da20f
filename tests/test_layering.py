"""The layer rules of DEVELOPERS.md, checked on the source: no layer reaches back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / "restoregan"

# package -> module prefixes it must never import (function-level imports included).
FORBIDDEN = {
    "nets": ("lightning", "hydra", "omegaconf", "restoregan.data", "restoregan.systems",
             "restoregan.losses", "restoregan.callbacks", "restoregan.cli", "restoregan.restore"),
    "losses": ("lightning", "hydra", "restoregan.systems", "restoregan.cli", "restoregan.data"),
    "systems": ("hydra", "restoregan.cli", "restoregan.experiments", "restoregan.evaluation"),
    "callbacks": ("hydra", "restoregan.cli", "restoregan.systems", "restoregan.experiments"),
    "data": ("lightning.pytorch.callbacks", "hydra", "restoregan.nets", "restoregan.systems",
             "restoregan.cli"),
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_stay_below(package: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for name in _imports(path)
        if name.startswith(FORBIDDEN[package])
    ]
    assert not offenders, offenders
