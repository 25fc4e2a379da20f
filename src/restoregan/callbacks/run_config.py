"""Store the resolved run config in every checkpoint, so eval and inference can rebuild it."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as L

from restoregan import __version__


class RunConfig(L.Callback):
    """Adds `checkpoint["restoregan"] = {"config", "generator", "version"}`.

    `restoregan.cli.restorers.load_generator` instantiates `generator` from it; the whole
    config is kept so a checkpoint says which data, loss and weights produced it.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        if "generator" not in config:
            raise ValueError("RunConfig needs the resolved config with a `generator` node")
        self.config = config

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint["restoregan"] = {
            "config": self.config,
            "generator": self.config["generator"],
            "version": __version__,
        }
