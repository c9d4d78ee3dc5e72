"""What ``testfleet discover`` shows: each category, its tests and their estimate.

Pure: the caller collects, classifies and estimates; these functions count and
format.  Rendering is tested as strings; printing is the command's business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from testfleet.categories.config import OTHER_NAME, Category


@dataclass(frozen=True)
class CategorySummary:
    """One category's line in the discovery listing."""

    name: str
    priority: int
    parallel: bool
    #: Tests collected in it.
    tests: int
    #: Sum of its tests' estimated seconds.
    estimate: float
    patterns: tuple[str, ...]
    markers: tuple[str, ...]

    def sort_key(self) -> tuple[int, bool, str]:
        """The order of :meth:`Category.sort_key`: priority, ``other`` last, name."""
        return (self.priority, self.name == OTHER_NAME, self.name)


def summarize(
    assigned: Mapping[str, Category],
    estimates: Mapping[str, float],
    categories: Sequence[Category],
) -> list[CategorySummary]:
    """One row per category, in priority order, with its test count and estimate.

    ``assigned`` maps node ids to categories (as :func:`classify_all` returns);
    ``estimates`` maps node ids to seconds, and a node id missing there counts
    0 (fill in a default estimate before calling to count unknown tests).
    Every category of ``categories`` gets a row, even without tests, and so
    does any category in ``assigned`` that is not among them (matched by name),
    so the rows' counts always add up to ``len(assigned)``.
    """
    known: dict[str, Category] = {c.name: c for c in categories}
    durations: dict[str, list[float]] = {name: [] for name in known}
    for nodeid, category in assigned.items():
        known.setdefault(category.name, category)
        durations.setdefault(category.name, []).append(estimates.get(nodeid, 0.0))
    rows = [
        CategorySummary(
            name=c.name,
            priority=c.priority,
            parallel=c.parallel,
            tests=len(durations[c.name]),
            # fsum: the total does not depend on the order tests were collected in.
            estimate=math.fsum(durations[c.name]),
            patterns=c.patterns,
            markers=c.markers,
        )
        for c in known.values()
    ]
    return sorted(rows, key=CategorySummary.sort_key)


@dataclass(frozen=True)
class ResourceSummary:
    """One resource's line in the discovery listing."""

    name: str
    #: How many tests may hold it at once.
    capacity: int
    #: Tests that hold it.
    tests: int
    #: Sum of its tests' estimated seconds.
    estimate: float

    @property
    def per_slot(self) -> float:
        """Its work divided by its capacity: no run is shorter."""
        return self.estimate / self.capacity


def summarize_resources(
    holds: Mapping[str, frozenset[str]],
    estimates: Mapping[str, float],
    capacities: Mapping[str, int],
) -> list[ResourceSummary]:
    """One row per resource held by some test or configured, by name.

    ``holds`` maps node ids to the resources they hold; a resource not in
    ``capacities`` has capacity 1.
    """
    durations: dict[str, list[float]] = {name: [] for name in capacities}
    for nodeid, names in holds.items():
        for name in names:
            durations.setdefault(name, []).append(estimates.get(nodeid, 0.0))
    return [
        ResourceSummary(name, capacities.get(name, 1), len(seconds), math.fsum(seconds))
        for name, seconds in sorted(durations.items())
    ]
