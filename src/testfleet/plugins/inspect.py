"""Collect a suite without running it, for ``testfleet discover`` and ``testfleet plan``.

The CLI runs pytest's collection in process with this plugin, which turns the
collected items into plain data while the session is alive: each test's
category and estimate, and the history they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testfleet.plugins.suite import ItemInfo, classify, describe, holds

if TYPE_CHECKING:
    from testfleet.categories import Category
    from testfleet.history import Estimates


@dataclass
class Inspection:
    """What collection found, as plain data."""

    infos: list[ItemInfo] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    assigned: dict[str, Category] = field(default_factory=dict)
    #: Resource capacities as configured (a resource absent has capacity 1).
    capacities: dict[str, int] = field(default_factory=dict)
    #: Node id -> the resources the test holds (markers and non-parallel category).
    holds: dict[str, frozenset[str]] = field(default_factory=dict)
    estimates: Estimates | None = None
    #: Whether the estimates came from recorded runs (else: defaults only).
    has_history: bool = False
    #: Why the history could not be read, if it could not.
    history_problem: str | None = None


class InspectPlugin:
    """Records the collected suite with its categories and estimates."""

    def __init__(self, history: str | None) -> None:
        self._history = history
        self.result = Inspection()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from testfleet.plugins.suite import load_capacities, load_categories

        config = session.config
        infos = describe(session.items, config.rootpath)
        self.result.infos = infos
        self.result.categories = load_categories(config)
        self.result.assigned = classify(config, infos)
        self.result.capacities = load_capacities(config)
        self.result.holds = {
            info.nodeid: holds(info, self.result.assigned[info.nodeid]) for info in infos
        }
        self.result.estimates = self._estimates(config.rootpath, infos)

    def _estimates(self, rootdir: Path, infos: list[ItemInfo]) -> Estimates:
        from testfleet.history import HistoryError, estimate
        from testfleet.history.estimates import newest_outcomes
        from testfleet.history.prefetch import read_recent

        groups = {info.nodeid: info.group for info in infos}
        try:
            recent = read_recent(self._history, rootdir)
        except HistoryError as exc:
            self.result.history_problem = str(exc)
            return estimate(groups, {}, {})
        self.result.has_history = bool(recent)
        return estimate(groups, recent, newest_outcomes(recent))
