"""last.ckpt every N generator iterations / T minutes, at the end of fit, and cleaned up."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from restoregan.callbacks import last_checkpoint
from restoregan.callbacks.last_checkpoint import LastCheckpoint
from restoregan.plugins.checkpoint_io import AtomicCheckpointIO
from tests.callbacks import fake_clock
from tests.helpers import TINY_TRAIN, compose
from train import train

# Two epochs of 3 batches (the tiny demo set), one discriminator step per batch: global
# step = 2 x generator iteration, which tells the iterations apart from Lightning's steps.
RUN = [
    *TINY_TRAIN,
    "model.d_steps=1",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "test_after_fit=false",
    "callbacks.sample_grid=null",
]


@pytest.fixture
def saves(monkeypatch) -> list[tuple[str, int]]:
    """(file name, global step) of every checkpoint written."""
    written: list[tuple[str, int]] = []
    save = AtomicCheckpointIO.save_checkpoint

    def record(self, checkpoint, path, storage_options=None):
        written.append((Path(path).name, int(checkpoint["global_step"])))
        return save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", record)
    return written


def _last(saves: list[tuple[str, int]]) -> list[int]:
    return [step for name, step in saves if name == "last.ckpt"]


def test_every_n_generator_iterations(tmp_path: Path, demo_root: Path, saves) -> None:
    cfg = compose(
        "train",
        [*RUN, f"data.root={demo_root}", "callbacks.last_checkpoint.every_n_iterations=2",
         "callbacks.last_checkpoint.every_minutes=null"],
        tmp_path,
    )  # fmt: skip
    train(cfg)
    # Iterations 2 and 4 mid-epoch, 3 and 6 at the epoch ends (iteration 6 is both: once).
    assert _last(saves) == [2 * 2, 2 * 3, 2 * 4, 2 * 6]


def test_every_t_minutes(tmp_path: Path, demo_root: Path, saves, monkeypatch) -> None:
    fake_clock.NOW[0] = 0.0
    monkeypatch.setattr(last_checkpoint, "monotonic", fake_clock.monotonic)
    cfg = compose(
        "train",
        [*RUN, f"data.root={demo_root}", "callbacks.last_checkpoint.every_minutes=5",
         "+callbacks.clock._target_=tests.callbacks.fake_clock.AdvanceClock",
         "+callbacks.clock.minutes=3"],
        tmp_path,
    )  # fmt: skip
    train(cfg)
    # 3 minutes a batch: 6 minutes at iteration 2 (saved), the epoch end at 3 restarts the
    # clock (9), 15 minutes at iteration 5 (saved), the epoch end at 6.
    assert _last(saves) == [2 * 2, 2 * 3, 2 * 5, 2 * 6]


def test_short_run_leaves_last_ckpt_and_stale_temporaries_go(
    tmp_path: Path, demo_root: Path, saves
) -> None:
    checkpoints = tmp_path / "out" / "checkpoints"
    checkpoints.mkdir(parents=True)
    stale = checkpoints / ".last.ckpt.k2j4x9ab.tmp"  # what a killed write leaves
    stale.write_bytes(b"half a checkpoint")
    (checkpoints / "notes.txt").write_text("mine")
    # No validation within the run (every 2nd epoch, 1 epoch) and no mid-epoch trigger:
    # only the end of fit writes last.ckpt. With the EMA callback, whose weights it holds.
    cfg = compose(
        "train",
        [*RUN, f"data.root={demo_root}", "callbacks=ema", "trainer.max_epochs=1",
         "trainer.check_val_every_n_epoch=2", "callbacks.last_checkpoint.every_minutes=null"],
        tmp_path,
    )  # fmt: skip
    train(cfg)
    assert saves == [("last.ckpt", 2 * 3)]
    assert sorted(p.name for p in checkpoints.iterdir()) == ["last.ckpt", "notes.txt"]
    # A checkpoint of a real run loads with torch.load(weights_only=True): plain types and
    # tensors only (RNG states as lists, the run config as a dict).
    ckpt = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 2 * 3
    assert ckpt["generator_ema"] and ckpt["rng_states"] and ckpt["restoregan"]


def test_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="every_n_iterations must be >= 1 or null, got 0"):
        LastCheckpoint(dirpath=tmp_path, every_n_iterations=0)
    with pytest.raises(ValueError, match="every_minutes must be >= 0 or null, got -1"):
        LastCheckpoint(dirpath=tmp_path, every_minutes=-1)
