"""The shard plugin: keeps one duration-balanced shard of the suite (``--shard K/N``).

Every machine of a CI matrix collects the whole suite and keeps its own shard,
computed the same way everywhere from the node ids and the estimates of the
history passed with ``--history`` as the first shard of the CI run read it (no
``--history``: every test weighs the same).  See docs/sharding.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from testfleet.scheduling.shards import ShardItem, ShardSpec, split

if TYPE_CHECKING:
    from testfleet.history import Estimates
    from testfleet.model.history import Snapshot


class ShardPlugin:
    """Deselects every test outside shard K of N."""

    def __init__(self, config: pytest.Config, spec: ShardSpec) -> None:
        self._config = config
        self._spec = spec
        self._kept: int | None = None
        self._total = 0
        self._snapshot: Snapshot | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        from testfleet.plugins.suite import describe

        infos = describe(items, config.rootpath)
        estimates = self._estimates(config, {info.nodeid: info.group for info in infos})
        shards = split(
            [ShardItem(i.nodeid, i.group, estimates.per_test[i.nodeid]) for i in infos],
            self._spec.total,
        )
        mine = set(shards[self._spec.index - 1])
        kept = [item for item in items if item.nodeid in mine]
        dropped = [item for item in items if item.nodeid not in mine]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        self._kept, self._total = len(kept), len(infos)

    def _estimates(self, config: pytest.Config, groups: Mapping[str, str]) -> Estimates:
        from testfleet.history import HistoryError, estimate
        from testfleet.plugins.history import HISTORY_PLUGIN

        history = config.stash.get(HISTORY_PLUGIN, None)
        # Only a history the user passes may weigh the split (a machine's own
        # default store is its own), and only as the split's snapshot holds
        # it: the shards record into it as they go.
        if history is None or config.getoption("testfleet_history") is None:
            return estimate(groups, {}, {})
        try:
            estimates, self._snapshot = history.split_estimates(groups)
        except HistoryError as exc:
            raise pytest.UsageError(
                f"--shard {self._spec} stops: it cannot read the durations every shard "
                f"splits by, and a guess could skip or repeat tests. {exc}"
            ) from None
        return estimates

    def pytest_report_collectionfinish(self, config: pytest.Config) -> list[str] | None:
        if self._kept is None:
            return None
        lines = [f"testfleet: shard {self._spec}: {self._kept} of {self._total} tests"]
        if self._snapshot is not None:
            lines.append(
                f"testfleet: split {self._snapshot.split!r}: durations as recorded when its "
                f"first shard read them (up to record #{self._snapshot.upto})"
            )
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # An empty shard (more shards than tests) is not a failure of the CI job.
        if self._kept == 0 and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self._kept == 0:
            terminalreporter.write_line(
                f"testfleet: shard {self._spec} is empty ({self._total} tests for "
                f"{self._spec.total} shards); nothing to run"
            )
