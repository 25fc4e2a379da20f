"""Diverged runs stop with one message (or skip and count), and last.ckpt stays good."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from restoregan.systems.guards import NonFiniteError, NonFiniteGuard
from tests.helpers import PROJECT_ROOT, TINY_RECIPES, TINY_TRAIN, compose, read_metrics
from tests.test_scripts import run_script
from train import train

SHORT = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",  # the tiny demo set has 3 batches
    "trainer.limit_val_batches=1",
    "test_after_fit=false",
    "callbacks.sample_grid=null",
    "callbacks.last_checkpoint.every_minutes=null",
]


def nan_term(at: list[int], kind: str = "loss") -> list[str]:
    """Overrides adding a loss term that is NaN (value or gradient) at iterations `at`."""
    return [
        "+loss.terms.nan._target_=tests.systems.nonfinite_terms.NaNAt",
        f"+loss.terms.nan.at={at}",
        f"+loss.terms.nan.kind={kind}",
        "+loss.weights.nan=1.0",
    ]


# One discriminator step per batch keeps the runs short: global step = 2 x iteration.
GAN = [*TINY_TRAIN, "model.d_steps=1"]


def _cfg(root: Path, demo_root: Path, *extra: str, base: list[str] = GAN):
    return compose("train", [*base, f"data.root={demo_root}", *SHORT, *extra], root)


def _finite(state: dict[str, torch.Tensor]) -> bool:
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@pytest.mark.slow  # a training subprocess, then a reference run
def test_nan_loss_stops_the_script_with_one_message_and_keeps_last_ckpt(
    tmp_path: Path, demo_root: Path
) -> None:
    run_dir = tmp_path / "run"
    proc = run_script(
        "train.py",
        *GAN,
        f"data.root={demo_root}",
        *SHORT,
        "callbacks.last_checkpoint.every_n_iterations=1",
        *nan_term([3]),
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
        check=False,
        env={"PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "src")])},
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    message = errors[0]
    assert "training diverged at generator iteration 3" in message
    assert "the generator loss is not finite (`nan` = nan, `g_loss` = nan)" in message
    assert f"The last good checkpoint is '{last}'" in message

    # last.ckpt holds the weights after iteration 2 (a discriminator and a generator step
    # per batch), all finite; and it loads as weights only.
    ckpt = torch.load(last, weights_only=True)
    assert ckpt["global_step"] == 2 * 2
    assert _finite(ckpt["state_dict"])
    # ... the same weights as a run that stops after 2 iterations without any NaN.
    reference = tmp_path / "reference"
    train(_cfg(reference, demo_root, "trainer.limit_train_batches=2", *nan_term([])))
    expected = torch.load(reference / "out" / "checkpoints" / "last.ckpt", weights_only=True)
    assert expected["global_step"] == 2 * 2
    for key, value in expected["state_dict"].items():
        torch.testing.assert_close(ckpt["state_dict"][key], value, rtol=1e-5, atol=1e-6)


def test_skip_mode_skips_and_counts_batches(tmp_path: Path, demo_root: Path) -> None:
    cfg = _cfg(
        tmp_path, demo_root, "model.nonfinite=skip", "model.nonfinite_max_skips=2",
        *nan_term([2, 3]),
    )  # fmt: skip
    train(cfg)
    ckpt = torch.load(tmp_path / "out" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["nonfinite_skips"] == 2
    assert _finite(ckpt["state_dict"])
    # Iterations 2 and 3 skipped their generator step: 3 discriminator steps, 1 generator.
    opt_g, opt_d = ckpt["optimizer_states"]
    steps = lambda opt: int(next(iter(opt["state"].values()))["step"])  # noqa: E731
    assert (steps(opt_g), steps(opt_d)) == (1, 3)
    assert ckpt["global_step"] == 4
    logged = [float(r["train/nonfinite_skips"]) for r in read_metrics(tmp_path / "out")
              if r.get("train/nonfinite_skips")]  # fmt: skip
    assert logged and max(logged) == 2


def test_skip_mode_stops_past_its_limit(tmp_path: Path, demo_root: Path) -> None:
    cfg = _cfg(
        tmp_path, demo_root, "model.nonfinite=skip", "model.nonfinite_max_skips=1",
        *nan_term([1, 2, 3]),
    )  # fmt: skip
    with pytest.raises(NonFiniteError, match=r"2 batches had non-finite values, more than "
                       r"model.nonfinite_max_skips=1; the last at generator iteration 2"):  # fmt: skip
        train(cfg)


def test_nonfinite_gradient_stops_or_skips_the_step(tmp_path: Path, demo_root: Path) -> None:
    # The term's value stays 0: only the gradient guard sees the NaN.
    stop = _cfg(tmp_path / "stop", demo_root, *nan_term([2], kind="grad"))
    with pytest.raises(NonFiniteError, match=r"generator iteration 2 .*the gradient is not "
                       r"finite \(generator\.\S+ and \d+ more\)"):  # fmt: skip
        train(stop)

    skip = _cfg(tmp_path / "skip", demo_root, "model.nonfinite=skip", *nan_term([2], "grad"))
    train(skip)
    ckpt = torch.load(tmp_path / "skip" / "out" / "checkpoints" / "last.ckpt", weights_only=True)
    opt_g, _ = ckpt["optimizer_states"]
    # The generator's Adam skipped the parameters whose gradients were cleared at iteration 2.
    assert {int(s["step"]) for s in opt_g["state"].values()} == {2}
    assert ckpt["nonfinite_skips"] == 1 and _finite(ckpt["state_dict"])


def test_supervised_regime_stops_on_nan(tmp_path: Path, demo_root: Path) -> None:
    cfg = _cfg(tmp_path, demo_root, *nan_term([2]), base=TINY_RECIPES["cnn_baseline"])
    with pytest.raises(NonFiniteError, match=r"generator iteration 2 \(global step 1,"):
        train(cfg)


def test_guard_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"model.nonfinite must be one of \('stop', 'skip'\)"):
        NonFiniteGuard("ignore")
    with pytest.raises(ValueError, match="nonfinite_max_skips must be >= 0"):
        NonFiniteGuard("skip", -1)


def test_supervised_regime_skips_a_batch(tmp_path: Path, demo_root: Path) -> None:
    cfg = _cfg(
        tmp_path, demo_root, "model.nonfinite=skip", *nan_term([2]),
        base=TINY_RECIPES["cnn_baseline"],
    )  # fmt: skip
    train(cfg)
    ckpt = torch.load(tmp_path / "out" / "checkpoints" / "last.ckpt", weights_only=True)
    # Automatic optimisation: the batch whose step returned None computed no gradients, so
    # Adam left every weight alone (Lightning still counts the step in global_step).
    (opt,) = ckpt["optimizer_states"]
    assert {int(s["step"]) for s in opt["state"].values()} == {2}
    assert ckpt["global_step"] == 3 and ckpt["nonfinite_skips"] == 1
    assert _finite(ckpt["state_dict"])
