"""Unit and property tests of the collection-order work queue."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testfleet.scheduling import WorkQueue, batch_target, group_by_scope
from testfleet.scheduling.resources import Resources


def test_group_by_scope_keeps_consecutive_runs() -> None:
    """Items are grouped by runs of equal keys, in order, without merging runs apart."""
    assert group_by_scope(["a", "a", "b", "a"]) == [[0, 1], [2], [3]]
    assert group_by_scope([]) == []


@pytest.mark.parametrize(
    ("mean", "expected"),
    [(None, 3), (0.0, 3), (10.0, 3), (0.01, 10), (0.0001, 256)],
)
def test_batch_target(mean: float | None, expected: int) -> None:
    """A batch covers the horizon of work, at least three items and at most the cap."""
    assert batch_target(mean) == expected


@pytest.mark.parametrize(("mean", "expected"), [(None, 3), (10.0, 3), (0.01, 3), (0.0001, 200)])
def test_batch_target_in_the_tail(mean: float | None, expected: int) -> None:
    """In the tail a worker holds three items, or a fifth of the horizon of fast ones."""
    assert batch_target(mean, tail=True) == expected


def test_whole_groups_go_to_one_worker() -> None:
    """While plenty is left, a worker gets a whole module and the next worker the next one."""
    queue = WorkQueue([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]])
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 3) == [0, 1, 2]
    assert queue.take("gw1", 3) == [3, 4, 5]


def test_a_group_larger_than_a_fair_share_is_split() -> None:
    """One module of 10 items on two workers is split in two halves."""
    queue = WorkQueue([list(range(10))])
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 100) == [0, 1, 2, 3, 4]
    assert queue.take("gw1", 100) == [5, 6, 7, 8, 9]


def test_idle_worker_steals_every_other_item_of_largest_reservation() -> None:
    """With nothing unreserved, a worker takes alternate items, from the back, of the
    largest reservation, so a cluster of slow tests at a module's end is split."""
    queue = WorkQueue([list(range(12))])
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 1) == [0]  # gw0 reserved 0..5
    assert queue.take("gw1", 6) == [6, 7, 8, 9, 10, 11]
    assert queue.in_tail
    assert queue.take("gw1", 6) == [1, 3, 5]
    assert queue.take("gw0", 6) == [2, 4]
    assert queue.take("gw0", 4) == []
    assert queue.unsent == 0


def test_removed_worker_gives_back_its_reservation() -> None:
    """A worker's unsent reservation can be handed to its replacement in order."""
    queue = WorkQueue([list(range(6))])
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    queue.take("gw0", 1)
    leftover = queue.remove_worker("gw0")
    assert leftover == [1, 2]
    queue.add_worker("gw2", leftover)
    assert queue.take("gw2", 10) == [1, 2]


def test_clear_drops_everything() -> None:
    """After clear no worker gets work."""
    queue = WorkQueue([[0, 1], [2, 3]])
    queue.add_worker("gw0")
    queue.clear()
    assert queue.take("gw0", 10) == []


group_lists = st.lists(st.integers(min_value=1, max_value=12), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    sizes=group_lists,
    workers=st.integers(min_value=1, max_value=5),
    requests=st.lists(st.tuples(st.integers(0, 4), st.integers(1, 7)), max_size=80),
)
def test_every_item_is_handed_out_exactly_once(
    sizes: list[int], workers: int, requests: list[tuple[int, int]]
) -> None:
    """Whatever the order and size of requests, each item goes to exactly one worker."""
    groups, start = [], 0
    for size in sizes:
        groups.append(list(range(start, start + size)))
        start += size
    queue = WorkQueue(groups)
    names = [f"gw{n}" for n in range(workers)]
    for name in names:
        queue.add_worker(name)
    handed: list[int] = []
    for who, count in requests:
        batch = queue.take(names[who % workers], count)
        assert len(batch) <= count
        handed += batch
    for name in names:  # drain
        while batch := queue.take(name, 5):
            handed += batch
    assert sorted(handed) == list(range(start))
    assert queue.unsent == 0


@settings(max_examples=200, deadline=None)
@given(
    sizes=group_lists,
    workers=st.integers(min_value=1, max_value=5),
    requests=st.lists(st.tuples(st.integers(0, 4), st.integers(1, 7)), max_size=80),
)
def test_nothing_is_withheld_from_an_idle_worker(
    sizes: list[int], workers: int, requests: list[tuple[int, int]]
) -> None:
    """A worker gets an empty batch only when no unsent item is left anywhere."""
    queue = WorkQueue([[0] * size for size in sizes])
    names = [f"gw{n}" for n in range(workers)]
    for name in names:
        queue.add_worker(name)
    for who, count in requests:
        if not queue.take(names[who % workers], count):
            assert queue.unsent == 0


def test_start_of_a_run_splits_a_lone_module_evenly() -> None:
    """Three workers asking in turn for big batches share one module in thirds."""
    queue = WorkQueue([list(range(9))])
    for name in ("gw0", "gw1", "gw2"):
        queue.add_worker(name)
    assert [queue.take(name, 100) for name in ("gw0", "gw1", "gw2")] == [
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8],
    ]


