"""testfleet's pytest plugin: options, fixtures, and the hooks that wire the layers.

Importing this module must stay cheap (a plain ``pytest`` run imports it
through the ``pytest11`` entry point): the engine is imported only when a run
asks for workers.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from testfleet.engine.controller import Controller

#: The run's unique id, shared by the controller and all its workers.
TESTRUN_UID = pytest.StashKey[str]()
#: The number of workers asked for: an int, or None for "run in process".
REQUESTED_WORKERS = pytest.StashKey["int | None"]()


def parse_workers(value: str) -> int:
    """``--workers`` takes a whole number of workers, or ``auto`` for one per usable CPU."""
    if value == "auto":
        from testfleet.engine.threads import available_cpus

        return available_cpus()
    try:
        workers = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of workers or 'auto', got {value!r}"
        ) from None
    if workers < 0:
        raise argparse.ArgumentTypeError(f"the number of workers must be 0 or more, got {workers}")
    return workers


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {number}")
    return number


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got {value}")
    return seconds


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testfleet", "testfleet: parallel runs")
    group.addoption(
        "--workers",
        dest="testfleet_workers",
        metavar="N|auto",
        type=parse_workers,
        default=None,
        help="Run the tests on N worker processes forked after collection "
        "('auto': one per CPU this process may use; never more than there are tests). "
        "0 or 1 runs them in this process.",
    )
    group.addoption(
        "--worker-restart-limit",
        dest="testfleet_max_restart",
        metavar="N",
        type=_non_negative_int,
        default=None,
        help="Replace at most N crashed or timed-out workers, then stop the run "
        "(default: 4 per worker).",
    )
    group.addoption(
        "--test-timeout",
        dest="testfleet_test_timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=None,
        help="With --workers: fail a test that runs longer than SECONDS and replace its worker.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TESTRUN_UID] = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    workers: int | None = config.getoption("testfleet_workers")
    config.stash[REQUESTED_WORKERS] = workers
    if workers is None or workers <= 1 or hasattr(config, "workerinput"):
        return
    if config.getoption("numprocesses", None):
        raise pytest.UsageError(
            "--workers (testfleet) and -n (pytest-xdist) both ask for worker processes; "
            "use one of them"
        )
    if not hasattr(os, "fork"):
        raise pytest.UsageError(
            f"--workers needs os.fork, which Python on {sys.platform} does not have; "
            "run without --workers"
        )
    if config.getoption("usepdb") or config.getoption("trace"):
        return  # pytest_report_header says so
    config.pluginmanager.register(FleetPlugin(config), "testfleet-fleet")


def pytest_report_header(config: pytest.Config) -> str | None:
    workers = config.stash.get(REQUESTED_WORKERS, None)
    if workers and workers > 1 and (config.getoption("usepdb") or config.getoption("trace")):
        return "testfleet: --pdb/--trace runs the tests in this process; --workers is ignored"
    return None


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The name of the worker running the test (``gw0``, ...), ``master`` outside workers."""
    workerinput: dict[str, Any] | None = getattr(request.config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "master"


@pytest.fixture(scope="session")
def testrun_uid(request: pytest.FixtureRequest) -> str:
    """An id shared by every worker of this run, different for every run."""
    workerinput: dict[str, Any] | None = getattr(request.config, "workerinput", None)
    if workerinput and "testrunuid" in workerinput:
        return str(workerinput["testrunuid"])
    return request.config.stash[TESTRUN_UID]


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
        requested = self._config.stash[REQUESTED_WORKERS] or 1
        workers = min(requested, len(session.items))
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
        import time

        from testfleet.engine.controller import Controller
        from testfleet.engine.processes import ForkedFleet
        from testfleet.engine.relay import HookRelay
        from testfleet.engine.threads import threads_per_worker
        from testfleet.engine.worker import WorkerSetup, run_worker
        from testfleet.scheduling import WorkQueue, group_by_scope

        config = session.config
        # Create the base temporary directory before forking: every worker
        # makes its own below it, and the controller cleans it up as usual.
        factory = getattr(config, "_tmp_path_factory", None)
        if factory is not None:
            factory.getbasetemp()
        uid = config.stash[TESTRUN_UID]
        threads = threads_per_worker(workers)
        relay = HookRelay(session)

        def main(name: str, initial: Any, inbox: int, outbox: int) -> Any:
            setup = WorkerSetup(name=name, count=workers, testrun_uid=uid, threads=threads)
            run_worker(session, setup, initial, inbox, outbox)

        controller = Controller(
            queue=WorkQueue(
                group_by_scope([item.nodeid.partition("::")[0] for item in session.items])
            ),
            workers=workers,
            fleet=(fleet := ForkedFleet(main)),
            sink=relay,
            clock=time.monotonic,
            describe=relay.describe,
            test_timeout=config.getoption("testfleet_test_timeout"),
            max_restarts=config.getoption("testfleet_max_restart"),
        )
        self._announce(workers)
        fleet.run(controller)
        return controller

    def _announce(self, workers: int) -> None:
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self._config.get_verbosity() >= 0:
            reporter.write_line(f"testfleet: {workers} workers")
