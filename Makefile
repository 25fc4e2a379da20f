# Set-up is automatic: every target that runs code first creates .venv if it is missing
# (the pinned CPU torch wheel first, so pip does not pull CUDA packages, then the project).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TORCH  ?= torch==2.13.0

.PHONY: install train test test-fast lint format params bench bench-train bench-data bench-step bench-infer gpu-suite reproduce-table1 reproduce-learning reproduce-srgn clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,export]'
	touch $(STAMP)

install: $(STAMP)

## The main job: DeblurGAN on the embedded demo data, sized for a laptop CPU (~10 min).
train: $(STAMP)
	$(BIN)/python src/train.py experiment=quickstart

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks experiments
	$(BIN)/ruff format --check src tests benchmarks experiments

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks experiments
	$(BIN)/ruff format src tests benchmarks experiments

## Layer tables and parameter counts of every seed recipe.
params: $(STAMP)
	for m in deblurgan deblurgan_keras unet_patchgan resnet_patchgan convdeconv_gan cnn_baseline esrgan_psnr esrgan srgn; do \
	  $(BIN)/python src/params.py model=$$m || exit 1; done

## Reproductions of the seed papers' tables (experiments/entries/<entry>.py), each ending with
## results.{md,csv} (paper value, ours, difference, protocol, images, scale) in its run folder:
##   make reproduce-table_dualgan | reproduce-table_keras_deblurgan | reproduce-table_unet_patchgan
##        | reproduce-table_gan_vs_cnn | reproduce-learning        SCALE=smoke|full (default full)
## SCALE=smoke: toy size on the embedded photos, minutes on 2 CPU cores, offline. SCALE=full: the
## datasets (GOPRO=, DIV2K=, SR= folders) and a GPU; whatever is missing stops it at once, with
## where to get it. ARGS="..." adds Hydra overrides.
SCALE ?= full
GOPRO ?= data/GOPRO_Large
DIV2K ?= data/DIV2K
SR    ?= data/sr
reproduce-%: $(STAMP)
	$(BIN)/python -m experiments.run $* --scale $(SCALE) \
	  --root GOPRO=$(GOPRO) --root DIV2K=$(DIV2K) --root SR=$(SR) $(ARGS)

## The Dual-GAN paper's Table 1 (seed 000): the same as reproduce-table_dualgan.
reproduce-table1: reproduce-table_dualgan

## Every deblurring recipe at one fixed CPU budget on the embedded photos, against the input and
## the classical baselines, with validation curves (SCALE=smoke: a few minutes; full: ~15 min).
reproduce-learning: $(STAMP)
	$(BIN)/python -m experiments.run learning --scale $(SCALE) $(ARGS)

## SR-GN's Table 1 (seed 004): the same as reproduce-table_srgn (SR-GN vs DeblurGAN on partial
## Gaussian / motion blur of GoPro sharp frames, reference part and complete image).
reproduce-srgn: reproduce-table_srgn

## What a CPU run reports (minutes; each part also has its own target): data crops/s (PNG
## decode vs the cache), the training step against the plain reference loop at batch 1 and 4,
## ms per 720p frame, peak memory at 1/4/16 MP with tiles. On a GPU: make gpu-suite.
BENCH_STEP_ARGS  ?= --crop 64 --steps 10 --warmup 2 --repeats 3
BENCH_INFER_ARGS ?= --generators resnet rrdb --repeats 1
BENCH_DATA_ARGS  ?=
BENCH_ENV        := PYTHONPATH=$(CURDIR)/src
bench: $(STAMP)
	@echo "== data: crops/s, PNG decode vs cache (benchmarks/bench_data.py) =="
	@if [ -f benchmarks/bench_data.py ]; then $(BENCH_ENV) $(BIN)/python benchmarks/bench_data.py $(BENCH_DATA_ARGS); \
	 else echo "benchmarks/bench_data.py is missing: no data numbers (it comes with the decoded cache)"; fi
	@echo "== training step, batch 1: 2018 reference loop / plain loop / ours (Lightning) =="
	$(BENCH_ENV) $(BIN)/python benchmarks/bench_step.py --batch 1 $(BENCH_STEP_ARGS)
	@echo "== training step, batch 4: plain loop / ours =="
	$(BENCH_ENV) $(BIN)/python benchmarks/bench_step.py --batch 4 --paths plain ours $(BENCH_STEP_ARGS)
	@echo "== inference: ms per 720p frame, peak memory at 1/4/16 MP with tiles =="
	$(BENCH_ENV) $(BIN)/python benchmarks/bench_infer.py $(BENCH_INFER_ARGS)

## Training throughput of every recipe (iterations/s); BENCH_ARGS="--crop 256 --precision bf16-mixed" etc.
bench-train: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py $(BENCH_ARGS)

## Training crops/s: PNG decode vs data.cache at 1/2/4 workers, beside what a DeblurGAN step consumes.
bench-data: $(STAMP)
	$(BENCH_ENV) $(BIN)/python benchmarks/bench_data.py $(BENCH_DATA_ARGS)

## DeblurGAN training step: the 2018-style plain loop vs ours through Lightning, side by side.
bench-step: $(STAMP)
	$(BIN)/python benchmarks/bench_step.py $(BENCH_ARGS)

## ms per 720p frame per generator (untiled / tiled) and peak memory at 1/4/16 MP with tiles.
bench-infer: $(STAMP)
	$(BIN)/python benchmarks/bench_infer.py $(BENCH_ARGS)

## Everything a GPU run reports, one summary file (needs CUDA; GPU_SUITE_ARGS=--dry-run on a CPU).
gpu-suite: $(STAMP)
	benchmarks/gpu_suite.sh $(GPU_SUITE_ARGS)

clean:
	rm -rf $(VENV) logs outputs multirun .pytest_cache .ruff_cache src/*.egg-info
