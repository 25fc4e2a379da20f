"""A resumed run continues its run: the same folder, `best.ckpt`'s best score, one
`metrics.csv`, one W&B run (offline here: no network, no account) holding the logged
metrics and the sample grids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.helpers import TINY_TRAIN, compose, read_metrics
from tests.wandb_records import run_info
from train import train

RUN = [
    *(o for o in TINY_TRAIN if o != "logger=csv"),
    "logger=wandb",
    "model.d_steps=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "test_after_fit=false",
]


def _best_state(ckpt: Path) -> dict:
    states = torch.load(ckpt, weights_only=True)["callbacks"]
    (state,) = [s for k, s in states.items() if "val/psnr" in k]
    return state


@pytest.mark.slow  # two short trainings, ~30 s of CPU
def test_resume_keeps_the_best_score_the_csv_history_and_the_wandb_run(
    tmp_path: Path, demo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    out = tmp_path / "out"
    run = [*RUN, f"data.root={demo_root}"]
    train(compose("train", [*run, "trainer.max_epochs=1"], tmp_path))

    last = out / "checkpoints" / "last.ckpt"
    before = _best_state(last)  # last.ckpt carries the `best` ModelCheckpoint's state
    assert before["best_model_path"] == str(out / "checkpoints" / "best.ckpt")
    first_score = float(before["best_model_score"])
    run_id = (out / "wandb_id.txt").read_text().strip()

    probe = tmp_path / "probe.json"
    resumed = [
        *run,
        "trainer.max_epochs=2",
        f"ckpt_path={last}",
        "+callbacks.probe._target_=tests.systems.probes.BestScoreProbe",
        f"+callbacks.probe.path={probe}",
    ]
    train(compose("train", resumed, tmp_path))

    # The restored `best` callback knew the score and file of before the resume.
    seen = json.loads(probe.read_text())
    assert seen["score"] == pytest.approx(first_score)
    assert seen["best_k"] == [str(out / "checkpoints" / "best.ckpt")]

    rows = read_metrics(out)
    val = [float(r["val/psnr"]) for r in rows if r.get("val/psnr")]
    assert len(val) == 2 and val[0] == pytest.approx(first_score)  # epoch 0's row kept
    assert sorted({r["epoch"] for r in rows if r["train/g_loss"]}) == ["0", "1"]
    after = _best_state(out / "checkpoints" / "last.ckpt")
    assert float(after["best_model_score"]) == pytest.approx(max(val))
    best = torch.load(out / "checkpoints" / "best.ckpt", weights_only=True)
    assert best["epoch"] == (0 if val[0] >= val[1] else 1)

    # One W&B run id, both processes' offline runs under it, holding the logged metrics (the
    # CSV's values) and the sample grids.
    offline = sorted((out / "wandb").glob("offline-run-*"))
    assert len(offline) == 2
    wandb_psnr = []
    for epoch, folder in enumerate(offline):
        info = run_info(folder)
        assert info["id"] == run_id
        history = info["history"]
        assert {r["epoch"] for r in history if "train/g_loss" in r} == {epoch}
        wandb_psnr += [r["val/psnr"] for r in history if "val/psnr" in r]
        (image,) = [r["samples/filenames"][0] for r in history if "samples/filenames" in r]
        assert (folder / "files" / image).is_file()
    assert wandb_psnr == pytest.approx(val)
