"""Training throughput of the recipes: generator iterations per second, through Lightning.

    python benchmarks/bench_train.py                                 # every deblurring recipe, CPU, 128 px
    python benchmarks/bench_train.py --models deblurgan --crop 256 --batch 4 --precision bf16-mixed

Random batches in [0, 1] (no disk or augmentation cost), the recipe's real networks and
losses with random VGG weights (same cost as ImageNet weights). The first `--warmup`
iterations are not timed. Reports iterations/s, images/s and, on CUDA, peak memory;
writes the table as JSON under logs/bench/.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import lightning.pytorch as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.data import DataLoader, Dataset

ROOT = Path(__file__).resolve().parents[1]
RECIPES = [
    "deblurgan",
    "deblurgan_keras",
    "unet_patchgan",
    "resnet_patchgan",
    "convdeconv_gan",
    "cnn_baseline",
]


class RandomPairs(Dataset):
    def __init__(self, n: int, size: int) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        x = torch.rand(3, self.size, self.size, generator=g)
        return {"input": x, "target": x.roll(1, dims=-1), "name": f"{i}.png"}


class RandomData(L.LightningDataModule):
    def __init__(self, n: int, size: int, batch: int) -> None:
        super().__init__()
        self.crop_size, self.scale, self.protocol = size, 1, "deblur"
        self.data, self.batch = RandomPairs(n, size), batch

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.data, batch_size=self.batch, shuffle=True, drop_last=True)


class Timer(L.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.count = warmup, None, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if batch_idx + 1 == self.warmup:
            self.start = time.perf_counter()
        elif batch_idx + 1 > self.warmup:
            self.count += 1
        self.elapsed = time.perf_counter() - self.start if self.start else 0.0


def bench(model: str, args: argparse.Namespace) -> dict:
    overrides = [f"model={model}", f"data.crop_size={args.crop}"]
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train", overrides=overrides)
    if "perceptual" in cfg.loss.get("terms", {}):
        cfg.loss.terms.perceptual.weights = "random"
    system = instantiate(cfg.model)
    timer = Timer(args.warmup)
    trainer = L.Trainer(
        accelerator=args.device,
        devices=1,
        precision=args.precision,
        max_epochs=1,
        limit_train_batches=args.warmup + args.steps,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.fit(
        system,
        datamodule=RandomData((args.warmup + args.steps) * args.batch, args.crop, args.batch),
    )
    its = timer.count / timer.elapsed
    row = {
        "model": model,
        "crop": args.crop,
        "batch": args.batch,
        "precision": args.precision,
        "iterations_per_s": round(its, 3),
        "images_per_s": round(its * args.batch, 2),
        "d_steps": int(cfg.model.get("d_steps", 0)),
    }
    if torch.cuda.is_available():
        row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=RECIPES)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10, help="timed generator iterations")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="32-true")
    args = parser.parse_args()
    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    rows = [bench(m, args) for m in args.models]
    print(f"\ntorch {torch.__version__} on {device}")
    print(f"{'model':18s}{'crop':>6s}{'batch':>6s}{'d_steps':>9s}{'it/s':>9s}{'img/s':>9s}")
    for r in rows:
        print(
            f"{r['model']:18s}{r['crop']:6d}{r['batch']:6d}{r['d_steps']:9d}{r['iterations_per_s']:9.2f}{r['images_per_s']:9.2f}"
        )
    out = ROOT / "logs" / "bench" / f"train_{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"device": device, "torch": torch.__version__, "host": platform.node(), "rows": rows},
            indent=1,
        )
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
