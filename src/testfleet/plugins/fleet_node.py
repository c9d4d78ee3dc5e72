"""The fleet node plugin: makes this pytest process one node of a run over Redis.

Registered by ``--fleet URL`` (with ``--run-id``, or the CI's run id).  The
Redis server is checked before collection: an unreachable server is a usage
error.  After collection the node joins the run (the first node to arrive
plans it and publishes the units), checks that it collected what the planner
collected, and hands :class:`~testfleet.plugins.fleet.FleetPlugin` the queue
and the work source it runs with.  It turns the reports the controller relays
into compact results for the run, says how the whole run went, and lets one
node record the whole run in the history.  See docs/fleet.md.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING, Any

import pytest

from testfleet.categories.quarantine import is_quarantined
from testfleet.plugins.keys import FLEET, QUARANTINE, USAGE_OF, WORKER_OF

if TYPE_CHECKING:
    from testfleet.distributed.marks import StartMarks
    from testfleet.distributed.node import FleetSource
    from testfleet.distributed.protocol import FleetResult, Unit
    from testfleet.distributed.redis_run import RedisRun
    from testfleet.engine.relay import HookRelay
    from testfleet.history.outcomes import Phases
    from testfleet.model.fleet import FleetSettings
    from testfleet.scheduling import WorkQueue

#: How often a node that waits for the plan looks again (seconds).
_PLAN_POLL = 0.1
#: The plan's units are sized for this many workers per worker of the planner
#: (at least :data:`_MIN_PLAN_WORKERS`): the planner cannot know how many
#: nodes will come, and smaller units let a fast node take more.
_PLAN_SPREAD = 4
_MIN_PLAN_WORKERS = 8


def settings_from(config: pytest.Config) -> FleetSettings:
    """The node's settings from its options; a usage error when they make none."""
    from testfleet.distributed.settings import (
        FleetSettingsError,
        check_url,
        node_name,
        run_id,
    )
    from testfleet.model.fleet import FleetSettings

    try:
        return FleetSettings(
            url=check_url(config.getoption("testfleet_fleet")),
            run_id=run_id(config.getoption("testfleet_run_id"), os.environ),
            node=node_name(
                config.getoption("testfleet_fleet_node"), socket.gethostname(), os.getpid()
            ),
            key_ttl=config.getoption("testfleet_fleet_key_ttl"),
            lease=config.getoption("testfleet_fleet_lease"),
        )
    except FleetSettingsError as exc:
        raise pytest.UsageError(f"testfleet: {exc}") from None


def register(config: pytest.Config) -> None:
    """Check the options and the server, then register the node plugin."""
    from testfleet.distributed.connection import FleetError, connect

    if config.getoption("testfleet_shard") is not None:
        raise pytest.UsageError(
            "testfleet: --fleet and --shard both split the suite between machines; use one"
        )
    if config.getoption("usepdb") or config.getoption("trace"):
        raise pytest.UsageError(
            "testfleet: --pdb and --trace need the tests in this process; run without --fleet"
        )
    settings = settings_from(config)
    try:
        client = connect(settings.url)
    except FleetError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[FLEET] = settings
    config.pluginmanager.register(FleetNodePlugin(config, settings, client), "testfleet-node")


