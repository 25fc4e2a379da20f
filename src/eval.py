"""Evaluate a checkpoint on a dataset split; writes per_image.csv and summary.json.

python src/eval.py ckpt_path=<run>/checkpoints/best.ckpt data=gopro data.root=/data/GOPRO_Large
python src/eval.py ckpt_path=<esrgan>.ckpt data=sr_benchmark data.root=/data/sr data.name=Set5
"""

from __future__ import annotations

from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from restoregan import metrics
from restoregan.cli.errors import user_errors
from restoregan.cli.restorers import build_restorer, pick_device
from restoregan.evaluation import evaluate, format_summary


def run(cfg: DictConfig, out_dir: str) -> dict[str, Any]:
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
        raise ValueError(f"split must be 'test' or 'val', got {cfg.split!r}")
    protocol = metrics.get_protocol(cfg.protocol or datamodule.protocol, scale=datamodule.scale)
    extra = {
        "source": source,
        "split": cfg.split,
        "data": OmegaConf.to_container(cfg.data, resolve=True),
    }
    summary = evaluate(
        restorer,
        loader,
        protocol=protocol,
        out_dir=out_dir,
        device=device,
        save_images=cfg.save_images,
        extra=extra,
    )
    print(format_summary(summary))
    print(f"tables written to {out_dir}")
    return summary


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
@user_errors
def main(cfg: DictConfig) -> None:
    run(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    main()
