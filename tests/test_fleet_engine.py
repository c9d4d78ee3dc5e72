"""Unit tests of what a fleet node adds to the engine: work that arrives while the run
goes on, workers started again for it, and resource slots granted from outside."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from test_engine_controller import Run, build_run
from testfleet.engine.messages import Acquire, Finish, Granted
from testfleet.model import WorkerExit
from testfleet.scheduling import WorkQueue
from testfleet.scheduling.plan import pair_singletons
from testfleet.scheduling.resources import NO_RESOURCES, Resources


def fleet_run(workers: int = 2, resources: Resources = NO_RESOURCES) -> Run:
    """A controller on an empty queue that waits for more work, as a node's does."""
    queue = WorkQueue([], weights={}, resources=resources)
    queue.more_coming = True
    return build_run(queue, workers)


def add(run: Run, *units: list[int]) -> None:
    run.queue.add_units(list(units), {i: 1.0 for unit in units for i in unit})
    run.controller.add_work()


def test_no_worker_finishes_while_more_work_may_come() -> None:
    run = fleet_run()
    run.controller.start()
    assert all(Finish() not in box for box in run.fleet.inbox.values())
    add(run, [0, 1, 2], [3, 4, 5])
    assert sorted(run.fleet.queues["gw0"] + run.fleet.queues["gw1"]) == [0, 1, 2, 3, 4, 5]
    for worker in ("gw0", "gw1"):
        while len(run.fleet.queues[worker]) > 1:
            run.finish(worker)
    # Each holds its last item and waits for a successor or word that none comes.
    assert all(Finish() not in box for box in run.fleet.inbox.values())
    run.queue.more_coming = False
    run.controller.wake()
    assert all(Finish() in box for box in run.fleet.inbox.values())


def test_work_that_comes_after_the_workers_ended_starts_new_ones() -> None:
    run = fleet_run()
    run.controller.start()
    add(run, [0, 1, 2])
    run.queue.more_coming = False
    run.controller.wake()
    run.drain()
    assert run.controller.done
    assert sorted(run.sink.done) == [0, 1, 2]
    run.queue.more_coming = True
    add(run, [7, 8, 9])
    assert run.controller.live_workers == ["gw2", "gw3"]
    run.queue.more_coming = False
    run.controller.wake()
    run.drain()
    assert sorted(run.sink.done) == [0, 1, 2, 7, 8, 9]
    assert not run.sink.notes  # starting workers for new work is no restart


def test_a_resource_shared_with_other_machines_waits_for_a_grant() -> None:
    resources = Resources(holds={0: frozenset({"lane"}), 1: frozenset({"lane"})})
    run = fleet_run(workers=1, resources=resources)
    run.queue.share_capacities()
    run.controller.start()
    add(run, [0, 1], [2, 3])
    # No slot of "lane" here yet: the worker runs the unit that holds nothing.
    assert run.fleet.queues["gw0"][:2] == [2, 3]
    assert run.queue.wants("lane")
    assert run.queue.configured_capacity("lane") == 1
    assert run.queue.capacity("lane") == 0
    run.queue.grant("lane", 1)
    run.controller.wake()
    run.queue.more_coming = False
    run.controller.wake()
    run.drain()
    assert sorted(run.sink.done) == [0, 1, 2, 3]
    assert not run.queue.wants("lane")


def test_an_acquire_waits_until_the_fleet_grants_a_slot() -> None:
    run = fleet_run(workers=1)
    run.queue.share_capacities()
    run.controller.start()
    add(run, [0, 1, 2])
    run.controller.on_message("gw0", Acquire(1, "smtp", None, "test_0"))
    assert Granted(1) not in run.fleet.inbox["gw0"]
    assert run.queue.wanted == {"smtp"}
    assert run.queue.wants("smtp")
    run.queue.grant("smtp", 1)
    run.controller.wake()
    assert Granted(1) in run.fleet.inbox["gw0"]


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=4), min_size=1, max_size=5),
    workers=st.integers(1, 3),
)
def test_every_item_added_runs_once(batches: list[list[int]], workers: int) -> None:
    """Units arriving in batches, between and after workers ended, all run exactly once."""
    run = fleet_run(workers=workers)
    run.controller.start()
    next_item = 0
    for batch in batches:
        units = []
        for size in batch:
            units.append(list(range(next_item, next_item + size)))
            next_item += size
        run.queue.more_coming = True
        add(run, *units)
        for _ in range(3):  # some progress between arrivals
            for worker in run.controller.live_workers:
                if len(run.fleet.queues[worker]) > 1:
                    run.finish(worker)
    run.queue.more_coming = False
    run.controller.wake()
    run.drain()
    assert sorted(run.sink.done) == list(range(next_item))


def test_a_worker_ending_unexpectedly_in_a_fleet_is_replaced_as_before() -> None:
    run = fleet_run(workers=1)
    run.controller.start()
    add(run, [0, 1, 2, 3])
    run.finish("gw0")
    run.controller.on_exit("gw0", WorkerExit(signal=9))
    assert list(run.sink.lost) == [1]
    assert run.controller.live_workers == ["gw1"]


# -- the fleet's plan: no unit of one test ---------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=12),
    held=st.sets(st.integers(0, 40), max_size=8),
)
def test_one_test_units_get_a_successor_and_no_test_is_lost(
    sizes: list[int], held: set[int]
) -> None:
    units, next_item = [], 0
    for size in sizes:
        units.append(list(range(next_item, next_item + size)))
        next_item += size
    holds = {i: frozenset({"r"}) for i in held if i < next_item}
    paired = pair_singletons(units, holds)
    assert sorted(i for unit in paired for i in unit) == list(range(next_item))
    assert all(paired)
    moved = {i for unit, old in zip(paired, units, strict=False) for i in unit if i not in old}
    assert not moved & set(holds)  # a test holding a resource stays where it was planned
    # With enough to spare (beyond two tests per donor), no unit is left alone.
    spare = sum(max(0, sum(1 for i in u if i not in holds) - 2) for u in units if len(u) > 1)
    singles = [k for k, u in enumerate(units) if len(u) == 1]
    if spare >= len(singles):
        assert all(len(paired[k]) == 2 for k in singles)


def test_a_one_test_unit_takes_the_last_short_test() -> None:
    # The long tests come first in a plan: they get the shortest, last, tests.
    assert pair_singletons([[0], [1], [2, 3, 4, 5], [6, 7, 8]], {}) == [
        [0, 8],
        [1, 7],
        [2, 3, 4],
        [6, 5],  # left alone by its gifts, it takes one in turn
    ]
    assert pair_singletons([[0], [1, 2]], {2: frozenset({"r"})}) == [[0, 1], [2]]
    assert pair_singletons([[0]], {}) == [[0]]
