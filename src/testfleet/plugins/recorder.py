"""The recorder: what each test did and what the run cost, gathered for the record.

Registered in the controller whenever testfleet handles a run (``--workers``,
``--history``, ``--report``, a shard or a fleet).  It follows every report,
takes each test's CPU and memory (measured in the worker that ran it, or here
when the tests run in process), the fixtures' set-up times and the resource
monitor's samples, and at the end of the session leaves a
:class:`~testfleet.model.history.FinishedRun` in ``config.stash[FINISHED_RUN]``
for the history and the report.  Its terminal line says how the run went:
workers, how busy they were, actual and planned wall, peak memory; and it
names the run's flaky and quarantined tests.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from testfleet.categories.quarantine import is_quarantined
from testfleet.history.outcomes import Phases
from testfleet.model import RunRecord
from testfleet.model.history import FinishedRun, FixtureTiming, RunDetails
from testfleet.plugins.keys import (
    CACHE_FIGURES,
    FINISHED_RUN,
    IN_WORKERS,
    MONITOR,
    PLAN_FACTS,
    QUARANTINE,
    USAGE_OF,
    WORKER_OF,
    WORKER_OUTPUTS,
)

if TYPE_CHECKING:
    from _pytest.fixtures import FixtureDef, SubRequest
    from _pytest.terminal import TerminalReporter

    from testfleet.monitoring.usage import FixtureTally

#: Where a worker leaves its fixture tally in ``config.workeroutput``.
FIXTURES_OUTPUT = "testfleet_fixtures"


def add_report(phases: Phases, report: pytest.TestReport, run_started: float) -> None:
    """Hand one pytest report of a test to its ``phases``; ``run_started``: when the run began."""
    phases.add(
        report.when,
        report.outcome,
        report.duration,
        run_started=run_started,
        wasxfail=hasattr(report, "wasxfail"),
        # A report made up for a lost test has no start; the relay adds the attempts.
        start=getattr(report, "start", 0.0),
        attempts=int(getattr(report, "testfleet_attempts", 1)),
        quarantined=getattr(report, "testfleet_quarantined", None),
    )


class FixtureTimer:
    """Times every fixture set-up in the process that runs the tests.

    Registered in the controller before the workers fork, so it runs in each
    of them; a worker hands its tally to the controller in ``workeroutput``.
    """

    def __init__(self) -> None:
        from testfleet.monitoring.usage import FixtureTally

        self.tally: FixtureTally = FixtureTally()

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: FixtureDef[Any], request: SubRequest
    ) -> Generator[None, object, object]:
        began = time.perf_counter()
        try:
            return (yield)
        finally:
            self.tally.add(fixturedef.argname, fixturedef.scope, time.perf_counter() - began)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
        if output is not None:  # a worker: the controller adds it up
            output[FIXTURES_OUTPUT] = self.tally.rows()


class RunRecorder:
    """Gathers the run's results and figures into a ``FinishedRun`` at its end."""

    def __init__(self, config: pytest.Config, fixtures: FixtureTimer | None) -> None:
        """``fixtures`` times the fixtures when the run is monitored; None when it is not."""
        from testfleet.monitoring.usage import UsageMeter

        self._config = config
        self._fixtures = fixtures
        #: Measures the tests run in this process, when the run is monitored.
        self._meter = UsageMeter() if fixtures is not None else None
        self.started = 0.0
        self._tests: dict[str, Phases] = {}
        self._interrupted = False
        self._usage: dict[str, tuple[float, int | None]] = config.stash.setdefault(USAGE_OF, {})

    @property
    def monitored(self) -> bool:
        """Whether the run is monitored (``--monitor-interval`` above 0)."""
        return self._fixtures is not None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.started = time.time()

    def pytest_runtest_logstart(self) -> None:
        if self._meter is not None and not self._config.stash.get(IN_WORKERS, False):
            self._meter.start()

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        if self._meter is not None and not self._config.stash.get(IN_WORKERS, False):
            self._usage[nodeid] = self._meter.stop()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        add_report(self._tests.setdefault(report.nodeid, Phases()), report, self.started)

    def pytest_keyboard_interrupt(self) -> None:
        # Ctrl-C, or a test calling pytest.exit() (whatever exit code it chose).
        self._interrupted = True

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if session.config.option.collectonly or not self.started:
            return
        self._config.stash[FINISHED_RUN] = self.finished_run(session, exitstatus, time.time())

    def finished_run(self, session: pytest.Session, exitstatus: int, now: float) -> FinishedRun:
        """The run as it stands at ``now``, with every result and figure gathered."""
        from testfleet.plugins.fleet import effective_workers
        from testfleet.plugins.history import git_commit

        config = self._config
        worker_of = config.stash.get(WORKER_OF, {})
        facts = config.stash.get(PLAN_FACTS, None)
        quarantine = config.stash.get(QUARANTINE, frozenset())
        categories = facts.categories if facts is not None else {}
        resources = facts.resources if facts is not None else {}
        results = []
        for nodeid, phases in self._tests.items():
            cpu, peak = self._usage.get(nodeid, (None, None))
            results.append(
                phases.result(
                    nodeid,
                    worker_of.get(nodeid),
                    cpu=cpu,
                    peak_rss=peak,
                    category=categories.get(nodeid),
                    resources=resources.get(nodeid, ()),
                    quarantined=phases.quarantined or is_quarantined(nodeid, quarantine),
                )
            )
        monitor = config.stash.get(MONITOR, None)
        peaks = [r.peak_rss for r in results if r.peak_rss is not None]
        peak_rss = max([monitor.peak_rss if monitor is not None else 0, *peaks], default=0)
        interrupted = self._interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
        run = RunRecord(
            started=self.started,
            finished=now,
            workers=effective_workers(config, len(session.items)),
            host=socket.gethostname(),
            commit=git_commit(config),
            arguments=tuple(config.invocation_params.args),
            exit_code=int(exitstatus),
            status="interrupted" if interrupted else "complete",
            # Set by the cache plugin's earlier (tryfirst) sessionfinish.
            cache=config.stash.get(CACHE_FIGURES, None),
            tests=len(results),
            test_seconds=sum(r.duration for r in results),
            planned=facts.predicted if facts is not None else None,
            peak_rss=peak_rss or None,
        )
        details = RunDetails(
            workers=tuple(monitor.workers) if monitor is not None else (),
            machine=tuple(monitor.machine) if monitor is not None else (),
            fixtures=self._fixture_timings(),
        )
        return FinishedRun(run, tuple(results), details)

    def _fixture_timings(self) -> tuple[FixtureTiming, ...]:
        from testfleet.monitoring.usage import FixtureTally

        if self._fixtures is None:
            return ()
        tally = FixtureTally()
        tally.merge(self._fixtures.tally.rows())
        for output in self._config.stash.get(WORKER_OUTPUTS, []):
            rows = output.get(FIXTURES_OUTPUT)
            if isinstance(rows, list):
                tally.merge(rows)
        timings = [
            FixtureTiming(name, scope, int(count), seconds, slowest)
            for (name, scope), (count, seconds, slowest) in tally.figures.items()
        ]
        return tuple(sorted(timings, key=lambda f: (-f.seconds, f.name)))

    def pytest_terminal_summary(self, terminalreporter: TerminalReporter) -> None:
        finished = self._config.stash.get(FINISHED_RUN, None)
        if finished is None:
            return
        from testfleet.reporting.summary import flaky_tests, run_line

        for line in flaky_tests(finished.results):
            terminalreporter.write_line(line, yellow=True)
        if self._config.stash.get(IN_WORKERS, False) and self._config.get_verbosity() >= -1:
            terminalreporter.write_line(run_line(finished.run))


#: The recorder, when testfleet handles the run.
RECORDER = pytest.StashKey[RunRecorder]()
