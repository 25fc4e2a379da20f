"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


CONF_DIR = PROJECT_ROOT / "conf"


def compose(config_name: str, overrides: list[str], root: Path):
    """Compose a Hydra config the way the scripts do, with every path under `root`.

    The `${hydra:...}` interpolations in conf/paths are replaced, so the config resolves
    outside a Hydra run.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import open_dict

    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = hydra_compose(config_name=config_name, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.root_dir = str(root)
        cfg.paths.data_dir = str(root / "data")
        cfg.paths.log_dir = str(root / "logs")
        cfg.paths.output_dir = str(root / "out")
    return cfg
