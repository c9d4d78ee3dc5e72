"""Order the work of a run: priority first, then longest first over scope groups.

The planner sees each test as a :class:`PlanItem` (its place in collection, its
scope group, an estimated duration, and what its category and history say about
its priority) and returns :class:`Unit`\\s in the order workers should take them.
A unit is a scope group, or a piece of one: the tests of a unit run on one
worker, in collection order, so their module and class fixtures are set up once.

* Priority first: category priority, then units holding a test that failed last
  time, then units holding a new test.
* Then longest processing time first, the classic list-scheduling rule that
  keeps the tail short: a run then ends with its smallest units.
* A group is split only when that shortens the makespan: when it alone would
  run longer than a worker's fair share of the whole run.  Each piece pays the
  group's own setup cost again.
* Tests that hold resources (a ``resource`` marker, or a ``parallel = false``
  category) form units of their own per scope group, never split: the work
  queue runs them on no more workers than the resource's capacity.  A
  resource whose work per slot is a large part of a worker's fair share is on
  the critical path, so its units come first within their priority, busiest
  resource first: started late, it would be the tail of the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PlanItem:
    """The planner's view of one collected test."""

    #: Position in the collected items.
    index: int
    #: The scope group: tests sharing module (or class) fixtures.
    group: str
    #: Estimated seconds of setup, call and teardown.
    estimate: float
    #: Category priority: lower runs first.
    priority: int = 0
    #: It failed in the last run that ran it.
    failed_last: bool = False
    #: No run recorded it yet.
    new: bool = False
    #: The resources it holds for its whole run.
    holds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Unit:
    """Tests that go to one worker together, in run order."""

    items: tuple[int, ...]
    #: Estimated seconds, including the group's setup cost.
    estimate: float
    priority: int = 0
    failed_last: bool = False
    new: bool = False
    #: The resources its tests hold: such a unit is never split.
    holds: frozenset[str] = frozenset()
    #: Work per slot of its busiest resource, when that is on the critical path.
    urgency: float = 0.0

    def sort_key(self) -> tuple[int, float, bool, bool, float, int]:
        """Priority, then critical resources (busiest first), then longest first;
        collection order breaks ties."""
        return (
            self.priority,
            -self.urgency,
            not self.failed_last,
            not self.new,
            -self.estimate,
            self.items[0],
        )


#: A resource is on the critical path when its work per slot is at least this
#: share of a worker's fair share of the run: its units are then started first.
CRITICAL_SHARE = 0.25


def lower_bound(estimates: Sequence[float], workers: int, chains: Sequence[float] = ()) -> float:
    """No schedule on ``workers`` workers ends before max(sum / W, longest, chains).

    ``chains`` are work that runs one slot at a time: each resource's work
    divided by its capacity.
    """
    if not estimates:
        return 0.0
    return max(sum(estimates) / max(1, workers), *estimates, *chains)


def resource_chains(
    items: Sequence[PlanItem], capacities: Mapping[str, int] | None = None
) -> dict[str, float]:
    """Each resource's estimated work per slot: no run ends before the largest."""
    return _work_per_slot(items, capacities or {})


def plan(
    items: Sequence[PlanItem],
    workers: int,
    group_cost: Mapping[str, float] | None = None,
    capacities: Mapping[str, int] | None = None,
) -> list[Unit]:
    """The units of a run in the order workers should take them.

    ``capacities`` gives each resource's slots (1 when absent).
    """
    group_cost = group_cost or {}
    capacities = capacities or {}
    # A scope group is cut by priority, since a module may hold tests of
    # several categories, and by the resources its tests hold.
    groups: dict[tuple[frozenset[str], int, str], list[PlanItem]] = {}
    for item in sorted(items, key=lambda i: i.index):
        groups.setdefault((item.holds, item.priority, item.group), []).append(item)
    total = sum(i.estimate for i in items) + sum(group_cost.values())
    fair = total / max(1, workers)
    per_slot = _work_per_slot(items, capacities)
    units: list[Unit] = []
    for (holds, _priority, group), members in groups.items():
        cost = group_cost.get(group, 0.0)
        if holds:
            urgency = max(per_slot[name] for name in holds)
            if urgency < CRITICAL_SHARE * fair:
                urgency = 0.0
            units.append(_unit(members, cost, holds=holds, urgency=urgency))
        else:
            units.extend(_unit(piece, cost) for piece in _split(members, cost, fair))
    return sorted(units, key=Unit.sort_key)


