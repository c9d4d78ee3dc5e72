"""The fleet plugin: runs the collected items on worker processes.

Registered by ``--workers N`` with N > 1.  It replaces pytest's run loop: it
plans the run (categories, history estimates, longest first), forks the
workers and drives them until every item has reported.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from testfleet.plugins.keys import REQUESTED_WORKERS, TESTRUN_UID, WORKER_OF

if TYPE_CHECKING:
    from testfleet.engine.controller import Controller
    from testfleet.scheduling import WorkQueue


def effective_workers(config: pytest.Config, items: int) -> int:
    """The workers a run of ``items`` tests uses: never more than there are tests."""
    return max(1, min(config.stash.get(REQUESTED_WORKERS, None) or 1, items))


class FleetPlugin:
    """Runs the collected items on worker processes (registered by ``--workers N>1``)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            errors = session.testsfailed
            raise session.Interrupted(
                f"{errors} error{'s' if errors != 1 else ''} during collection"
            )
        if session.config.option.collectonly:
            return True
        workers = effective_workers(self._config, len(session.items))
        if workers <= 1:
            return None  # pytest's own loop runs the tests in this process
        controller = self._run(session, workers)
        if controller.abort_reason:
            session.shouldstop = controller.abort_reason
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        return True

    def _run(self, session: pytest.Session, workers: int) -> Controller:
        from testfleet.engine.controller import Controller
        from testfleet.engine.processes import ForkedFleet
        from testfleet.engine.relay import HookRelay
        from testfleet.engine.threads import threads_per_worker
        from testfleet.engine.worker import WorkerSetup, run_worker

        config = session.config
        # Create the base temporary directory before forking: every worker
        # makes its own below it, and the controller cleans it up as usual.
        factory = getattr(config, "_tmp_path_factory", None)
        if factory is not None:
            factory.getbasetemp()
        uid = config.stash[TESTRUN_UID]
        threads = threads_per_worker(workers)
        relay = HookRelay(session, config.stash.setdefault(WORKER_OF, {}))

        def main(name: str, initial: Any, inbox: int, outbox: int) -> Any:
            setup = WorkerSetup(name=name, count=workers, testrun_uid=uid, threads=threads)
            run_worker(session, setup, initial, inbox, outbox)

        fleet = ForkedFleet(main)
        controller = Controller(
            queue=self._queue(session, workers),
            workers=workers,
            fleet=fleet,
            sink=relay,
            clock=time.monotonic,
            describe=relay.describe,
            test_timeout=config.getoption("testfleet_test_timeout"),
            max_restarts=config.getoption("testfleet_max_restart"),
        )
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and config.get_verbosity() >= 0:
            reporter.write_line(f"testfleet: {workers} workers")
        fleet.run(controller)
        return controller

    def _queue(self, session: pytest.Session, workers: int) -> WorkQueue:
        """The planned work: units by priority, then longest first."""
        from testfleet.plugins.suite import planned_units
        from testfleet.scheduling import WorkQueue

        units, weights, lanes = planned_units(session, workers)
        return WorkQueue([u.items for u in units], weights=weights, lanes=lanes)
