"""The shard plugin: keeps one duration-balanced shard of the suite (``--shard K/N``).

Every machine of a CI matrix collects the whole suite and keeps its own shard,
computed the same way everywhere from the node ids and the estimates of the
history file passed with ``--history`` (none: every test weighs the same).
"""

from __future__ import annotations

import pytest

from testfleet.scheduling.shards import ShardItem, ShardSpec, split


class ShardPlugin:
    """Deselects every test outside shard K of N."""

    def __init__(self, config: pytest.Config, spec: ShardSpec) -> None:
        self._config = config
        self._spec = spec
        self._kept: int | None = None
        self._total = 0

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        from testfleet.plugins.suite import describe, estimates_for

        infos = describe(items, config.rootpath)
        # Only a history the user passes may weigh the split: every machine of
        # the matrix must compute the same one.
        explicit = config.getoption("testfleet_history") is not None
        estimates = estimates_for(config, infos, use_history=explicit)
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

    def pytest_report_collectionfinish(self, config: pytest.Config) -> str | None:
        if self._kept is None:
            return None
        return f"testfleet: shard {self._spec}: {self._kept} of {self._total} tests"

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
