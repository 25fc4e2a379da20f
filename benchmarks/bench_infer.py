"""Inference speed per 720p frame for every generator, untiled and tiled, and peak memory
with tiling at 1, 4 and 16 megapixels.

    python benchmarks/bench_infer.py                      # recipe widths, CPU or CUDA
    python benchmarks/bench_infer.py --quick              # tiny widths: a smoke run
    python benchmarks/bench_infer.py --generators resnet rrdb --tile 256 --memory-generator rrdb

Each generator keeps its recipe defaults (`conf/generator/<name>.yaml`) with random weights
(the cost does not depend on them). Deblurring generators restore a 1280x720 frame; ESRGAN
(`rrdb`, x4) restores a 320x180 frame into 1280x720. Times are the median of ``--repeats``
runs after one untimed run, in ``torch.inference_mode``, through the same functions
`src/deblur.py` uses (`restore`, `restoregan.tiling.tiled_apply`).

Memory is measured in a fresh subprocess per size, so one size's allocations cannot hide
another's: on CUDA ``torch.cuda.max_memory_allocated``, on the CPU the resident-set
high-water mark (``/proc/self/status`` VmHWM, reset just before the restore; the
``resource.getrusage`` peak elsewhere; ``tracemalloc`` does not see torch's allocator),
with how much of it the restore added.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn

from restoregan.restore import restore
from restoregan.tiling import tiled_apply

ROOT = Path(__file__).resolve().parents[1]
GENERATORS = ["resnet", "resnet_keras", "unet_res", "convdeconv", "cnn_baseline", "rrdb"]
QUICK = {  # tiny widths, same architectures
    "resnet": {"ngf": 8, "n_blocks": 2},
    "resnet_keras": {"ngf": 8, "n_blocks": 2},
    "resnet_pix2pix": {"ngf": 8, "n_blocks": 2},
    "unet_res": {"base_channels": 8, "depth": 2, "blocks_per_level": 1},
    "convdeconv": {"encoder_channels": [8, 16, 16], "decoder_channels": [16, 16, 8, 8]},
    "cnn_baseline": {"width": 16, "depth": 4},
    "rrdb": {"nf": 8, "n_blocks": 1, "growth": 8},
}
FRAME = (720, 1280)  # output frame: height, width


def build(name: str, quick: bool) -> nn.Module:
    path = ROOT / "conf" / "generator" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise SystemExit(f"no generator config {path}; known: {', '.join(known)}")
    cfg = OmegaConf.load(path)
    if "defaults" in cfg:  # a delta over another generator file (resnet_pix2pix)
        base = OmegaConf.load(path.parent / f"{cfg.defaults[0]}.yaml")
        cfg = OmegaConf.merge(base, {k: v for k, v in cfg.items() if k != "defaults"})
    if quick:
        cfg = OmegaConf.merge(cfg, QUICK.get(name, {}))
    return instantiate(cfg).eval()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def runner(generator: nn.Module, args: argparse.Namespace, *, tiled: bool):
    """The restore call `src/deblur.py` makes: (B, 3, H, W) in [0, 1] -> [0, 1]."""
    if not tiled:
        return lambda x: restore(generator, x)
    return lambda x: tiled_apply(
        lambda t: restore(generator, t),
        x,
        tile=args.tile,
        overlap=args.overlap,
        scale=int(generator.scale),
        multiple=int(generator.size_multiple),
        batch=args.tile_batch,
    )


def time_ms(fn, x: Tensor, repeats: int, device: torch.device) -> float:
    with torch.inference_mode():
        fn(x)  # untimed: allocator warm-up, cudnn autotuning
        sync(device)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(x)
            sync(device)
            times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def frame_for(generator: nn.Module, device: torch.device) -> Tensor:
    scale = int(generator.scale)
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, FRAME[0] // scale, FRAME[1] // scale, generator=g).to(device)


def speed_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for name in args.generators:
        generator = build(name, args.quick).to(args.device)
        x = frame_for(generator, args.device)
        row = {
            "generator": name,
            "params": sum(p.numel() for p in generator.parameters()),
            "input": f"{x.shape[-1]}x{x.shape[-2]}",
            "scale": int(generator.scale),
        }
        for tiled in (False, True):
            if tiled or not args.tiled_only:
                key = "tiled_ms" if tiled else "untiled_ms"
                row[key] = time_ms(
                    runner(generator, args, tiled=tiled), x, args.repeats, args.device
                )
        rows.append(row)
        print(
            f"{name:14s}{row['params']:>12,d}  {row['input']:>9s} x{row['scale']}"
            + "".join(
                f"{row[k]:>12.1f}" if k in row else f"{'-':>12s}"
                for k in ("untiled_ms", "tiled_ms")
            ),
            flush=True,
        )
    return rows


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak_rss_kib() -> int:
    """Reset the resident-set high-water mark (Linux: write 5 to /proc/self/clear_refs),
    so the peak read afterwards belongs to what follows, not to the imports; returns the
    current RSS. Elsewhere the peak stays the process's lifetime maximum."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def peak_rss_kib() -> int:
    try:
        return _status_kib("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(args: argparse.Namespace) -> None:
    """One measurement in this (fresh) process; prints one JSON line."""
    generator = build(args.memory_generator, args.quick or args.memory_quick).to(args.device)
    scale = int(generator.scale)
    pixels = args.memory_child * 1e6 / scale**2  # input pixels for that many output pixels
    w = round((pixels * 16 / 9) ** 0.5)
    h = round(w * 9 / 16)
    x = torch.rand(1, 3, h, w).to(args.device)
    fn = runner(generator, args, tiled=not args.memory_untiled)
    if args.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(args.device)
        base = torch.cuda.memory_allocated(args.device)
    before = reset_peak_rss_kib()
    with torch.inference_mode():
        y = fn(x)
    sync(args.device)
    out = {
        "megapixels": args.memory_child,
        "output": f"{y.shape[-1]}x{y.shape[-2]}",
        "image_mib": (x.numel() + y.numel()) * 4 / 2**20,
        "rss_peak_mib": peak_rss_kib() / 1024,
        "rss_before_mib": before / 1024,
    }
    if args.device.type == "cuda":
        out["cuda_peak_mib"] = torch.cuda.max_memory_allocated(args.device) / 2**20
        out["cuda_before_mib"] = base / 2**20
    print(json.dumps(out))


def memory_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for mp in args.memory_sizes:
        cmd = [sys.executable, __file__, "--memory-child", str(mp), *child_args(args)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"memory run at {mp} MP failed:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        line = (
            f"{mp:>6g} MP  {row['output']:>11s}   RSS peak {row['rss_peak_mib']:7.0f} MiB, "
            f"+{row['rss_peak_mib'] - row['rss_before_mib']:.0f} MiB while restoring "
            f"(input + output images {row['image_mib']:.0f} MiB)"
        )
        if "cuda_peak_mib" in row:
            line += f"   CUDA peak {row['cuda_peak_mib']:8.0f} MiB"
        print(line, flush=True)
    return rows


def child_args(args: argparse.Namespace) -> list[str]:
    out = ["--device", str(args.device), "--memory-generator", args.memory_generator]
    out += ["--tile", str(args.tile), "--overlap", str(args.overlap)]
    out += ["--tile-batch", str(args.tile_batch), "--threads", str(args.threads)]
    out += ["--memory-quick"] * args.memory_quick
    return out + ["--quick"] * args.quick + ["--memory-untiled"] * args.memory_untiled


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--generators", nargs="+", default=GENERATORS)
    p.add_argument("--quick", action="store_true", help="tiny widths (smoke runs, CI)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--tile-batch", type=int, default=4, help="tiles per forward pass")
    p.add_argument("--tiled-only", action="store_true", help="skip the untiled timing")
    p.add_argument("--memory-generator", default="resnet")
    p.add_argument("--memory-sizes", nargs="*", type=float, default=[1, 4, 16], help="MP")
    p.add_argument("--memory-untiled", action="store_true", help="measure without tiles")
    p.add_argument(
        "--memory-quick",
        action="store_true",
        help="tiny widths for the memory runs only (a slow CPU: whether memory stays flat "
        "depends on the tiling, the activations per tile on the width)",
    )
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--json", help="write the results to this JSON file")
    p.add_argument("--memory-child", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.device = torch.device(args.device)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_child is not None:
        memory_child(args)
        return {}
    where = (
        torch.cuda.get_device_name(args.device)
        if args.device.type == "cuda"
        else f"CPU ({args.threads} threads)"
    )
    print(
        f"bench_infer: 720p frames on {where}, torch {torch.__version__}"
        f"{', quick widths' if args.quick else ''}; tiles {args.tile}/{args.overlap}, "
        f"{args.tile_batch} per pass"
    )
    print(f"{'generator':14s}{'params':>12s}  {'input':>9s}   {'untiled ms':>12s}{'tiled ms':>12s}")
    result: dict[str, Any] = {"device": where, "speed": speed_table(args)}
    if args.memory_sizes:
        mode = "untiled" if args.memory_untiled else f"tiled {args.tile}/{args.overlap}"
        print(f"peak memory, {args.memory_generator} {mode}, a fresh process per size:")
        result["memory"] = memory_table(args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
