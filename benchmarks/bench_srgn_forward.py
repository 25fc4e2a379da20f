"""Peak memory and latency of one SR-GN generator forward at full resolution (default 720p).

    python benchmarks/bench_srgn_forward.py                       # SR-GN and DeblurGAN, CPU
    python benchmarks/bench_srgn_forward.py --models srgn --height 1088 --width 1920

Each model runs in a fresh subprocess so that its peak resident memory (``ru_maxrss``,
minus what the process held before the forward) is its own; on CUDA the peak allocated
memory is reported instead. Default widths, eval mode, no grad, float32, batch 1. The
DeblurGAN 2018 generator is the reference: SR-GN should cost little more, which shows that
the attention block does not build the N x N/4 score matrix (at 720p that alone is 3.3 GB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

MODELS = ("srgn", "deblurgan")


def _build(name: str) -> torch.nn.Module:
    if name == "srgn":
        from restoregan.nets.generators.srgn import SRGNGenerator

        return SRGNGenerator()
    from restoregan.nets.generators.resnet import ResnetGenerator

    return ResnetGenerator()


def _measure(name: str, height: int, width: int, repeats: int, device: str) -> dict:
    net = _build(name).eval().to(device)
    x = torch.rand(1, 3, height, width, device=device) * 2 - 1
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):  # the first (warm-up) run is not timed
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            net(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    result = {
        "model": name,
        "size": f"{width}x{height}",
        "device": device,
        "threads": torch.get_num_threads(),
        "latency_s": min(times[1:]),
    }
    if device == "cuda":
        result["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        result["peak_rss_increase_mb"] = (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before_mb
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one model here
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_measure(args.one, args.height, args.width, args.repeats, args.device)))
        return
    for name in args.models:
        command = [sys.argv[0], "--one", name, "--height", str(args.height)]
        command += ["--width", str(args.width), "--repeats", str(args.repeats)]
        command += ["--device", args.device]
        out = subprocess.run([sys.executable, *command], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{name} failed:\n{out.stderr}")
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
