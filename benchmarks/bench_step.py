"""DeblurGAN training step: a plain PyTorch loop vs ours through Lightning, side by side.

    python benchmarks/bench_step.py                          # CPU, crop 128, batch 1
    python benchmarks/bench_step.py --device cuda --batch 16 --crop 256 --precision bf16-mixed
    python benchmarks/bench_step.py --tiny --steps 3 --repeats 2   # a smoke run

One recipe, `model=deblurgan` (ResNet-9, PatchGAN, WGAN-GP with 5 discriminator steps per
generator step, 100 x VGG19 conv3_3 perceptual; random VGG weights, the same cost as
ImageNet ones), trained three ways on the same pre-generated batches, threads and device:

- ``reference``: a plain loop ordered as the 2018 DeblurGAN code orders it, with that
  code's wasted work (see `plain_loop.py`);
- ``plain``: the same loop without the wasted work: exactly the arithmetic of ours, so
  ``ours / plain`` is the cost of the framework;
- ``ours``: `AdversarialSystem` in a `lightning.Trainer` (manual optimisation), as
  `src/train.py` runs it, without logger, checkpoints or progress bar.

Every path starts from copies of the same networks. Before timing, one step of each from the
same seed must give the same losses (else the script stops: timing different arithmetic
would mean nothing). Measurements alternate between paths (the order flips every repeat),
each after ``--warmup`` untimed steps; the median of ``--repeats`` is reported, as
iterations per wall-clock second and as CPU seconds per iteration (all threads of this
process: on a machine shared with other jobs the CPU time is the steadier of the two).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from plain_loop import PlainLoop, d_steps
from torch import nn
from torch.utils.data import DataLoader

from restoregan.callbacks.speed import SpeedOptions, set_tf32

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("reference", "plain", "ours")
TINY = ["generator.ngf=16", "generator.n_blocks=3", "discriminator.ndf=16"]


def build_system(args: argparse.Namespace) -> nn.Module:
    overrides = ["model=deblurgan", "loss.terms.perceptual.weights=random", *args.override]
    if args.tiny:
        overrides += TINY
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train", overrides=overrides)
    return instantiate(cfg.model)


def make_batches(args: argparse.Namespace, device: torch.device) -> list[dict[str, Any]]:
    g = torch.Generator().manual_seed(1234)
    batches = []
    for i in range(args.warmup + args.steps):
        shape = (args.batch, 3, args.crop, args.crop)
        blurred, sharp = torch.rand(shape, generator=g), torch.rand(shape, generator=g)
        fmt = torch.channels_last if args.channels_last else torch.contiguous_format
        batches.append(
            {
                "input": blurred.to(device, memory_format=fmt),
                "target": sharp.to(device, memory_format=fmt),
                "name": [f"{i}_{k}.png" for k in range(args.batch)],
            }
        )
    return batches


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---- measurement ----------------------------------------------------------------------


class StepTimes(L.Callback):
    """Timestamps at the end of every Lightning training batch, and the first losses."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.times, self.first = device, [], {}

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        sync(self.device)
        self.times.append(now())
        if len(self.times) == 1:
            m = trainer.callback_metrics
            names = ("d_loss", "g_loss", "perceptual", "adv")
            self.first = {k: float(m[f"train/{k}"]) for k in names if f"train/{k}" in m}


def run_ours(
    system: nn.Module, loader: Iterable, n: int, args: argparse.Namespace, log_every: int
) -> StepTimes:
    """``n`` steps of ours; the speed flags through the callback `src/train.py` configures
    (`callbacks.speed`), training values logged every ``log_every`` steps as in a real run
    (without a logger: Lightning still collects them)."""
    timer = StepTimes(args.device)
    speed = SpeedOptions(
        channels_last=args.channels_last,
        tf32=args.tf32,
        cudnn_benchmark=args.cudnn_benchmark,
        fused_adam=args.fused_adam,
        compile_generator=args.compile,
    )
    trainer = L.Trainer(
        accelerator=args.device.type,
        devices=1,
        precision=args.precision,
        max_epochs=1,
        limit_train_batches=n,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        log_every_n_steps=log_every,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[speed, timer],
    )
    trainer.fit(system, train_dataloaders=loader)
    timer.scaler = getattr(trainer.precision_plugin, "scaler", None)
    return timer


def run_plain(loop: PlainLoop, loader: Iterable, n: int, args: argparse.Namespace) -> list[float]:
    times = []
    for i, batch in enumerate(loader):
        if i == n:
            break
        loop(batch)
        sync(args.device)
        times.append(now())
    return times


def now() -> tuple[float, float]:
    """Wall clock and this process's CPU time (all threads). On a shared machine the CPU
    time barely moves when other processes take the cores; the wall clock does."""
    return time.perf_counter(), time.process_time()


