"""The fleet plugin: runs the collected items on worker processes.

Registered by ``--workers N`` with N > 1.  It replaces pytest's run loop: it
plans the run (categories, history estimates, longest first), forks the
workers and drives them until every item has reported.
"""

from __future__ import annotations

import atexit
import gc
import os
import time
from typing import TYPE_CHECKING, Any

import pytest

from testfleet.plugins.keys import (
    IN_WORKERS,
    MONITOR,
    REQUESTED_WORKERS,
    TESTRUN_UID,
    USAGE_OF,
    WORKER_OF,
    WORKER_OUTPUTS,
)

if TYPE_CHECKING:
    from testfleet.engine.controller import Controller
    from testfleet.engine.processes import ForkedFleet
    from testfleet.engine.relay import HookRelay
    from testfleet.monitoring.resources import ResourceMonitor
    from testfleet.plugins.fleet_node import FleetNodePlugin
    from testfleet.plugins.shared import SharedFixtures
    from testfleet.scheduling import WorkQueue


def effective_workers(config: pytest.Config, items: int) -> int:
    """The workers a run of ``items`` tests uses: never more than there are tests."""
    return max(1, min(config.stash.get(REQUESTED_WORKERS, None) or 1, items))


class FleetPlugin:
    """Runs the collected items on worker processes (registered by ``--workers N>1``)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        # The engine freezes the collected session for the GC when it forks
        # (and never thaws it): it stays frozen until the session's very last
        # step, so that pytest's own full collections at the end of it (the
        # unraisable-exception check, twice) skip the thousands of items that
        # live until then anyway.  Cleanups run last registered first, and this
        # one is registered while the plugins configure.
        config.add_cleanup(gc.unfreeze)
        # And when the interpreter ends after the session (as ``pytest`` does),
        # everything left is frozen once more, so that Python's collections as
        # it shuts down skip the heap it is about to drop anyway: 0.3 s less on
        # 5000 tests.  Exit handlers registered before this one still run after
        # it, and every object is still freed by reference counting; only
        # cycles are left to the end of the process, whose finalizers Python
        # never promised to run at exit.
        atexit.unregister(gc.freeze)  # once, however many sessions this process runs
        atexit.register(gc.freeze)

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
        node = self._node()
        if workers <= 1 and (node is None or not session.items):
            return None  # pytest's own loop runs the tests in this process
        if node is not None:
            node.join(session, workers)
        controller, relay = self._run(session, workers)
        source = node.source if node is not None else None
        if source is not None and source.error is not None:
            session.shouldstop = source.error
        if relay.stopped_for is not None:
            # What the session said when the run decided to stop (-x: "after 1
            # failures"), not what tests that finished meanwhile made of it.
            session.shouldfail, session.shouldstop = relay.stopped_for
        if controller.abort_reason:
            session.shouldstop = controller.abort_reason
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        return True

    def _node(self) -> FleetNodePlugin | None:
        """The fleet node plugin, when this run is a node of a fleet (``--fleet``)."""
        node: FleetNodePlugin | None = self._config.pluginmanager.get_plugin("testfleet-node")
        return node

    def _run(self, session: pytest.Session, workers: int) -> tuple[Controller, HookRelay]:
        """Set up the shared fixtures, run the workers, and tear the fixtures down."""
        from testfleet.engine.processes import other_threads
        from testfleet.plugins import compat
        from testfleet.plugins.shared import SharedFixtures

        compat.prepare_controller(session.config)
        shared = SharedFixtures(session)
        try:
            shared.set_up(other_threads)
            controller, relay = self._drive(session, workers, shared)
        except BaseException:
            shared.tear_down(None)  # a serial run tears them down too, interrupted or not
            raise
        shared.tear_down(relay.last_item)
        return controller, relay

    def _drive(
        self, session: pytest.Session, workers: int, shared: SharedFixtures
    ) -> tuple[Controller, HookRelay]:
        from testfleet.engine.controller import Controller
        from testfleet.engine.processes import ForkedFleet, other_threads
        from testfleet.engine.relay import HookRelay
        from testfleet.engine.threads import threads_per_worker
        from testfleet.engine.worker import WorkerSetup, run_worker, worker_input
        from testfleet.monitoring.usage import UsageMeter
        from testfleet.plugins import compat
        from testfleet.plugins.slots import connect

        config = session.config
        threads = other_threads()
        if threads:
            raise pytest.UsageError(
                f"--workers: cannot fork workers while other threads run in this process "
                f"({', '.join(threads)}): a fork copies only the calling thread, and a lock "
                "another thread held would stay locked in every worker. Start such threads "
                "in fixtures (then each worker runs its own), or run without --workers."
            )
        # Create the base temporary directory before forking: every worker
        # makes its own below it, and the controller cleans it up as usual.
        factory = getattr(config, "_tmp_path_factory", None)
        if factory is not None:
            factory.getbasetemp()
        uid = config.stash[TESTRUN_UID]
        pool = threads_per_worker(workers)

        def prepare(config: pytest.Config) -> None:
            compat.prepare_worker(config)
            shared.forget_in_worker()

        # Each test's CPU and memory are measured in its worker when the run is monitored.
        meter = UsageMeter() if self._monitored() else None

        def setup_of(name: str) -> WorkerSetup:
            return WorkerSetup(
                name=name,
                count=workers,
                testrun_uid=uid,
                threads=pool,
                prepare=prepare,
                finish=compat.finish_worker,
                connect=connect(config),
                meter=meter,
            )

        config.stash[IN_WORKERS] = True
        relay = HookRelay(
            session,
            config.stash.setdefault(WORKER_OF, {}),
            worker_input=lambda name: worker_input(setup_of(name)),
            node_down_excluded=compat.node_down_excluded(config),
            usage_of=config.stash.setdefault(USAGE_OF, {}),
            outputs=config.stash.setdefault(WORKER_OUTPUTS, []),
        )

        def main(name: str, initial: Any, inbox: int, outbox: int) -> Any:
            run_worker(session, setup_of(name), initial, inbox, outbox)

        node = self._node()
        queue = node.queue(session) if node is not None else self._queue(session, workers)
        source = node.start(session, queue, relay) if node is not None else None
        fleet = ForkedFleet(main)
        controller = Controller(
            queue=queue,
            workers=workers,
            fleet=fleet,
            sink=relay,
            clock=time.monotonic,
            describe=relay.describe,
            test_timeout=config.getoption("testfleet_test_timeout"),
            max_restarts=config.getoption("testfleet_max_restart"),
            retries=config.getoption("testfleet_retry_failed"),
        )
        if source is not None:
            source.attach(controller)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and config.get_verbosity() >= 0:
            where = f", node {node.describe()}" if node is not None else ""
            reporter.write_line(f"testfleet: {workers} worker{'s' if workers != 1 else ''}{where}")
            if shared.names:
                reporter.write_line(f"testfleet: set up once, shared: {', '.join(shared.names)}")
        for note in compat.startup_notes(config):
            relay.note(note)
        monitor = self._monitor(fleet)
        try:
            fleet.run(controller, source=source, monitor=monitor)
        finally:
            if node is not None:
                node.finish()
        return controller, relay

    def _monitored(self) -> bool:
        """Whether the run is recorded and monitored (the recorder says)."""
        from testfleet.plugins.recorder import RECORDER

        recorder = self._config.stash.get(RECORDER, None)
        return recorder is not None and recorder.monitored

    def _monitor(self, fleet: ForkedFleet) -> ResourceMonitor | None:
        """The sampler of the run's processes and machine, when the run is monitored."""
        if not self._monitored():
            return None
        interval: float = self._config.getoption("testfleet_monitor_interval")
        from testfleet.monitoring.resources import CONTROLLER, PsutilProbe, ResourceMonitor

        controller = os.getpid()

        def processes() -> dict[str, int]:
            return {CONTROLLER: controller, **fleet.pids()}

        monitor = ResourceMonitor(
            interval,
            processes=processes,
            probe=PsutilProbe(self._config.rootpath),
            clock=time.monotonic,
        )
        self._config.stash[MONITOR] = monitor
        return monitor

    def _queue(self, session: pytest.Session, workers: int) -> WorkQueue:
        """The planned work: units by priority, then longest first."""
        from testfleet.plugins.suite import planned_units
        from testfleet.scheduling import WorkQueue

        units, weights, resources = planned_units(session, workers)
        return WorkQueue([u.items for u in units], weights=weights, resources=resources)
