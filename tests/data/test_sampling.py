"""EpochSampler: (epoch, index) keys, a per-epoch order, rank shares, a resumable position."""

from __future__ import annotations

from restoregan.data.sampling import EpochSampler


def _keys(sampler: EpochSampler, epoch: int) -> list[tuple[int, int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_keys_carry_the_epoch_and_the_order_changes_per_epoch() -> None:
    sampler = EpochSampler(range(10), seed=3, batch_size=2)
    first, second = _keys(sampler, 0), _keys(sampler, 1)
    assert {e for e, _ in first} == {0} and {e for e, _ in second} == {1}
    assert sorted(i for _, i in first) == list(range(10))
    assert [i for _, i in first] != [i for _, i in second]
    # The order is a function of (seed, epoch) only.
    assert _keys(EpochSampler(range(10), seed=3, batch_size=2), 1) == second
    assert _keys(EpochSampler(range(10), seed=4, batch_size=2), 1) != second


def test_ranks_get_disjoint_equal_shares_of_one_permutation() -> None:
    shares = [
        _keys(EpochSampler(range(11), seed=0, batch_size=1, num_replicas=3, rank=r), 2)
        for r in range(3)
    ]
    assert [len(s) for s in shares] == [3, 3, 3]  # the tail that does not divide is dropped
    indices = [i for share in shares for _, i in share]
    assert len(set(indices)) == 9


def test_resume_continues_the_epoch_at_the_next_batch_then_starts_the_next_epoch_whole() -> None:
    whole = EpochSampler(range(12), seed=5, batch_size=3, num_replicas=2, rank=1)
    epoch2, epoch3 = _keys(whole, 2), _keys(whole, 3)

    running = EpochSampler(range(12), seed=5, batch_size=3, num_replicas=2, rank=1)
    running.set_epoch(2)
    state = running.state_dict(1)  # one batch of epoch 2 trained
    assert state == {"epoch": 2, "batches": 1, "seed": 5}

    resumed = EpochSampler(range(12), seed=5, batch_size=3, num_replicas=2, rank=1)
    resumed.load_state_dict(state)
    # Lightning may create the iterator before or after set_epoch(resumed epoch).
    assert list(resumed) == epoch2[3:]
    assert _keys(resumed, 3) == epoch3

    late = EpochSampler(range(12), seed=5, batch_size=3, num_replicas=2, rank=1)
    late.load_state_dict(state)
    assert _keys(late, 2) == epoch2[3:]


def test_a_finished_epoch_resumes_at_the_start_of_the_next() -> None:
    sampler = EpochSampler(range(8), seed=1, batch_size=2)
    sampler.set_epoch(4)
    state = sampler.state_dict(4, epoch_finished=True)
    resumed = EpochSampler(range(8), seed=1, batch_size=2)
    resumed.load_state_dict(state)
    assert list(resumed) == _keys(EpochSampler(range(8), seed=1, batch_size=2), 5)


def test_a_changed_seed_restarts_the_epoch_from_its_beginning() -> None:
    resumed = EpochSampler(range(8), seed=2, batch_size=2)
    resumed.load_state_dict({"epoch": 1, "batches": 2, "seed": 1})
    assert list(resumed) == _keys(EpochSampler(range(8), seed=2, batch_size=2), 1)
