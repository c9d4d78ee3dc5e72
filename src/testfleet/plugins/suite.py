"""What the planner needs to know about the collected items, taken from pytest.

This is the one place that reads pytest items for planning: it turns them
into plain data (node id, file, markers, scope group) and joins the category
and history layers' answers into the planner's ``PlanItem``\\s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testfleet.scheduling.plan import PlanItem, Unit, plan

if TYPE_CHECKING:
    from testfleet.categories import Category
    from testfleet.history import Estimates

#: The categories of the run, loaded once from the rootdir's config.
CATEGORIES = pytest.StashKey["list[Category]"]()


@dataclass(frozen=True)
class ItemInfo:
    """A collected test as plain data."""

    nodeid: str
    #: The test file, relative to the rootdir, with ``/`` separators.
    path: str
    markers: frozenset[str]

    @property
    def group(self) -> str:
        """The scope group: the module (the node id up to the first ``::``)."""
        return self.nodeid.partition("::")[0]


def describe(items: Sequence[pytest.Item], rootdir: Path) -> list[ItemInfo]:
    """Plain data for each collected item, in collection order."""
    infos = []
    for item in items:
        try:
            path = item.path.relative_to(rootdir).as_posix()
        except ValueError:
            path = item.path.as_posix()
        markers = frozenset(mark.name for mark in item.iter_markers())
        infos.append(ItemInfo(item.nodeid, path, markers))
    return infos


def plan_items(
    infos: Sequence[ItemInfo],
    categories: Mapping[str, Category],
    estimates: Estimates,
) -> list[PlanItem]:
    """The planner's view of each item: estimate, priority, history flags, lane."""
    result = []
    for index, info in enumerate(infos):
        category = categories[info.nodeid]
        result.append(
            PlanItem(
                index=index,
                group=info.group,
                estimate=estimates.per_test[info.nodeid],
                priority=category.priority,
                failed_last=info.nodeid in estimates.failed_last,
                new=info.nodeid in estimates.new,
                lane=None if category.parallel else category.name,
            )
        )
    return result


def load_categories(config: pytest.Config) -> list[Category]:
    """The run's categories, read once; a broken config is a usage error (exit 4)."""
    if CATEGORIES not in config.stash:
        from testfleet.categories import CategoryConfigError
        from testfleet.categories import load_categories as load

        try:
            config.stash[CATEGORIES] = load(config.rootpath)
        except CategoryConfigError as exc:
            raise pytest.UsageError(f"testfleet: {exc}") from None
    return config.stash[CATEGORIES]


def estimates_for(config: pytest.Config, infos: Sequence[ItemInfo]) -> Estimates:
    """Estimates from the run's history when it has one, else the defaults for all."""
    from testfleet.history import estimate
    from testfleet.plugins.history import HISTORY_PLUGIN

    groups = {info.nodeid: info.group for info in infos}
    history = config.stash.get(HISTORY_PLUGIN, None)
    if history is not None:
        return history.estimates(groups)
    return estimate(groups, {}, {})


def classify(config: pytest.Config, infos: Sequence[ItemInfo]) -> dict[str, Category]:
    """Each item's category."""
    from testfleet.categories import classify_all

    entries = [(info.nodeid, info.path, info.markers) for info in infos]
    return classify_all(entries, load_categories(config))


def planned_units(
    session: pytest.Session, workers: int
) -> tuple[list[Unit], dict[int, float], frozenset[int]]:
    """The run's units in plan order, each item's estimate, and the items of lanes."""
    infos = describe(session.items, session.config.rootpath)
    estimates = estimates_for(session.config, infos)
    items = plan_items(infos, classify(session.config, infos), estimates)
    units = plan(items, workers, estimates.group_cost)
    weights = {item.index: item.estimate for item in items}
    lanes = frozenset(item.index for item in items if item.lane is not None)
    return units, weights, lanes
