"""Evaluate a checkpoint on a dataset split; writes per_image.csv and summary.json.

python src/eval.py ckpt_path=<run>/checkpoints/best.ckpt data=gopro data.root=/data/GOPRO_Large
python src/eval.py ckpt_path=<esrgan>.ckpt data=sr_benchmark data.root=/data/sr data.name=Set5
python src/eval.py ckpt_path=deblurgan.onnx data=gopro data.root=... tile=512 tta=x8
python src/eval.py ckpt_path=... logger=wandb      # also a W&B run with the per-image table
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from restoregan import metrics
from restoregan.cli.errors import run_main, user_errors
from restoregan.cli.photos import progress
from restoregan.cli.restorers import build_restorer, pick_device
from restoregan.data.io import DatasetError
from restoregan.evaluation import REGION_SCORES, SCORES, evaluate, format_summary, read_per_image
from restoregan.restore import check_settings
from restoregan.runs import run_stamp  # noqa: F401  (registers ${run_stamp:} for hydra.run.dir)


def _counted(batches: Iterable[dict], advance: Callable[[int], None]) -> Iterator[dict]:
    for batch in batches:
        yield batch
        advance(len(batch["name"]))


def log_results(cfg: DictConfig, summary: dict[str, Any], out_dir: str) -> list[Any]:
    """Send the summary (and, to W&B, the per-image table as a `wandb.Table`) to the
    loggers of `logger=...`; returns them (finished)."""
    from lightning.pytorch.loggers import WandbLogger

    nodes = cfg.get("logger") or {}
    loggers = [instantiate(n) for n in nodes.values() if n is not None and "_target_" in n]
    if not loggers:
        return []
    rows = read_per_image(out_dir)
    means = {f"eval/{k}": summary[k] for k in SCORES + REGION_SCORES if k in summary}
    for logger in loggers:
        logger.log_hyperparams({k: summary[k] for k in ("protocol", "count", "source", "split")})
        logger.log_metrics(means)
        if isinstance(logger, WandbLogger):
            columns = list(rows[0])  # per_image.csv's own columns, in its order
            logger.log_table(
                key="eval/per_image", columns=columns, data=[[r[c] for c in columns] for r in rows]
            )
        logger.finalize("success")
        if isinstance(logger, WandbLogger):
            logger.experiment.finish()  # the offline run is complete on disk now
    return loggers


def run(cfg: DictConfig, out_dir: str) -> dict[str, Any]:
    check_settings(tile=cfg.tile, overlap=cfg.tile_overlap, tta=cfg.tta)
    device = pick_device(cfg.device)
    restorer, source = build_restorer(cfg)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    if cfg.split == "test":
        datamodule.setup("test")
        loader = datamodule.test_dataloader()
    elif cfg.split == "val":
        datamodule.setup("validate")
        loader = datamodule.val_dataloader()
    else:
        raise DatasetError(f"split must be 'test' or 'val', got split={cfg.split!r}")
    protocol = metrics.get_protocol(cfg.protocol or datamodule.protocol, scale=datamodule.scale)
    extra = {
        "source": source,
        "split": cfg.split,
        "data": OmegaConf.to_container(cfg.data, resolve=True),
    }
    with progress(len(loader.dataset), f"evaluating ({cfg.split})") as advance:
        summary = evaluate(
            restorer,
            _counted(loader, advance),
            protocol=protocol,
            out_dir=out_dir,
            device=device,
            save_images=cfg.save_images,
            extra=extra,
            tile=cfg.tile,
            tile_overlap=cfg.tile_overlap,
            tta=cfg.tta,
            ssim3d=bool(cfg.get("ssim3d", False)),
        )
    print(format_summary(summary))
    print(f"tables written to {out_dir}")
    log_results(cfg, summary, out_dir)
    return summary


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
@user_errors
def main(cfg: DictConfig) -> None:
    run(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    run_main(main)
