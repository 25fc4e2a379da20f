"""What every training regime shares: the generator, its objective, evaluation and state.

Subclasses add the optimisation step: `SupervisedSystem` (automatic optimisation, no
discriminator) and `AdversarialSystem` (manual optimisation, discriminator steps then a generator step).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import lightning.pytorch as L
import numpy as np
import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torchmetrics import MeanMetric

from restoregan import metrics, region_metrics
from restoregan.losses.composite import GeneratorLoss
from restoregan.nets import load_weights
from restoregan.nets.contract import Generator, require
from restoregan.restore import input_baseline, restore, to_range
from restoregan.systems.guards import NonFiniteGuard

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
SchedulerFactory = Callable[[Optimizer], Any]
Interval = Literal["epoch", "step"]

_EVAL_KEYS = ("psnr", "ssim", "psnr_input", "ssim_input")
_PLATEAU_METRICS = {f"val/{k}" for k in _EVAL_KEYS}
# An image without blur has no blurred part (NaN): such values are skipped in the mean.
_REGION_KEYS = region_metrics.VALIDATION_KEYS


def _rng_states() -> dict[str, Any]:
    # Plain types only: Lightning loads checkpoints with torch.load(weights_only=True).
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [name, keys.tolist(), pos, has_gauss, gauss],
        "python": random.getstate(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    name, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    random.setstate(states["python"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class RestorationSystem(L.LightningModule):
    """Base LightningModule for image restoration.

    Batches are dicts `{"input": (B, 3, h, w), "target": (B, 3, H, W), "name": [...]}` in
    [0, 1]; the generator works in its own `value_range`, and the mapping happens here.

    Args:
        generator: the restoration network (see DEVELOPERS.md for its attributes).
        loss: a `restoregan.losses.composite.GeneratorLoss` (content terms, optional GAN loss).
        optimizer_g: partial optimiser, called with the generator parameters.
        scheduler_g: partial LR scheduler, called with the generator optimiser, or None.
        scheduler_interval: step schedulers once per "epoch" or once per generator "step".
        scheduler_monitor: the metric a ReduceLROnPlateau schedule watches (supervised
            regime only, where Lightning steps the schedule), e.g. "val/psnr".
        init_from: generator weights to start from (a restoregan checkpoint or an official
            .pth file); used by later stages such as ESRGAN after its PSNR pre-training.
        nonfinite: a NaN / inf loss or gradient "stop"s the run or is "skip"ped (the batch
            counted); see `restoregan.systems.guards`.
        nonfinite_max_skips: with "skip", how many skipped batches stop the run after all.
    """

    def __init__(
        self,
        *,
        generator: Generator,
        loss: GeneratorLoss,
        optimizer_g: OptimizerFactory,
        scheduler_g: SchedulerFactory | None = None,
        scheduler_interval: Interval = "epoch",
        scheduler_monitor: str | None = None,
        init_from: str | None = None,
        nonfinite: str = "stop",
        nonfinite_max_skips: int = 100,
    ) -> None:
        super().__init__()
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
            )
        require(generator, Generator, "generator")
        self.generator = generator
        self.loss = loss
        self.optimizer_g = optimizer_g
        self.scheduler_g = scheduler_g
        self.scheduler_interval = scheduler_interval
        self.scheduler_monitor = scheduler_monitor
        self.range = generator.value_range
        # Written once, by the generator: the loss terms that depend on it are told here.
        loss.set_value_range(self.range)
        if init_from:
            # Done at construction so that a resumed run's checkpoint still wins afterwards.
            load_weights(self.generator, init_from)
        self._step_rng: Tensor | None = None  # see step_rng()
        self.guard = NonFiniteGuard(nonfinite, nonfinite_max_skips)
        self.eval_metrics = nn.ModuleDict(
            {
                stage: nn.ModuleDict(
                    {k: MeanMetric() for k in _EVAL_KEYS}
                    | {k: MeanMetric(nan_strategy="ignore") for k in _REGION_KEYS}
                )
                for stage in ("val", "test")
            }
        )
        self.save_hyperparameters(
            {
                "generator": type(generator).__name__,
                "generator_params": sum(p.numel() for p in generator.parameters()),
                "scheduler_interval": scheduler_interval,
                "init_from": init_from,
                "loss": loss.describe(),
            }
        )

    # ---- helpers -------------------------------------------------------------------------
    def to_net(self, x01: Tensor) -> Tensor:
        return to_range(x01, self.range)

    def log_train(self, logs: dict[str, Tensor], *, batch_size: int) -> None:
        """Log a training step's values, only on the steps where Lightning logs.

        Every `self.log` costs Lightning's bookkeeping (~0.4 ms per value on a CPU, measured
        with benchmarks/bench_step.py) and every logged tensor is later read to the host;
        between two `trainer.log_every_n_steps` nothing would reach a logger, so those steps
        log nothing. Training values are step values (`on_epoch=False`), so no average over
        the skipped steps is lost; the progress bar shows the last logged `train/g_loss`.
        """
        trainer = self._trainer
        if trainer is not None and not (
            trainer._logger_connector.should_update_logs or trainer.fast_dev_run
        ):
            return
        values = {k: v.detach() for k, v in logs.items()}
        bar = {k: values.pop(k) for k in ("train/g_loss",) if k in values}
        self.log_dict(values, batch_size=batch_size, on_step=True, on_epoch=False)
        # A second call only for the bar: one log_dict with prog_bar=True would put
        # every term there.
        self.log_dict(bar, batch_size=batch_size, on_step=True, on_epoch=False, prog_bar=True)

    def generate(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        """``G(input)`` in the generator's range, and what the objective takes beside it:
        the batch's blur ``mask`` when it has one and, for a generator with a blur-region
        branch (SR-GN's ``forward_with_mask``), its ``mask_logits``. Batches without masks
        and generators without the branch give fewer keys; every loss accepts them."""
        x = self.to_net(batch["input"])
        mask = batch.get("mask")
        extras = {} if mask is None else {"mask": mask}
        with_mask = getattr(self.generator, "forward_with_mask", None)
        if with_mask is None:
            return self.generator(x), extras
        fake, logits = with_mask(x, mask)
        return fake, {**extras, "mask_logits": logits}

    def _protocol(self) -> metrics.Protocol:
        dm = getattr(self.trainer, "datamodule", None)
        name = getattr(dm, "protocol", "deblur")
        return metrics.get_protocol(name, scale=int(getattr(dm, "scale", 1)))

    def _build_optimizer(
        self,
        factory: OptimizerFactory,
        params: Iterable[nn.Parameter],
        sched: SchedulerFactory | None,
    ) -> dict[str, Any]:
        optimizer = factory(params)
        config: dict[str, Any] = {"optimizer": optimizer}
        if sched is None:
            return config
        scheduler = sched(optimizer)
        config["lr_scheduler"] = {"scheduler": scheduler, "interval": self.scheduler_interval}
        if isinstance(scheduler, ReduceLROnPlateau):
            if self.scheduler_monitor not in _PLATEAU_METRICS:
                raise ValueError(
                    f"ReduceLROnPlateau needs model.scheduler_monitor set to one of "
                    f"{sorted(_PLATEAU_METRICS)}, got {self.scheduler_monitor!r}"
                )
            # Stepped by on_validation_epoch_end, before last.ckpt is written. Lightning
            # would step it after the checkpoint and skip that step on resume; the huge
            # frequency keeps it from stepping the schedule a second time.
            config["lr_scheduler"].update(
                interval="epoch", frequency=2**31, monitor=self.scheduler_monitor, strict=False
            )
        return config

    def _plateau_schedulers(self) -> list[ReduceLROnPlateau]:
        configs = self.trainer.lr_scheduler_configs if self._trainer is not None else []
        return [c.scheduler for c in configs if isinstance(c.scheduler, ReduceLROnPlateau)]

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        for scheduler in self._plateau_schedulers():
            stage, key = self.scheduler_monitor.split("/")
            scheduler.step(self.eval_metrics[stage][key].compute())

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        # After AMP's unscaling, before the step: non-finite gradients never reach the weights.
        self.guard.gradients_ok(self, optimizer)

    # ---- evaluation ----------------------------------------------------------------------
    def _evaluate(self, batch: dict[str, Any], stage: str) -> Tensor:
        x, y = batch["input"], batch["target"]
        pred = restore(self.generator, x).float()
        # The input's own score (bicubic-upsampled for SR) so every chart shows the gain.
        baseline = input_baseline(x, tuple(y.shape[-2:]))
        protocol = self._protocol()
        # Per-image values; the MeanMetric below averages them over images.
        scores = metrics.batch_scores(pred, y, protocol)
        given = metrics.batch_scores(baseline, y, protocol)
        scores.update({f"{k}_input": v for k, v in given.items()})
        if batch.get("mask") is not None:  # partial blur: the clear and blurred parts too
            scores.update(
                region_metrics.validation_scores(pred, baseline, y, batch["mask"], protocol)
            )
        for key, values in scores.items():
            metric = self.eval_metrics[stage][key]
            metric.update(values)
            self.log(
                f"{stage}/{key}",
                metric,
                on_step=False,
                on_epoch=True,
                batch_size=x.shape[0],
                prog_bar=key == "psnr",
            )
        return pred

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        return self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        return self._evaluate(batch, "test")

    # ---- state ---------------------------------------------------------------------------
    @contextmanager
    def step_rng(self) -> Iterator[None]:
        """Run a training step on its own CPU random stream (dropout, GP weights on CPU).

        With num_workers=0 the data pipeline draws crops and flips from the global CPU RNG
        too, and Lightning prefetches batches at different points in a resumed epoch than
        in an uninterrupted one; two separate streams make both orders reproducible. (On
        GPU, dropout and the GP already draw from the CUDA generator.)
        """
        if self._step_rng is None:
            self._step_rng = (
                torch.Generator().manual_seed((torch.initial_seed() + 1) % 2**63).get_state()
            )
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._step_rng)
            try:
                yield
            finally:
                self._step_rng = torch.get_rng_state()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning does not store RNG states; without them a resumed run draws different
        # crops, dropout masks and GP interpolation weights than an uninterrupted one.
        checkpoint["rng_states"] = {**_rng_states(), "step": self._step_rng}
        checkpoint["nonfinite_skips"] = self.guard.skipped

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Restored here, not in on_train_start: on resume Lightning creates the training
        # loader's iterator (which draws its shuffle seed from the global RNG) before
        # on_train_start; nothing between this hook and that draw uses the RNG.
        if "rng_states" in checkpoint:
            _set_rng_states(checkpoint["rng_states"])
            self._step_rng = checkpoint["rng_states"].get("step")
        self.guard.skipped = int(checkpoint.get("nonfinite_skips", 0))
