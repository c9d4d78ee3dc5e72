"""Predict the wall time of a run's test phase by replaying the dispatcher.

The simulation drives the engine's own :class:`~testfleet.scheduling.load.WorkQueue`
with an ideal controller, one that answers at once: a worker that becomes free
takes its next item from the queue (its reserved unit first, then the next unit
in the plan it may run), and a finished item frees its resource slots.  So
resources constrain the prediction exactly as they constrain a run, and for
units that hold nothing it is the classic list scheduling of the plan's order.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from testfleet.scheduling.load import WorkQueue
from testfleet.scheduling.plan import Unit
from testfleet.scheduling.resources import NO_RESOURCES, Resources


@dataclass(frozen=True)
class Placement:
    """Where and when the simulation ran one test."""

    item: int
    worker: int
    start: float
    end: float


class DispatchStuck(RuntimeError):
    """Work was left that no simulated worker could be given: a dispatcher bug."""


def simulate(
    units: Sequence[Unit],
    workers: int,
    *,
    weights: Mapping[int, float] | None = None,
    resources: Resources = NO_RESOURCES,
    per_test: float = 0.0,
) -> list[Placement]:
    """Run ``units`` in order on ``workers`` simulated workers, one placement per test.

    ``weights`` are each test's estimated seconds (a unit's estimate spread
    evenly when absent); the part of a unit's estimate beyond its tests' (its
    scope group's setup) is paid by its first test.  ``per_test`` is a fixed
    cost every test pays on top (the engine's own overhead, as measured).
    """
    cost = _durations(units, weights, per_test)
    queue = WorkQueue([u.items for u in units], weights=weights, resources=resources)
    names = [f"w{n}" for n in range(max(1, workers))]
    for name in names:
        queue.add_worker(name)
    placements: list[Placement] = []
    running: list[tuple[float, int, int]] = []  # (end, worker number, item)
    free = set(range(len(names)))

    def start_free(now: float) -> None:
        for number in sorted(free):
            taken = queue.take(names[number], 1)
            if taken:
                end = now + cost[taken[0]]
                placements.append(Placement(taken[0], number, now, end))
                heapq.heappush(running, (end, number, taken[0]))
                free.discard(number)

    start_free(0.0)
    while running:
        now, number, item = heapq.heappop(running)
        queue.done(names[number], item)
        free.add(number)
        # Workers that end at the same moment all free their slots first.
        while running and running[0][0] == now:
            _, other, finished = heapq.heappop(running)
            queue.done(names[other], finished)
            free.add(other)
        start_free(now)
    if queue.unsent:
        raise DispatchStuck(f"{queue.unsent} tests were never dispatched")
    return placements


def _durations(
    units: Sequence[Unit], weights: Mapping[int, float] | None, per_test: float
) -> dict[int, float]:
    cost: dict[int, float] = {}
    for unit in units:
        if weights is None:
            share = unit.estimate / len(unit.items)
            cost.update({i: share + per_test for i in unit.items})
            continue
        for i in unit.items:
            cost[i] = weights.get(i, 0.0) + per_test
        setup = unit.estimate - sum(weights.get(i, 0.0) for i in unit.items)
        cost[unit.items[0]] += max(0.0, setup)
    return cost


def makespan(placements: Sequence[Placement]) -> float:
    """When the last simulated worker finishes."""
    return max((p.end for p in placements), default=0.0)