class FleetNodePlugin:
    """One node of a fleet run, seen from pytest."""

    def __init__(self, config: pytest.Config, settings: FleetSettings, client: Any) -> None:
        from testfleet.distributed.redis_run import RedisRun

        self._config = config
        self._settings = settings
        self._run: RedisRun = RedisRun(client, settings)
        self._pid = os.getpid()
        self._total = 0
        self._workers = 1
        self._started = time.time()
        self.source: FleetSource | None = None
        self._phases: dict[str, Phases] = {}
        self._messages: dict[str, str] = {}
        #: In a worker: its marks of the tests it starts.
        self._marks: StartMarks | None = None
        #: The whole run's results, read once it is complete.
        self._whole: tuple[list[FleetResult], dict[str, int]] | None = None

    # -- joining the run (FleetPlugin calls these) -------------------------------

    def describe(self) -> str:
        """``ci-2 of run 1234``, for the run's first line."""
        return f"{self._settings.node} of fleet run {self._settings.run_id}"

    def join(self, session: pytest.Session, workers: int) -> None:
        """Plan or wait for the plan; a usage error if this node collected other tests."""
        import redis

        from testfleet.distributed.protocol import MalformedEntry, digest, first_differences

        nodeids = [item.nodeid for item in session.items]
        mine = digest(nodeids)
        self._workers = workers
        try:
            meta = self._run.meta()
            while meta is None:
                if self._run.claim_planning():
                    self._run.publish(mine, nodeids, self._plan(session, workers))
                else:
                    time.sleep(_PLAN_POLL)
                meta = self._run.meta()
            planned = [] if meta.digest == mine else self._run.planned_nodeids()
        except MalformedEntry as exc:
            raise pytest.UsageError(f"testfleet: run {self._settings.run_id}: {exc}") from None
        except redis.RedisError as exc:
            raise session.Interrupted(self._lost(exc)) from None
        if meta.digest != mine:
            lines = first_differences(planned, nodeids)
            raise pytest.UsageError(
                f"testfleet: this node collected other tests than the node that planned run "
                f"{self._settings.run_id} ({len(nodeids)} here, {meta.tests} there):\n"
                + "\n".join(lines)
                + "\nEvery node must collect the same tests (same code, paths and -k/-m); "
                "this node takes no work."
            )
        self._total = meta.tests

    def _plan(self, session: pytest.Session, workers: int) -> list[Unit]:
        from testfleet.distributed.protocol import Unit
        from testfleet.plugins.suite import planned_units
        from testfleet.scheduling.plan import pair_singletons

        plan_workers = max(_MIN_PLAN_WORKERS, _PLAN_SPREAD * workers)
        units, weights, resources = planned_units(session, plan_workers)
        paired = pair_singletons([u.items for u in units], resources.holds)
        items = session.items
        return [
            Unit(tuple(items[i].nodeid for i in unit), tuple(weights[i] for i in unit))
            for unit in paired
        ]

    def queue(self, session: pytest.Session) -> WorkQueue:
        """An empty queue that knows what each local item holds; units come from the run."""
        from testfleet.plugins.suite import resources_for
        from testfleet.scheduling import WorkQueue

        queue = WorkQueue([], weights={}, resources=resources_for(session))
        queue.share_capacities()  # resource slots come from the fleet (FleetSource)
        return queue

    def start(self, session: pytest.Session, queue: WorkQueue, relay: HookRelay) -> FleetSource:
        """Take the first units into ``queue``; the source the run loop ticks."""
        from testfleet.distributed.node import FleetSource

        def fail_unrun(index: int, reason: str) -> None:
            relay.item_lost(index, reason, "-", 0.0)

        import redis

        source = FleetSource(
            self._run,
            nodeids=[item.nodeid for item in session.items],
            workers=self._workers,
            total=self._total,
            queue=queue,
            note=relay.note,
            fail_unrun=fail_unrun,
        )
        try:
            source.prime()
        except redis.RedisError as exc:
            raise session.Interrupted(self._lost(exc)) from None
        self.source = source
        return source

    def _lost(self, exc: BaseException) -> str:
        from testfleet.distributed.connection import describe_lost

        return f"{describe_lost(self._settings.url, exc)}; this node took no work"

    def finish(self) -> None:
        """The run loop ended: leave the run; read the whole run if it is complete."""
        import redis

        source = self.source
        if source is None:
            return
        try:
            if not source.finished:
                source.hand_over()  # interrupted (Ctrl-C): the others go on at once
            source.release()
            self._run.leave()
            if source.complete:
                self._whole = (self._run.results(), self._run.nodes())
        except redis.RedisError:
            pass  # the run's line is missing; what this node ran was reported

    # -- results of this node's tests ----------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # In a worker, before the item's fixtures are set up (its reporting
        # hooks are recorded for the controller there, not run).
        if os.getpid() == self._pid:
            return  # the tests run in workers; a serial run has no fleet
        if self._marks is None:
            from testfleet.distributed.marks import StartMarks

            workerinput: dict[str, Any] = getattr(self._config, "workerinput", {})
            self._marks = StartMarks(self._settings, str(workerinput.get("workerid", "gw?")))
        self._marks.started(item.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if os.getpid() != self._pid or self.source is None:
            return  # a worker: its controller speaks for the node
        from testfleet.history.outcomes import Phases
        from testfleet.plugins.recorder import add_report

        add_report(self._phases.setdefault(report.nodeid, Phases()), report, 0.0)
        if report.failed:
            self._messages[report.nodeid] = report.longreprtext
        lost = self.source.rerun_after.get(report.nodeid)
        if lost is not None and report.when == "teardown":
            report.user_properties.append(("testfleet_rerun_after_lost_node", lost))
            report.sections.append(
                ("testfleet", f"run again: node {lost} was lost while running this test")
            )

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        if os.getpid() != self._pid or self.source is None:
            return
        from testfleet.distributed.protocol import FleetResult

        phases = self._phases.pop(nodeid, None)
        if phases is None:
            return
        result = phases.result(nodeid, None)
        cpu, peak = self._config.stash.get(USAGE_OF, {}).get(nodeid, (None, None))
        quarantine = self._config.stash.get(QUARANTINE, frozenset())
        self.source.test_finished(
            FleetResult(
                nodeid=nodeid,
                outcome=result.outcome,
                node=self._settings.node,
                worker=self._config.stash.get(WORKER_OF, {}).get(nodeid, "-"),
                setup=result.setup,
                call=result.call,
                teardown=result.teardown,
                start=phases.start,
                rerun_after=self.source.rerun_after.get(nodeid),
                message=self._messages.pop(nodeid, ""),
                cpu=cpu,
                peak_rss=peak,
                attempts=result.attempts,
                quarantined=result.quarantined or is_quarantined(nodeid, quarantine),
            )
        )

    # -- the whole run --------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """One node (the first to ask) records the whole run in the history."""
        import redis

        from testfleet.model import RunRecord
        from testfleet.plugins.history import HISTORY_PLUGIN, git_commit

        history = self._config.stash.get(HISTORY_PLUGIN, None)
        if self._whole is None or history is None:
            return
        try:
            if not self._run.claim_recording():
                return
        except redis.RedisError:
            return
        results, nodes = self._whole
        starts = [r.start for r in results if r.start is not None]
        started = min(starts, default=self._started)
        run = RunRecord(
            started=started,
            finished=time.time(),
            workers=sum(nodes.values()) or len(nodes),
            host=f"fleet {self._settings.run_id} ({len(nodes)} nodes)",
            commit=git_commit(self._config),
            arguments=tuple(self._config.invocation_params.args),
            exit_code=1 if any(r.fails_run for r in results) else 0,
            status="complete",
        )
        history.record_fleet_run(run, [r.to_test_result(started) for r in results])

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self._whole is None:
            return
        from testfleet.reporting.fleet import run_line

        results, _ = self._whole
        bad = any(r.fails_run for r in results)
        terminalreporter.write_line(run_line(results), red=bad, green=not bad)
