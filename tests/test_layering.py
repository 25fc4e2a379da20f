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
    "systems": ("hydra", "restoregan.cli", "experiments", "restoregan.evaluation"),
    "callbacks": ("hydra", "restoregan.cli", "restoregan.systems", "experiments"),
    # Plugins stay Lightning-level; they may use the stdlib helpers of files.py.
    "plugins": ("hydra", "restoregan.cli", "restoregan.systems", "restoregan.callbacks",
                "restoregan.data", "restoregan.nets", "restoregan.losses", "restoregan.sweeps",
                "experiments"),
    "data": ("lightning.pytorch.callbacks", "hydra", "restoregan.nets", "restoregan.systems",
             "restoregan.cli"),
}  # fmt: skip
_RUNNING = ("lightning", "hydra", "restoregan.systems", "restoregan.callbacks", "restoregan.cli",
            "experiments", "restoregan.losses")  # fmt: skip
MODULE_FORBIDDEN = {
    "restore.py": _RUNNING,
    "pipeline.py": _RUNNING,
    "evaluation.py": _RUNNING,
    "metrics.py": ("lightning", "hydra", "restoregan"),
    "files.py": ("torch", "numpy", "lightning", "hydra", "restoregan"),  # standard library only
}


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


@pytest.mark.parametrize("module", sorted(MODULE_FORBIDDEN))
def test_running_a_restorer_needs_no_training_code(module: str) -> None:
    offenders = [n for n in _imports(PACKAGE / module) if n.startswith(MODULE_FORBIDDEN[module])]
    assert not offenders, offenders


def test_every_module_is_in_the_developers_map() -> None:
    text = (PROJECT_ROOT / "DEVELOPERS.md").read_text()
    missing = [
        rel
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "__init__.py"
        and f"`{(rel := path.relative_to(PACKAGE).as_posix())}`" not in text
    ]
    assert not missing, f"add these modules to the DEVELOPERS.md module map: {missing}"


def test_the_package_never_imports_the_reproductions() -> None:
    """experiments/ sits above the package: restoregan works without it."""
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in _imports(path)
        if name == "experiments" or name.startswith("experiments.")
    ]
    assert not offenders, offenders


def test_every_experiments_module_is_in_the_developers_map() -> None:
    text = (PROJECT_ROOT / "DEVELOPERS.md").read_text()
    missing = [
        rel
        for path in sorted((PROJECT_ROOT / "experiments").glob("*.py"))
        if path.name != "__init__.py"
        and f"`{(rel := path.relative_to(PROJECT_ROOT).as_posix())}`" not in text
    ]
    assert not missing, f"add these modules to the DEVELOPERS.md experiments table: {missing}"
