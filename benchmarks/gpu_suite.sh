#!/usr/bin/env bash
# Everything a GPU run should report, in one go (< 8 minutes on one modern GPU), into one
# summary file:
#   - the training step side by side (2018 reference loop / plain loop / ours) at batch 1
#     and 16, with peak memory;
#   - fp32, bf16-mixed and 16-mixed step rates at batch 1 and 16 (16-mixed checked to run
#     float16 convs with a GradScaler);
#   - each speed option of conf/callbacks (callbacks.speed.*) against the batch-16 baseline:
#     TF32, cudnn.benchmark, channels_last, fused Adam, torch.compile(generator), and all of
#     them with bf16-mixed;
#   - a 2-GPU DDP training check when two devices exist;
#   - 720p inference latency per generator, untiled and tiled, and peak memory at 1/4/16 MP.
#
#   benchmarks/gpu_suite.sh                 # on a CUDA machine; writes logs/bench/gpu_suite_<time>/
#   benchmarks/gpu_suite.sh --out DIR
#   benchmarks/gpu_suite.sh --dry-run       # the same plumbing on the CPU with tiny sizes
#
# Without CUDA (and without --dry-run) it stops before running anything. A step that fails
# is recorded in the summary and the script exits non-zero after the remaining steps. The
# whole suite keeps to BUDGET seconds (default 450, so it ends within 8 minutes with the
# start-up): a step that would start after the budget is skipped and says so, and each step's
# timeout is cut to what is left.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"

DRY=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --out) OUT="$2"; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "gpu_suite: unknown argument '$1' (expected --dry-run, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-$ROOT/logs/bench/gpu_suite_$(date +%Y%m%d-%H%M%S)}"

if [ "$DRY" = 0 ]; then
  if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "gpu_suite: CUDA is not available to $PY ($("$PY" -c 'import torch; print("torch", torch.__version__)' 2>&1 | tail -1))." >&2
    echo "Run it on a machine with an NVIDIA GPU and a CUDA build of torch, or use --dry-run to check the script on the CPU." >&2
    exit 2
  fi
  NGPU="$("$PY" -c 'import torch; print(torch.cuda.device_count())')"
  DEV=cuda
  STEP=(--crop 256 --steps 6 --warmup 2 --repeats 3)
  BIG=16
  INFER=(--repeats 5)
  TIMEOUT=150
  BUDGET="${BUDGET:-450}"
else
  NGPU=0
  DEV=cpu
  STEP=(--tiny --crop 32 --steps 1 --warmup 1 --repeats 1 --threads 1)
  BIG=2
  INFER=(--quick --repeats 1 --tile 128 --threads 1 --generators resnet rrdb --memory-sizes 0.25 1)
  TIMEOUT=300
  BUDGET="${BUDGET:-1800}"  # the CPU dry run is slower than the GPU suite, not bounded by it
fi

mkdir -p "$OUT"
STATUS="$OUT/status.tsv"
printf 'step\tstatus\tseconds\n' > "$STATUS"
START=$SECONDS
FAILED=0

# run NAME CMD...: output to NAME.log, one status row, one progress line.
run() {
  local name="$1"; shift
  local t0=$SECONDS rc left=$((BUDGET - (SECONDS - START)))
  if [ "$left" -lt 20 ]; then skip "$name" "suite budget of ${BUDGET}s spent"; return; fi
  local limit=$((left < TIMEOUT ? left : TIMEOUT))
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  local dt=$((SECONDS - t0)) status=ok
  if [ $rc -eq 124 ]; then status="timeout(${limit}s)"; elif [ $rc -ne 0 ]; then status="failed($rc)"; fi
  [ "$status" = ok ] || FAILED=1
  printf '%s\t%s\t%s\n' "$name" "$status" "$dt" >> "$STATUS"
  printf 'gpu_suite: %-16s %-14s %4ss (total %ss)\n' "$name" "$status" "$dt" "$((SECONDS - START))"
}
skip() { printf '%s\tskipped: %s\t0\n' "$1" "$2" >> "$STATUS"; echo "gpu_suite: $1 skipped: $2"; }

{
  echo "dry_run=$DRY device=$DEV gpus=$NGPU host=$(hostname)"
  "$PY" -c 'import torch, lightning; print("torch", torch.__version__, "cuda", torch.version.cuda, "lightning", lightning.__version__)'
  [ "$DRY" = 1 ] || nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
} > "$OUT/environment.txt" 2>&1

