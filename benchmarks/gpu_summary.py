"""The one summary file of `gpu_suite.sh`: python benchmarks/gpu_summary.py <suite dir>.

Reads the suite's status.tsv and the JSON every benchmark wrote, prints Markdown. Exits 1
when 16-mixed did not really train with float16 convolutions and a GradScaler.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

STEP_RUNS = ("step_b1", "step_b16", "step_bf16_b1", "step_bf16", "step_fp16_b1", "step_fp16")
FLAG_RUNS = {
    "flag_no_tf32": "TF32 off",
    "flag_no_cudnn_benchmark": "cudnn.benchmark off",
    "flag_channels_last": "channels_last",
    "flag_fused_adam": "fused Adam",
    "flag_compile": "torch.compile(generator)",
    "flag_all_bf16": "bf16-mixed + channels_last + fused Adam + compile",
}


def load(out: Path, name: str) -> dict[str, Any] | None:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def fmt(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def step_table(out: Path) -> list[str]:
    lines = [
        "| run | batch | precision | reference it/s | plain it/s | ours it/s | ours/plain "
        "| ours/reference | peak GiB (ours) | first step |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in STEP_RUNS:
        r = load(out, name)
        if r is None:
            lines.append(f"| {name} | | | | | | | | | not run |")
            continue
        its = r.get("iterations_per_s", {})
        peak = r.get("peak_memory_gib", {}).get("ours")
        first = "match" if r.get("first_step") else "-"
        lines.append(
            f"| {name} | {r['args']['batch']} | {r['args']['precision']} "
            f"| {fmt(its.get('reference'))} | {fmt(its.get('plain'))} | {fmt(its.get('ours'))} "
            f"| {fmt(r.get('ours_over_plain'))} | {fmt(r.get('ours_over_reference'))} "
            f"| {fmt(peak, '.2f')} | {first} |"
        )
    return lines


def fp16_check(out: Path) -> tuple[bool | None, str]:
    r = load(out, "step_fp16")
    if r is None:
        return None, "16-mixed: not run"
    amp = r.get("amp", {})
    dtypes, scalers = amp.get("first_conv_dtype", {}), amp.get("grad_scaler", {})
    ok = (
        all(d == "torch.float16" for d in dtypes.values())
        and bool(dtypes)
        and all(scalers.values())
    )
    return (
        ok,
        f"16-mixed: conv outputs {dtypes}, GradScaler {scalers}: {'OK' if ok else 'NOT float16 + GradScaler'}",
    )


def flag_table(out: Path) -> list[str]:
    base = (load(out, "step_b16") or {}).get("iterations_per_s", {}).get("ours")
    lines = [
        f"Baseline: step_b16 `ours` (TF32 on, cudnn.benchmark on, contiguous): {fmt(base)} it/s",
        "",
        "| option | ours it/s | vs baseline | peak GiB |",
        "|---|---|---|---|",
    ]
    for name, label in FLAG_RUNS.items():
        r = load(out, name)
        its = None if r is None else r.get("iterations_per_s", {}).get("ours")
        ratio = its / base if its and base else None
        peak = None if r is None else r.get("peak_memory_gib", {}).get("ours")
        lines.append(f"| {label} | {fmt(its)} | {fmt(ratio)} | {fmt(peak, '.2f')} |")
    return lines


def infer_tables(out: Path) -> list[str]:
    r = load(out, "infer")
    if r is None:
        return ["not run"]
    lines = [
        f"Device: {r['device']}",
        "",
        "| generator | params | input | untiled ms | tiled ms |",
        "|---|---|---|---|---|",
    ]
    for row in r["speed"]:
        lines.append(
            f"| {row['generator']} | {row['params']:,} | {row['input']} x{row['scale']} "
            f"| {fmt(row.get('untiled_ms'), '.1f')} | {fmt(row.get('tiled_ms'), '.1f')} |"
        )
    lines += ["", "| MP | output | RSS peak MiB | CUDA peak MiB |", "|---|---|---|---|"]
    for row in r.get("memory", []):
        lines.append(
            f"| {row['megapixels']:g} | {row['output']} | {row['rss_peak_mib']:.0f} "
            f"| {fmt(row.get('cuda_peak_mib'), '.0f')} |"
        )
    return lines


def main(out: Path) -> int:
    env = (
        (out / "environment.txt").read_text().strip() if (out / "environment.txt").is_file() else ""
    )
    with open(out / "status.tsv") as f:
        status = list(csv.DictReader(f, delimiter="\t"))
    ok16, line16 = fp16_check(out)
    ddp = next((s for s in status if s["step"] == "ddp_2gpu"), None)
    sections = [
        "# GPU suite summary",
        "",
        "```",
        env,
        "```",
        "",
        "## Steps",
        "",
        "| step | status | seconds |",
        "|---|---|---|",
        *(f"| {s['step']} | {s['status']} | {s['seconds']} |" for s in status),
        "",
        "## Training step, side by side (DeblurGAN recipe)",
        "",
        *step_table(out),
        "",
        line16,
        "",
        "## Speed options",
        "",
        *flag_table(out),
        "",
        "## DDP",
        "",
        "not run" if ddp is None else f"2 processes: {ddp['status']} in {ddp['seconds']} s",
        "",
        "## Inference (720p frames)",
        "",
        *infer_tables(out),
    ]
    print("\n".join(sections))
    return 1 if ok16 is False else 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1], "status.tsv").is_file():
        sys.exit("usage: python benchmarks/gpu_summary.py <gpu_suite output dir with status.tsv>")
    sys.exit(main(Path(sys.argv[1])))
