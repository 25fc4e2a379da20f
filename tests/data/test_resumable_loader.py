"""PairedDataModule's training loader: (epoch, index) keys, one share per rank, and a
position saved through the datamodule's state that a new process continues from."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import Dataset

from restoregan.data.datamodule import PairedDataModule


class Keys(Dataset):
    """Returns its key, so a batch shows which items (and epochs) the loader asked for."""

    def __len__(self) -> int:
        return 13

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        return torch.tensor(key)


class KeysModule(PairedDataModule):
    def build_train(self) -> Dataset:
        return Keys()

    def build_val(self) -> Dataset:
        return Keys()


def _trainer(processed: int, *, world_size: int = 1, rank: int = 0, batches: int = 6):
    progress = SimpleNamespace(current=SimpleNamespace(processed=processed))
    return SimpleNamespace(
        fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(batch_progress=progress)),
        num_training_batches=batches,
        world_size=world_size,
        global_rank=rank,
        loggers=[],
    )


def _module(trainer: SimpleNamespace, workers: int = 0) -> KeysModule:
    dm = KeysModule(batch_size=2, num_workers=workers, crop_size=None, seed=7)
    dm.trainer = trainer
    dm.setup("fit")
    return dm


def _epoch(dm: KeysModule, epoch: int) -> list[list[list[int]]]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return [batch.tolist() for batch in loader]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_new_process_continues_the_epoch_from_the_saved_position(workers: int) -> None:
    whole = _epoch(_module(_trainer(0)), 3)
    assert len(whole) == 6 and all(e == 3 for batch in whole for e, _ in batch)

    running = _module(_trainer(0))
    _epoch(running, 3)
    running.trainer = _trainer(processed=2)  # two batches trained when the checkpoint is written
    state = running.state_dict()

    resumed = _module(_trainer(0), workers)
    resumed.load_state_dict(state)
    loader = resumed.train_dataloader()  # Lightning builds (and iterates) it, then set_epoch
    first = next(iter(loader)).tolist()
    assert first == whole[2]

    finished = _module(_trainer(0))
    _epoch(finished, 3)
    finished.trainer = _trainer(processed=6)  # the epoch was over: resume at the next one
    again = _module(_trainer(0), workers)
    again.load_state_dict(finished.state_dict())
    assert [b.tolist() for b in again.train_dataloader()] == _epoch(_module(_trainer(0)), 4)


def test_ddp_ranks_train_on_disjoint_shares() -> None:
    shares = [_epoch(_module(_trainer(0, world_size=2, rank=r)), 0) for r in range(2)]
    indices = [[i for batch in share for _, i in batch] for share in shares]
    assert len(indices[0]) == len(indices[1]) == 6
    assert not set(indices[0]) & set(indices[1])