STEP_PY=("$PY" benchmarks/bench_step.py --device "$DEV" "${STEP[@]}")
# Most important first: the budget skips from the end.
run step_b1        "${STEP_PY[@]}" --batch 1 --json "$OUT/step_b1.json"
run step_b16       "${STEP_PY[@]}" --batch "$BIG" --json "$OUT/step_b16.json"
run step_bf16      "${STEP_PY[@]}" --batch "$BIG" --precision bf16-mixed --paths plain ours --json "$OUT/step_bf16.json"
if [ "$DEV" = cuda ]; then
  run step_fp16    "${STEP_PY[@]}" --batch "$BIG" --precision 16-mixed --paths plain ours --json "$OUT/step_fp16.json"
else
  skip step_fp16 "16-mixed needs CUDA (Lightning runs it as bf16 on the CPU)"
fi
run infer          "$PY" benchmarks/bench_infer.py --device "$DEV" "${INFER[@]}" --json "$OUT/infer.json"
DDP=("$PY" src/train.py model=deblurgan data=demo trainer=ddp trainer.devices=2
     trainer.max_epochs=1 trainer.limit_train_batches=8 trainer.limit_val_batches=2
     trainer.num_sanity_val_steps=0 trainer.enable_progress_bar=false test_after_fit=false
     logger=csv data.num_workers=0 callbacks.sample_grid=null
     loss.terms.perceptual.weights=random "hydra.run.dir=$OUT/ddp_run")
if [ "$NGPU" -ge 2 ]; then
  RESTOREGAN_ROOT="$OUT/ddp_root" run ddp_2gpu "${DDP[@]}" trainer.accelerator=gpu data.crop_size=128 data.batch_size=8
elif [ "$DRY" = 1 ]; then
  # The plumbing only: two CPU processes (gloo), tiny networks.
  RESTOREGAN_ROOT="$OUT/ddp_root" OMP_NUM_THREADS=1 run ddp_2gpu "${DDP[@]}" trainer.accelerator=cpu \
    data.crop_size=32 data.batch_size=2 data.max_side=96 data.train_variants=1 data.val_variants=1 \
    generator.ngf=8 generator.n_blocks=2 discriminator.ndf=8
else
  skip ddp_2gpu "only $NGPU CUDA device(s)"
fi

run step_bf16_b1   "${STEP_PY[@]}" --batch 1 --precision bf16-mixed --paths plain ours --json "$OUT/step_bf16_b1.json"
if [ "$DEV" = cuda ]; then
  run step_fp16_b1 "${STEP_PY[@]}" --batch 1 --precision 16-mixed --paths plain ours --json "$OUT/step_fp16_b1.json"
else
  skip step_fp16_b1 "16-mixed needs CUDA"
fi
# On/off comparisons against step_b16's `ours` (TF32 and cudnn.benchmark on, contiguous):
# ours gets each option through restoregan.callbacks.speed.SpeedOptions, as in training.
OURS=("${STEP_PY[@]}" --batch "$BIG" --paths ours)
run flag_no_tf32   "${OURS[@]}" --no-tf32 --json "$OUT/flag_no_tf32.json"
run flag_no_cudnn_benchmark "${OURS[@]}" --no-cudnn-benchmark --json "$OUT/flag_no_cudnn_benchmark.json"
run flag_channels_last "${OURS[@]}" --channels-last --json "$OUT/flag_channels_last.json"
run flag_fused_adam "${OURS[@]}" --fused-adam --json "$OUT/flag_fused_adam.json"
if [ "$DEV" = cuda ]; then
  run flag_compile "${OURS[@]}" --compile --json "$OUT/flag_compile.json"
  run flag_all_bf16 "${OURS[@]}" --precision bf16-mixed --channels-last --fused-adam --compile --json "$OUT/flag_all_bf16.json"
else
  skip flag_compile "torch.compile is only measured on the GPU (inductor's CPU build takes minutes)"
  skip flag_all_bf16 "includes torch.compile: GPU only"
fi

"$PY" benchmarks/gpu_summary.py "$OUT" > "$OUT/summary.md" || FAILED=1
cat "$OUT/summary.md"
echo "gpu_suite: summary in $OUT/summary.md ($((SECONDS - START)) s)"
exit $FAILED
