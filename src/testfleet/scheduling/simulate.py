"""Predict the wall time of a run's test phase by replaying the planner's order.

The simulation is list scheduling, the same rule the engine applies: a worker
that becomes free takes the next unit.  Lanes (non-parallel categories) are
units like any other, so they never overlap here either.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from testfleet.scheduling.plan import Unit


@dataclass(frozen=True)
class Placement:
    """Where and when the simulation ran one unit."""

    unit: Unit
    worker: int
    start: float
    end: float


def simulate(units: Sequence[Unit], workers: int, per_test: float = 0.0) -> list[Placement]:
    """Run ``units`` in order on ``workers`` simulated workers.

    ``per_test`` is a fixed cost every test pays on top of its estimate (the
    engine's own overhead, as measured).
    """
    free: list[tuple[float, int]] = [(0.0, w) for w in range(max(1, workers))]
    heapq.heapify(free)
    placements = []
    for unit in units:
        start, worker = heapq.heappop(free)
        end = start + unit.estimate + per_test * len(unit.items)
        placements.append(Placement(unit, worker, start, end))
        heapq.heappush(free, (end, worker))
    return placements


def makespan(placements: Sequence[Placement]) -> float:
    """When the last simulated worker finishes."""
    return max((p.end for p in placements), default=0.0)
