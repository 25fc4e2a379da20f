"""Training crops per second: PNG decode vs the decoded cache, against what a step consumes.

    python benchmarks/bench_data.py                        # 1280x720 frames, crop 256, batch 16
    python benchmarks/bench_data.py --device cuda          # the step on a GPU
    python benchmarks/bench_data.py --tiny                 # a smoke run

The frames are written once to a temporary folder as 8-bit PNG pairs (GoPro's size by
default; smooth noise, so they compress about as photos do). Two training sets read them:

- ``png``: :class:`~restoregan.data.pairs.PairedImageDataset`, which decodes both whole
  frames for every crop (what every dataset did before ``data.cache``);
- ``cache``: the same set through ``data.cache`` (:mod:`restoregan.data.decoded_cache`:
  480 px sub-images, step 240, memory-mapped); the build time is printed apart.

Each is read by a ``DataLoader`` at each ``--workers`` count with the suite's augmentation
(flips, rotations) for ``--batches`` batches after one untimed batch (worker start-up).
Then one DeblurGAN training step (ResNet-9, PatchGAN, WGAN-GP with 5 critic steps, VGG19
conv3_3; `plain_loop.py`, the same arithmetic as the suite's system) is timed at the same
crop and batch; ``batch / step time`` is the rate a training run consumes crops. The loader
keeps up when its crops/s is at least that.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_step import build_system, sync
from PIL import Image
from plain_loop import PlainLoop
from scipy.ndimage import zoom
from torch.utils.data import DataLoader

from restoregan.data.decoded_cache import build_subimage_cache, cached_train_set
from restoregan.data.pairs import PairedImageDataset


def write_frames(folder: Path, n: int, height: int, width: int) -> list[tuple[Path, Path, str]]:
    """``n`` blurred/sharp PNG pairs of smooth noise (photo-like compression)."""
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n):
        coarse = rng.random((height // 16 + 1, width // 16 + 1, 3))
        smooth = zoom(coarse, (16, 16, 1), order=1)[:height, :width]
        sharp = np.clip(smooth * 230 + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)
        blurred = np.clip(smooth * 230 + rng.normal(0, 2, smooth.shape), 0, 255).astype(np.uint8)
        a, b = folder / f"blur_{i:03d}.png", folder / f"sharp_{i:03d}.png"
        Image.fromarray(blurred).save(a)
        Image.fromarray(sharp).save(b)
        pairs.append((a, b, b.name))
    return pairs


def loader_rate(dataset: Any, args: argparse.Namespace, workers: int) -> float:
    """Crops per second of a shuffled DataLoader, after its first batch."""
    n = args.batch * (args.batches + 1)
    keys = [(k // len(dataset), k % len(dataset)) for k in range(n)]
    order = np.random.default_rng(1).permutation(n)
    loader = DataLoader(
        dataset, batch_size=args.batch, sampler=[keys[i] for i in order], num_workers=workers
    )
    batches = iter(loader)
    next(batches)  # worker start-up and the first fetches are not the steady rate
    start = time.perf_counter()
    count = sum(len(b["name"]) for b in batches)
    return count / (time.perf_counter() - start)


def step_rate(args: argparse.Namespace) -> float:
    """Crops per second one DeblurGAN training step consumes (median of ``--steps``)."""
    system = build_system(argparse.Namespace(tiny=args.tiny, override=[]))
    loop = PlainLoop(
        system,
        argparse.Namespace(
            device=args.device, precision="32-true", fused_adam=False, compile=False
        ),
        reference=False,
    )
    loop.to(args.device, torch.contiguous_format)
    shape = (args.batch, 3, args.crop, args.crop)
    batch = {
        "input": torch.rand(shape, device=args.device),
        "target": torch.rand(shape, device=args.device),
    }
    loop(batch)  # warm-up: allocations, cuDNN algorithm choice
    times = []
    for _ in range(args.steps):
        sync(args.device)
        start = time.perf_counter()
        loop(batch)
        sync(args.device)
        times.append(time.perf_counter() - start)
    return args.batch / statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    augment = {"hflip": True, "vflip": True, "rot90": True}
    results: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        pairs = write_frames(Path(tmp), args.frames, args.height, args.width)
        png = PairedImageDataset(pairs=pairs, train=True, crop_size=args.crop, seed=0, **augment)
        start = time.perf_counter()
        build_subimage_cache(Path(tmp) / "cache" / "bench-train", png, what="bench")
        results["cache_build_s"] = time.perf_counter() - start
        cached = cached_train_set(Path(tmp) / "cache", png, what="bench")
        rates: dict[str, dict[int, float]] = {"png": {}, "cache": {}}
        for workers in args.workers:
            for name, dataset in (("png", png), ("cache", cached)):
                rates[name][workers] = loader_rate(dataset, args, workers)
                print(
                    f"  {name:5s} {workers} worker(s): {rates[name][workers]:8.1f} crops/s",
                    flush=True,
                )
    results["crops_per_s"] = rates
    results["step_crops_per_s"] = step_rate(args)
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    step = results["step_crops_per_s"]
    print(
        f"\n{args.frames} frame pairs {args.width}x{args.height}, crop {args.crop}, batch "
        f"{args.batch}, {os.cpu_count()} CPU cores, torch threads {args.threads}; cache built in "
        f"{results['cache_build_s']:.1f} s"
    )
    print(
        f"{'workers':>8s} {'png crops/s':>12s} {'cache crops/s':>14s} {'cache/png':>10s} {'step needs':>11s}"
    )
    for w in args.workers:
        png, cache = results["crops_per_s"]["png"][w], results["crops_per_s"]["cache"][w]
        print(f"{w:8d} {png:12.1f} {cache:14.1f} {cache / png:9.1f}x {step:11.3g}")
    print(
        f"a DeblurGAN step on {args.device} consumes {step:.3g} crops/s ({args.batch / step:.1f} s a step) at batch {args.batch}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--frames", type=int, default=12, help="frame pairs written and read")
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--batches", type=int, default=6, help="timed batches per loader")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--steps", type=int, default=2, help="timed training steps")
    p.add_argument("--device", type=torch.device, default=torch.device("cpu"))
    p.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1))
    p.add_argument("--tiny", action="store_true", help="small frames, crops and networks")
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    if args.tiny:
        args.frames, args.height, args.width, args.crop, args.batch = 3, 96, 128, 32, 2
        args.batches, args.steps = 2, 1
    return args


if __name__ == "__main__":
    main()