def rate(times: list[tuple[float, float]], warmup: int) -> tuple[float, float]:
    """(steps per wall second, CPU seconds per step) after the first ``warmup`` steps."""
    n = len(times) - warmup
    wall, cpu = (times[-1][i] - times[warmup - 1][i] for i in (0, 1))
    return n / wall, cpu / n


def first_step_losses(
    system: nn.Module, loops: dict[str, Callable], batches: list, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """One step of every path from the same initial weights and random streams."""
    losses = {}
    for name, make in loops.items():
        torch.manual_seed(args.seed)
        if name == "ours":
            one = DataLoader(batches[:1], batch_size=None)
            losses[name] = run_ours(copy.deepcopy(system), one, 1, args, log_every=1).first
            continue
        loop = make()
        # AdversarialSystem runs its steps on a CPU stream seeded from initial_seed() + 1
        # (its step_rng); the plain loops draw from the same stream.
        torch.set_rng_state(torch.Generator().manual_seed(args.seed + 1).get_state())
        losses[name] = {k: float(v.detach()) for k, v in loop(batches[0]).items()}
    return losses


def parity_report(losses: dict[str, dict[str, float]], tol: float) -> tuple[bool, str]:
    base = losses.get("ours") or next(iter(losses.values()))
    worst = max(
        abs(value - base[key]) / max(abs(base[key]), 1e-12)
        for values in losses.values()
        for key, value in values.items()
    )
    lines = [f"  {k:11s}" + "".join(f"{losses[p][k]:>14.6g}" for p in losses) for k in base]
    head = "  " + " " * 11 + "".join(f"{p:>14s}" for p in losses)
    ok = worst <= tol
    verdict = f"  max relative difference {worst:.2e} ({'match' if ok else 'DIFFER'}, tol {tol:g})"
    return ok, "\n".join([head, *lines, verdict])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)  # start-up banners per fit
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*validation_step.*no `val_dataloader`.*")
    warnings.filterwarnings("ignore", ".*module\\(s\\) in eval mode.*")  # the frozen VGG
    warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated.*")
    torch.set_num_threads(args.threads)
    if args.device.type == "cuda":  # for the plain loops; ours sets them through SpeedOptions
        set_tf32(args.tf32)
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.manual_seed(args.seed)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    # The plain loops copy these networks in this format; ours gets it from SpeedOptions.
    system = build_system(args).to(args.device, memory_format=fmt)
    makers = {
        "reference": lambda: PlainLoop(system, args, reference=True).to(args.device, fmt),
        "plain": lambda: PlainLoop(system, args, reference=False).to(args.device, fmt),
        "ours": None,
    }
    makers = {k: v for k, v in makers.items() if k in args.paths}
    batches = make_batches(args, args.device)
    loader = DataLoader(batches, batch_size=None)
    gen = system.generator
    print(
        f"bench_step: model=deblurgan{' (tiny)' if args.tiny else ''}, G {type(gen).__name__} "
        f"{sum(p.numel() for p in gen.parameters()):,} params, D steps {d_steps(system)}, "
        f"crop {args.crop}, batch {args.batch}, {args.precision}"
        f"{', channels_last' if args.channels_last else ''}{', compile(G)' if args.compile else ''}"
        f"{', fused Adam' if args.fused_adam and args.device.type == 'cuda' else ''}"
        f", ours logs every {args.log_every} steps"
        f", {describe_device(args)}"
    )
    result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    if args.compile or len(makers) < 2:
        print(
            "first-step check skipped (torch.compile draws dropout masks its own way)"
            if args.compile
            else "first-step check needs two paths"
        )
    else:
        losses = first_step_losses(system, makers, batches, args)
        tol = 1e-4 if args.precision == "32-true" else 2e-2
        ok, report = parity_report(losses, tol)
        print(f"first-step losses, seed {args.seed}:\n{report}")
        result["first_step"] = losses
        if not ok:
            sys.exit("the paths do not compute the same step; timing them would mean nothing")

    loops = {k: (make() if make else None) for k, make in makers.items()}
    # The first conv's output dtype shows whether autocast really ran in low precision
    # (the generator's own output is float32: its residual adds the float32 input).
    dtypes: dict[str, str] = {}
    for name, loop in loops.items():
        watch_conv_dtype(system.generator if loop is None else loop.G, name, dtypes)
    result.update(measure(system, loops, loader, args, dtypes))
    summarise(result, loops, dtypes, args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return result


def measure(
    system: nn.Module,
    loops: dict[str, PlainLoop | None],
    loader: Iterable,
    args: argparse.Namespace,
    dtypes: dict[str, str],
) -> dict[str, Any]:
    """Alternating measurements; the order of the paths flips every repeat."""
    n = args.warmup + args.steps
    rates: dict[str, list[tuple[float, float]]] = {k: [] for k in loops}
    peaks = dict.fromkeys(loops, 0)
    scaler = None
    for r in range(args.repeats):
        order = list(loops) if r % 2 == 0 else list(reversed(loops))
        for name in order:
            if args.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(args.device)
            loop = loops[name]
            if loop is None:
                timer = run_ours(system, loader, n, args, args.log_every)
                times, scaler = timer.times, timer.scaler
            else:
                times = run_plain(loop, loader, n, args)
            rates[name].append(rate(times, args.warmup))
            if args.device.type == "cuda":
                peaks[name] = max(peaks[name], torch.cuda.max_memory_allocated(args.device))
        print(
            f"repeat {r + 1}: "
            + ", ".join(
                f"{k} {rates[k][-1][0]:.3f} it/s ({rates[k][-1][1]:.2f} CPU s/it)" for k in order
            )
        )
    out: dict[str, Any] = {
        "iterations_per_s": {k: statistics.median(v[0] for v in vs) for k, vs in rates.items()},
        "cpu_s_per_iteration": {k: statistics.median(v[1] for v in vs) for k, vs in rates.items()},
        "all_rates": rates,
        "ours_grad_scaler": scaler is not None if "ours" in loops else None,
    }
    if args.device.type == "cuda":
        out["peak_memory_gib"] = {k: round(v / 2**30, 3) for k, v in peaks.items()}
    return out


def summarise(
    result: dict[str, Any],
    loops: dict[str, PlainLoop | None],
    dtypes: dict,
    args: argparse.Namespace,
) -> None:
    its, cpu = result["iterations_per_s"], result["cpu_s_per_iteration"]
    print("median it/s: " + ", ".join(f"{k} {v:.3f}" for k, v in its.items()))
    print("median CPU s/it: " + ", ".join(f"{k} {v:.3f}" for k, v in cpu.items()))
    if "peak_memory_gib" in result:
        print(
            "peak memory GiB: "
            + ", ".join(f"{k} {v}" for k, v in result["peak_memory_gib"].items())
        )
    for other in ("plain", "reference"):
        if "ours" in its and other in its:
            ratio, cpu_ratio = its["ours"] / its[other], cpu[other] / cpu["ours"]
            result[f"ours_over_{other}"] = ratio
            result[f"ours_over_{other}_cpu"] = cpu_ratio
            extra = f", framework overhead {100 * (1 - ratio):+.1f} %" if other == "plain" else ""
            print(f"ours / {other} = {ratio:.3f} by wall clock, {cpu_ratio:.3f} by CPU time{extra}")
    if args.precision != "32-true":
        plain_scalers = {k: lp.scaler is not None for k, lp in loops.items() if lp is not None}
        result["amp"] = {
            "first_conv_dtype": dict(dtypes),
            "grad_scaler": {"ours": result["ours_grad_scaler"], **plain_scalers},
        }
        print(
            f"{args.precision}: first conv output dtype {dtypes}, GradScaler {result['amp']['grad_scaler']}"
        )


def watch_conv_dtype(generator: nn.Module, key: str, store: dict[str, str]) -> None:
    conv = next(m for m in generator.modules() if isinstance(m, nn.Conv2d))
    conv.register_forward_hook(lambda mod, inp, out: store.__setitem__(key, str(out.dtype)))


def describe_device(args: argparse.Namespace) -> str:
    if args.device.type == "cuda":
        return f"{torch.cuda.get_device_name(args.device)} (TF32 {args.tf32}, cudnn.benchmark {args.cudnn_benchmark})"
    return f"CPU ({torch.get_num_threads()} threads)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed", "16-mixed"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the generator")
    p.add_argument("--fused-adam", action="store_true", help="Adam(fused=True), CUDA only")
    p.add_argument(
        "--log-every",
        type=int,
        default=10,
        help="ours logs its training values every N steps (conf/trainer: log_every_n_steps)",
    )
    p.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--cudnn-benchmark", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per measurement")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    p.add_argument("--tiny", action="store_true", help="small widths, for a smoke run")
    p.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the results to this JSON file")
    args = p.parse_args(argv)
    if args.warmup < 1 or args.steps < 1:
        p.error("--warmup and --steps must be at least 1")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.device = torch.device(args.device)
    if args.device.type == "cpu" and args.precision == "16-mixed":
        # Lightning silently runs 16-mixed as bf16-mixed on the CPU: the paths would differ.
        p.error("16-mixed needs a CUDA device (Lightning runs it as bf16-mixed on the CPU)")
    return args


if __name__ == "__main__":
    main()