def _work_per_slot(items: Sequence[PlanItem], capacities: Mapping[str, int]) -> dict[str, float]:
    """Each resource's estimated work divided by its capacity: its shortest chain."""
    work: dict[str, float] = {}
    for item in items:
        for name in item.holds:
            work[name] = work.get(name, 0.0) + item.estimate
    return {name: seconds / max(1, capacities.get(name, 1)) for name, seconds in work.items()}


def _unit(
    members: Sequence[PlanItem],
    cost: float,
    holds: frozenset[str] = frozenset(),
    urgency: float = 0.0,
) -> Unit:
    return Unit(
        items=tuple(m.index for m in members),
        estimate=cost + sum(m.estimate for m in members),
        priority=min(m.priority for m in members),
        failed_last=any(m.failed_last for m in members),
        new=any(m.new for m in members),
        holds=holds,
        urgency=urgency,
    )


def _split(members: list[PlanItem], cost: float, fair: float) -> list[list[PlanItem]]:
    """Cut a group into consecutive pieces of about ``fair`` seconds, if it is longer."""
    work = sum(m.estimate for m in members)
    if fair <= 0 or work + cost <= fair or len(members) == 1:
        return [members]
    # Each piece pays the setup cost again; size the pieces so that with it
    # they still fit the fair share, as far as the longest test allows.
    pieces = min(len(members), math.ceil(work / max(fair - cost, fair / 2)))
    cut = split_evenly(members, pieces)
    # Consecutive pieces may still not fit (a 0.7 s piece and three tests of
    # 2 s make no three pieces of 2.5 s): cut once more while that helps.
    longest = max(m.estimate for m in members)
    while pieces < len(members):
        largest = max(sum(m.estimate for m in piece) for piece in cut)
        if largest + cost <= fair or largest <= longest:
            break
        pieces += 1
        cut = split_evenly(members, pieces)
    return cut


def split_evenly(members: Sequence[PlanItem], pieces: int) -> list[list[PlanItem]]:
    """``members`` cut into at most ``pieces`` consecutive pieces whose largest is
    as small as it can be (the linear partition problem).

    A module whose last tests are long (a tail of 3 s tests after many short
    ones) must not put a long test in the piece of the short ones: cutting
    where half a test would overflow a piece left a piece of 3.9 s in a run
    whose fair share was 3 s.  The smallest feasible largest piece is found by
    bisection over the piece sizes the greedy fill can tell apart.
    """
    estimates = [m.estimate for m in members]
    if pieces <= 1 or len(members) <= 1:
        return [list(members)]
    low, high = max(estimates), sum(estimates)
    # Bisect on the capacity until the bracket is finer than any test
    # distinguishes; the greedy fill at ``high`` always fits in ``pieces``.
    for _ in range(64):
        if high - low <= 1e-9 * max(1.0, high):
            break
        middle = (low + high) / 2
        if len(_fill(estimates, middle)) <= pieces:
            high = middle
        else:
            low = middle
    cuts = _fill(estimates, high)
    return [list(members[start:end]) for start, end in cuts]


def _fill(estimates: Sequence[float], capacity: float) -> list[tuple[int, int]]:
    """Consecutive ``(start, end)`` pieces, each filled up to ``capacity`` in order."""
    cuts: list[tuple[int, int]] = []
    start, filled = 0, 0.0
    for index, estimate in enumerate(estimates):
        if index > start and filled + estimate > capacity:
            cuts.append((start, index))
            start, filled = index, 0.0
        filled += estimate
    cuts.append((start, len(estimates)))
    return cuts


def pair_singletons(
    units: Sequence[Sequence[int]], holds: Mapping[int, frozenset[str]]
) -> list[list[int]]:
    """Give every one-test unit a second test, taken from the end of the plan.

    A worker must know the test after the one it runs (pytest's ``nextitem``)
    before it starts it.  On a fleet node whose whole queue is one unit of one
    long test, that successor would have to be the next unit of the plan, a
    long one too: the node would hold two long tests while other nodes go
    idle.  A short test from the last units (the shortest, planned last) rides
    along instead.  Tests holding resources are never moved.
    """
    result = [list(unit) for unit in units]
    donors = [i for i, unit in enumerate(result) if len(unit) > 1]
    for unit in result:
        if len(unit) != 1:
            continue
        while donors:
            donor = result[donors[-1]]
            movable = [i for i in donor if not holds.get(i)]
            if len(donor) > 1 and movable and donor is not unit:
                donor.remove(movable[-1])
                unit.append(movable[-1])
                break
            donors.pop()
    return [unit for unit in result if unit]
