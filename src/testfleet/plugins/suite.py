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

from testfleet.plugins.keys import PLAN_FACTS, PlanFacts
from testfleet.scheduling.plan import PlanItem, Unit, plan
from testfleet.scheduling.resources import Resources, category_resource

if TYPE_CHECKING:
    from testfleet.categories import Category
    from testfleet.history import Estimates

#: The categories of the run, loaded once from the rootdir's config.
CATEGORIES = pytest.StashKey["list[Category]"]()
#: The resource capacities of the run, loaded once from the rootdir's config.
CAPACITIES = pytest.StashKey["dict[str, int]"]()


@dataclass(frozen=True)
class ItemInfo:
    """A collected test as plain data."""

    nodeid: str
    #: The test file, relative to the rootdir, with ``/`` separators.
    path: str
    markers: frozenset[str]
    #: The resources its ``resource`` markers (test, class, module) name.
    resources: frozenset[str] = frozenset()

    @property
    def group(self) -> str:
        """The scope group: the module (the node id up to the first ``::``)."""
        return self.nodeid.partition("::")[0]


def describe(items: Sequence[pytest.Item], rootdir: Path) -> list[ItemInfo]:
    """Plain data for each collected item, in collection order."""
    infos = []
    # The tests of a module share its path: work each path out once.
    paths: dict[Path, str] = {}
    for item in items:
        path = paths.get(item.path)
        if path is None:
            try:
                path = item.path.relative_to(rootdir).as_posix()
            except ValueError:
                path = item.path.as_posix()
            paths[item.path] = path
        marks = list(item.iter_markers())
        markers = frozenset(mark.name for mark in marks)
        resources = _resources(item, marks) if "resource" in markers else frozenset()
        infos.append(ItemInfo(item.nodeid, path, markers, resources))
    return infos


def _resources(item: pytest.Item, marks: Sequence[pytest.Mark]) -> frozenset[str]:
    """The resources ``item``'s ``resource`` markers (among ``marks``) name."""
    names: set[str] = set()
    for mark in marks:
        if mark.name != "resource":
            continue
        if not mark.args or mark.kwargs or not all(isinstance(a, str) and a for a in mark.args):
            raise pytest.UsageError(
                f"testfleet: {item.nodeid}: @pytest.mark.resource takes one or more resource "
                f'names as strings, e.g. @pytest.mark.resource("smtp"); got '
                f"args={mark.args!r} kwargs={mark.kwargs!r}"
            )
        names.update(mark.args)
    return frozenset(names)


def holds(info: ItemInfo, category: Category) -> frozenset[str]:
    """The resources a test holds: its markers', and its category's when that is not parallel."""
    if category.parallel:
        return info.resources
    return info.resources | {category_resource(category.name)}


def plan_items(
    infos: Sequence[ItemInfo],
    categories: Mapping[str, Category],
    estimates: Estimates,
) -> list[PlanItem]:
    """The planner's view of each item: estimate, priority, history flags, resources."""
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
                holds=holds(info, category),
            )
        )
    return result


def load_categories(config: pytest.Config) -> list[Category]:
    """The run's categories, read once; a broken config is a usage error (exit 4).

    The resource capacities are read with them, so that a broken resources
    table is a usage error as early as a broken category.
    """
    load_capacities(config)
    if CATEGORIES not in config.stash:
        from testfleet.categories import CategoryConfigError
        from testfleet.categories import load_categories as load

        try:
            config.stash[CATEGORIES] = load(config.rootpath)
        except CategoryConfigError as exc:
            raise pytest.UsageError(f"testfleet: {exc}") from None
    return config.stash[CATEGORIES]


def load_capacities(config: pytest.Config) -> dict[str, int]:
    """The run's resource capacities, read once; a broken config is a usage error."""
    if CAPACITIES not in config.stash:
        from testfleet.categories import CategoryConfigError, load_resources

        try:
            config.stash[CAPACITIES] = load_resources(config.rootpath)
        except CategoryConfigError as exc:
            raise pytest.UsageError(f"testfleet: {exc}") from None
    return config.stash[CAPACITIES]


def resources_of(items: Sequence[PlanItem], capacities: Mapping[str, int]) -> Resources:
    """What the work queue needs to know: who holds what, and the capacities."""
    return Resources(
        holds={item.index: item.holds for item in items if item.holds},
        capacities=dict(capacities),
    )


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
) -> tuple[list[Unit], dict[int, float], Resources]:
    """The run's units in plan order, each item's estimate, and the resources held."""
    infos = describe(session.items, session.config.rootpath)
    estimates = estimates_for(session.config, infos)
    categories = classify(session.config, infos)
    items = plan_items(infos, categories, estimates)
    capacities = load_capacities(session.config)
    units = plan(items, workers, estimates.group_cost, capacities)
    weights = {item.index: item.estimate for item in items}
    resources = resources_of(items, capacities)
    predicted = None
    if len(estimates.new) < len(infos):  # the history knew some tests: a prediction means something
        from testfleet.scheduling.simulate import makespan, simulate

        predicted = makespan(simulate(units, workers, weights=weights, resources=resources))
    session.config.stash[PLAN_FACTS] = PlanFacts(
        categories={nodeid: category.name for nodeid, category in categories.items()},
        resources={i.nodeid: tuple(sorted(i.resources)) for i in infos if i.resources},
        predicted=predicted,
    )
    return units, weights, resources


def resources_for(session: pytest.Session) -> Resources:
    """What each collected item holds, and the capacities, without planning the run."""
    from testfleet.history import estimate

    infos = describe(session.items, session.config.rootpath)
    defaults = estimate({info.nodeid: info.group for info in infos}, {}, {})
    items = plan_items(infos, classify(session.config, infos), defaults)
    return resources_of(items, load_capacities(session.config))
