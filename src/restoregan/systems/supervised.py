"""Supervised regime: any generator, content losses only, automatic optimisation.

Used for the CNN baselines (the ResNet/PatchGAN paper's "CNN 17.1M") and the PSNR-oriented pre-training
of later GAN stages (ESRGAN's L1 stage).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from restoregan.systems.base import RestorationSystem


class SupervisedSystem(RestorationSystem):
    """Minimise `loss(G(x), y)`; no discriminator. See `RestorationSystem` for the arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if getattr(self.loss, "adversarial", None) is not None:
            raise ValueError(
                "SupervisedSystem got a loss with an adversarial term; use model=<gan recipe> "
                "(AdversarialSystem) or a loss recipe with `adversarial: null`"
            )

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor | None:
        real = self.to_net(batch["target"])
        with self.step_rng():
            fake, extras = self.generate(batch)  # extras: the blur mask (and SR-GN's logits)
            total, terms = self.loss(fake, real, **extras)
        if not self.guard.losses_ok(self, {**terms, "g_loss": total}, "generator"):
            return None  # model.nonfinite=skip: Lightning skips a step that returns None
        bs = real.shape[0]
        self.log_train(
            {"train/g_loss": total, **{f"train/{k}": v for k, v in terms.items()}}, batch_size=bs
        )
        return total

    def configure_optimizers(self) -> dict[str, Any]:
        return self._build_optimizer(
            self.optimizer_g, self.generator.parameters(), self.scheduler_g
        )