def test_weights_make_fair_shares_of_time_not_count() -> None:
    """A module whose last tests are slow is split where the estimated time halves."""
    weights = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 4.0}
    queue = WorkQueue([range(5)], weights=weights)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 10) == [0, 1, 2, 3]
    assert queue.take("gw1", 10) == [4]


def test_a_resource_bound_unit_is_never_split_nor_stolen() -> None:
    """Items holding a resource stay with the worker that reserved them."""
    serial = Resources(holds={i: frozenset({"category:db"}) for i in range(6)})
    queue = WorkQueue([range(6), [6]], resources=serial)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 1) == [0]
    assert queue.take("gw1", 10) == [6]
    assert queue.take("gw1", 10) == []
    assert queue.take("gw0", 10) == [1, 2, 3, 4, 5]


def test_a_batch_does_not_run_on_into_a_large_unit() -> None:
    """Small modules fill a batch, but a long unit waits for a worker of its own."""
    weights = {0: 0.1, 1: 4.0, 2: 0.1, 3: 0.1}
    queue = WorkQueue([[0], [1], [2], [3]], weights=weights)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 3) == [0]
    assert queue.take("gw1", 3) == [1, 2, 3]


def test_the_successor_of_a_lone_long_test_comes_from_the_smallest_unit() -> None:
    """A worker holding one long test gets the plan's last (smallest) unit to follow it."""
    weights = {0: 3.0, 1: 3.0} | dict.fromkeys(range(2, 8), 0.1)
    queue = WorkQueue([[i] for i in range(8)], weights=weights)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 3) == [0]
    assert queue.take_successor("gw0") == [7]
    assert queue.take("gw1", 3) == [1, 2, 3]  # small units fill its batch


def _holding(name: str, items: range | list[int]) -> dict[int, frozenset[str]]:
    return {i: frozenset({name}) for i in items}


def test_a_worker_that_cannot_take_a_resource_gets_other_work() -> None:
    """A unit whose resource is full is skipped for the next unit, not waited for."""
    resources = Resources(holds={**_holding("smtp", [0, 1]), **_holding("smtp", [2, 3])})
    queue = WorkQueue([[0, 1], [2, 3], [4, 5]], resources=resources)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 2) == [0, 1]
    assert queue.take("gw1", 2) == [4, 5]
    assert queue.holders("smtp") == ["gw0"]


def test_the_holder_keeps_its_slot_until_it_reported_every_holding_item() -> None:
    """A worker holds a slot from the first item sent until the last one is reported."""
    resources = Resources(holds=_holding("smtp", range(4)))
    queue = WorkQueue([[0, 1], [2, 3]], resources=resources)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 2) == [0, 1]
    assert queue.take("gw1", 2) == []
    assert queue.runnable_for("gw1") == 0
    assert queue.take("gw0", 2) == [2, 3]  # it holds the slot: the next unit is its
    for item in (0, 1, 2):
        queue.done("gw0", item)
        assert queue.holders("smtp") == ["gw0"]
    queue.done("gw0", 3)
    assert queue.holders("smtp") == []


def test_a_capacity_of_two_lets_two_workers_hold_it() -> None:
    """Capacity 2: two workers hold the resource at once, a third gets nothing of it."""
    resources = Resources(holds=_holding("browser", range(6)), capacities={"browser": 2})
    queue = WorkQueue([[0, 1], [2, 3], [4, 5]], resources=resources)
    for worker in ("gw0", "gw1", "gw2"):
        queue.add_worker(worker)
    assert queue.take("gw0", 2) == [0, 1]
    assert queue.take("gw1", 2) == [2, 3]
    assert queue.take("gw2", 2) == []
    queue.done("gw1", 2)
    queue.done("gw1", 3)
    assert queue.take("gw2", 2) == [4, 5]


def test_a_removed_worker_releases_its_slots() -> None:
    """A crashed worker's slots are free again once it is removed."""
    resources = Resources(holds=_holding("smtp", range(4)))
    queue = WorkQueue([[0, 1], [2, 3]], resources=resources)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    queue.take("gw0", 1)
    assert queue.remove_worker("gw0") == [1]
    assert queue.take("gw1", 2) == [2, 3]


def test_a_blocked_reservation_goes_back_to_the_plan() -> None:
    """A replacement whose inherited items need a resource held elsewhere takes other
    work, and its items run later, whoever can take them."""
    resources = Resources(holds=_holding("smtp", [0, 1, 2, 3]))
    queue = WorkQueue([[0, 1], [2, 3], [4, 5]], resources=resources)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 1) == [0]
    queue.add_worker("gw2", [2, 3])  # as if inherited from a crashed worker
    assert queue.take("gw2", 2) == [4, 5]
    assert queue.take("gw0", 3) == [1, 2, 3]


def test_a_worker_with_one_item_and_only_blocked_work_finishes() -> None:
    """A worker left with a single item while the rest waits for another's slot is told
    to finish (it cannot run that item without a successor); the last worker waits."""
    resources = Resources(holds=_holding("smtp", range(4)))
    queue = WorkQueue([[0, 1, 2, 3], [4]], resources=resources)
    queue.add_worker("gw0")
    queue.add_worker("gw1")
    assert queue.take("gw0", 2) == [0, 1]
    assert queue.take("gw1", 2) == [4]
    assert queue.available_to("gw1") == 0
    assert queue.available_to("gw0") > 0
