"""The training sampler: ``(epoch, index)`` keys, a per-epoch shuffle, a resumable position.

Every training item's randomness is a function of ``(seed, epoch, index)``
(:func:`restoregan.data.transforms.item_rngs`), so the sampler only has to say *which*
items come in *which* order: a permutation drawn from ``(seed, epoch)`` alone, sliced per
DDP rank. Its state (the epoch and how many batches of it were trained) is all a
mid-epoch checkpoint needs to continue with the very batches an uninterrupted run would
have seen; :class:`~restoregan.data.datamodule.PairedDataModule` stores it through
Lightning's datamodule ``state_dict`` hooks.

It subclasses torch's ``DistributedSampler`` for its per-rank slicing (every rank draws
the same permutation and takes every ``num_replicas``-th item from ``rank``) and because
Lightning leaves a ``DistributedSampler`` in place under DDP instead of wrapping it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from itertools import islice
from typing import Any

from torch.utils.data import DistributedSampler

__all__ = ["EpochSampler"]


class EpochSampler(DistributedSampler):
    """Yields ``(epoch, index)`` keys of one rank's share of a shuffled epoch.

    Args:
        dataset: the training set (only its length is used).
        seed: with the epoch, fixes the order (the datamodule's ``seed``).
        batch_size: per-rank batch size; positions are counted in batches.
        num_replicas, rank: the DDP world size and this process's global rank.
        shuffle: draw a permutation per epoch (else the natural order).

    The epoch's share drops its tail so every rank has the same number of items
    (``drop_last``), as the training loader drops its last partial batch anyway.
    """

    def __init__(
        self,
        dataset: Sized,
        *,
        seed: int,
        batch_size: int,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
    ) -> None:
        super().__init__(
            dataset,  # type: ignore[arg-type]  # only len() is used
            num_replicas=num_replicas,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=True,
        )
        self.batch_size = batch_size
        # Where the next __iter__ starts: (epoch, batches already trained in it).
        self._resume: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        # Lightning calls this at every epoch start, also right after a resume (with the
        # resumed epoch): only a different epoch discards the pending resume position.
        if self._resume is not None and self._resume[0] != epoch:
            self._resume = None
        super().set_epoch(epoch)

    def resume_at(self, epoch: int, batches: int) -> None:
        """Make the next iteration start at epoch ``epoch`` after ``batches`` batches."""
        if epoch < 0 or batches < 0:
            raise ValueError(f"a sampler position is non-negative, got {(epoch, batches)}")
        self.epoch = epoch
        self._resume = (epoch, batches) if batches else None

    def __iter__(self) -> Iterator[tuple[int, int]]:
        # Read the epoch now: the loader's iterator may be created before set_epoch (on
        # resume Lightning creates it first), so resume_at sets the epoch as well.
        epoch = self.epoch
        skip = 0
        if self._resume is not None and self._resume[0] == epoch:
            skip = self._resume[1] * self.batch_size
        self._resume = None  # one resumed epoch; the next ones start at their beginning
        for index in islice(super().__iter__(), skip, None):
            yield epoch, int(index)

    def state_dict(self, batches_done: int, *, epoch_finished: bool = False) -> dict[str, Any]:
        """The position to store: the next batch to train is ``batches_done`` of this epoch,
        or the first of the next one when the epoch is finished."""
        if epoch_finished:
            return {"epoch": self.epoch + 1, "batches": 0, "seed": self.seed}
        return {"epoch": self.epoch, "batches": batches_done, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state.get("seed", self.seed)) != self.seed:
            # A different seed is a different order: "the same batches" cannot hold, and the
            # user asked for it by changing data.seed, so start the epoch from its beginning.
            self.resume_at(int(state["epoch"]), 0)
            return
        self.resume_at(int(state["epoch"]), int(state["batches"]))
