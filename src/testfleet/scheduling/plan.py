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
* The tests of a category that must not run in parallel form one unit, a
  *lane*, that is never split or shared, so they never overlap.
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
    #: The non-parallel category it belongs to, if its category must run alone.
    lane: str | None = None


@dataclass(frozen=True)
class Unit:
    """Tests that go to one worker together, in run order."""

    items: tuple[int, ...]
    #: Estimated seconds, including the group's setup cost.
    estimate: float
    priority: int = 0
    failed_last: bool = False
    new: bool = False
    #: Set for the unit of a non-parallel category: never split, never shared.
    lane: str | None = None

    def sort_key(self) -> tuple[int, bool, bool, float, int]:
        """Priority first, then longest first; collection order breaks ties."""
        return (self.priority, not self.failed_last, not self.new, -self.estimate, self.items[0])


def lower_bound(estimates: Sequence[float], workers: int) -> float:
    """No schedule on ``workers`` workers ends before max(sum / W, longest)."""
    if not estimates:
        return 0.0
    return max(sum(estimates) / max(1, workers), *estimates)


def plan(
    items: Sequence[PlanItem],
    workers: int,
    group_cost: Mapping[str, float] | None = None,
) -> list[Unit]:
    """The units of a run in the order workers should take them."""
    group_cost = group_cost or {}
    # A lane gathers its category whatever else differs; a scope group is also
    # cut by priority, since a module may hold tests of several categories.
    groups: dict[tuple[str | None, int, str], list[PlanItem]] = {}
    for item in sorted(items, key=lambda i: i.index):
        key = (item.lane, 0, "") if item.lane else (None, item.priority, item.group)
        groups.setdefault(key, []).append(item)
    total = sum(i.estimate for i in items) + sum(group_cost.values())
    fair = total / max(1, workers)
    units: list[Unit] = []
    for (lane, _priority, group), members in groups.items():
        cost = group_cost.get(group, 0.0)
        if lane is not None:
            units.append(_unit(members, cost, lane=lane))
        else:
            units.extend(_unit(piece, cost) for piece in _split(members, cost, fair))
    return sorted(units, key=Unit.sort_key)


def _unit(members: Sequence[PlanItem], cost: float, lane: str | None = None) -> Unit:
    return Unit(
        items=tuple(m.index for m in members),
        estimate=cost + sum(m.estimate for m in members),
        priority=min(m.priority for m in members),
        failed_last=any(m.failed_last for m in members),
        new=any(m.new for m in members),
        lane=lane,
    )


def _split(members: list[PlanItem], cost: float, fair: float) -> list[list[PlanItem]]:
    """Cut a group into consecutive pieces of about ``fair`` seconds, if it is longer."""
    work = sum(m.estimate for m in members)
    if fair <= 0 or work + cost <= fair or len(members) == 1:
        return [members]
    # Each piece pays the setup cost again; size the pieces so that with it
    # they still fit the fair share, as far as the longest test allows.
    pieces = min(len(members), math.ceil(work / max(fair - cost, fair / 2)))
    target = work / pieces
    result: list[list[PlanItem]] = [[]]
    filled = 0.0
    for member in members:
        if result[-1] and filled + member.estimate / 2 > target and len(result) < pieces:
            result.append([])
            filled = 0.0
        result[-1].append(member)
        filled += member.estimate
    return result
