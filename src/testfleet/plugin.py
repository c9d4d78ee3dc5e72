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
from typing import Any

import pytest

from testfleet.model.fleet import DEFAULT_KEY_TTL, DEFAULT_LEASE
from testfleet.plugins.databases import worker_database, worker_databases  # noqa: F401
from testfleet.plugins.keys import REQUESTED_WORKERS, TESTRUN_UID

# The fleet_cache fixture and its end-of-run line, in every run (cheap until used).
pytest_plugins = ["testfleet.plugins.cache"]


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


def _non_negative_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {value}")
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
    group.addoption(
        "--history",
        dest="testfleet_history",
        metavar="PATH|URL",
        default=None,
        help="Record the run in this history store (a SQLite file, or postgresql://...) "
        "and plan with it. Default with --workers: .testfleet/history.db under the rootdir. "
        "Write --history=PATH: pytest chooses its rootdir before it knows this option.",
    )
    group.addoption(
        "--no-history",
        dest="testfleet_no_history",
        action="store_true",
        default=False,
        help="Neither record this run nor plan it from recorded durations.",
    )
    group.addoption(
        "--fleet",
        dest="testfleet_fleet",
        metavar="URL",
        default=None,
        help="Make this run one node of a run spread over many machines through Redis "
        "(redis://HOST:PORT/DB, rediss://...): every node with the same --run-id takes work "
        "from one shared queue (see docs/fleet.md).",
    )
    group.addoption(
        "--run-id",
        dest="testfleet_run_id",
        metavar="ID",
        default=None,
        help="With --fleet: the id every node of the run shares (default: the CI's run id, "
        "e.g. GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT, CI_PIPELINE_ID, BUILDKITE_BUILD_ID).",
    )
    group.addoption(
        "--fleet-node",
        dest="testfleet_fleet_node",
        metavar="NAME",
        default=None,
        help="With --fleet: this node's name in the run (default: host name and process id).",
    )
    group.addoption(
        "--fleet-lease",
        dest="testfleet_fleet_lease",
        metavar="SECONDS",
        type=_positive_seconds,
        default=DEFAULT_LEASE,
        help="With --fleet: a node silent this long is lost and its work goes to the others "
        f"(default {DEFAULT_LEASE:g}).",
    )
    group.addoption(
        "--fleet-key-ttl",
        dest="testfleet_fleet_key_ttl",
        metavar="SECONDS",
        type=_positive_seconds,
        default=DEFAULT_KEY_TTL,
        help=f"With --fleet: the run's keys expire this long after their last use "
        f"(default {DEFAULT_KEY_TTL:g}, a day).",
    )
    group.addoption(
        "--monitor-interval",
        dest="testfleet_monitor_interval",
        metavar="SECONDS",
        type=_non_negative_seconds,
        default=0.5,
        help="Sample the CPU and memory of every worker and of the machine this often "
        "(with --workers), and measure each test's CPU time and peak memory and each "
        "fixture's set-up time (default 0.5; 0 turns monitoring off).",
    )
    group.addoption(
        "--retry-failed",
        dest="testfleet_retry_failed",
        metavar="N",
        type=_non_negative_int,
        default=0,
        help="With --workers: run a failed test again, on another worker when there is one, "
        "up to N times; one that then passes is reported passed and named flaky.",
    )
    group.addoption(
        "--report",
        dest="testfleet_report",
        metavar="PATH",
        default=None,
        help="Write a report of the run: PATH.html (one self-contained page) or PATH.json.",
    )
    group.addoption(
        "--shard",
        dest="testfleet_shard",
        metavar="K/N|auto",
        default=None,
        help="Run shard K of N, balanced by the durations of the --history store as the "
        "first shard of this CI run read them (the run is named by TESTFLEET_SPLIT_ID or "
        "the CI's build id), so every test runs exactly once; "
        "'auto' reads the CI's variables (TEST_SHARD_INDEX/TEST_TOTAL_SHARDS, "
        "CI_NODE_INDEX/CI_NODE_TOTAL, CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL).",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser) -> None:
    # The earliest moment testfleet's options are known: before any conftest
    # is imported under a rootdir that a value like `--history /tmp/h.db` moved.
    from testfleet.plugins.paths import check_setup

    check_setup(early_config, parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "resource(name, ...): the test holds these named resources for its whole run; "
        "testfleet never runs more holders of one at a time than its capacity",
    )
    config.stash[TESTRUN_UID] = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    workers: int | None = config.getoption("testfleet_workers")
    config.stash[REQUESTED_WORKERS] = workers
    from testfleet.plugins.slots import configure_slots

    configure_slots(config)
    if hasattr(config, "workerinput"):
        return  # an xdist (or testfleet) worker: its controller does testfleet's work
    from testfleet.plugins.databases import configure_databases

    configure_databases(config)  # a bad [databases] table is a usage error, now
    history: str | None = config.getoption("testfleet_history")
    shard: str | None = config.getoption("testfleet_shard")
    fleet: str | None = config.getoption("testfleet_fleet")
    report: str | None = config.getoption("testfleet_report")
    parallel = (workers is not None and workers > 1) or fleet is not None
    if config.getoption("testfleet_retry_failed") and not parallel:
        raise pytest.UsageError(
            "--retry-failed runs failed tests again on testfleet's workers; "
            "add --workers N (N > 1) or --workers auto"
        )
    if fleet is not None:
        from testfleet.plugins.fleet_node import register

        register(config)  # Redis is checked now, before collection
    handled = any(option is not None for option in (workers, history, shard, fleet, report))
    if handled:
        _register_recorder(config)
    if report is not None:
        from testfleet.plugins.report import register as register_report

        register_report(config, report)
    if workers is not None or history is not None or shard is not None or fleet is not None:
        # A run that will plan (workers, a fleet, or a shard split by --history)
        # reads the history's estimates while pytest collects.
        plans = (
            (workers is not None and workers > 1)
            or fleet is not None
            or (shard is not None and history is not None)
        )
        _register_history(config, history, prefetch=plans)
    if shard is not None:
        _register_shard(config, shard)
    if (workers is not None and workers > 1) or fleet is not None:
        _register_fleet(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    from testfleet.plugins.shared import check_shared

    check_shared(session.items)  # a shared fixture using a narrower one is a usage error


def pytest_unconfigure(config: pytest.Config) -> None:
    from testfleet.plugins.slots import unconfigure_slots

    unconfigure_slots()


def _register_recorder(config: pytest.Config) -> None:
    from testfleet.plugins.quarantine import register as register_quarantine
    from testfleet.plugins.recorder import RECORDER, FixtureTimer, RunRecorder

    fixtures = None
    if config.getoption("testfleet_monitor_interval") > 0:
        fixtures = FixtureTimer()
        config.pluginmanager.register(fixtures, "testfleet-fixture-timer")
    recorder = RunRecorder(config, fixtures)
    config.stash[RECORDER] = recorder
    config.pluginmanager.register(recorder, "testfleet-recorder")
    register_quarantine(config)  # a broken quarantine setting is a usage error, now


def _register_history(config: pytest.Config, spec: str | None, *, prefetch: bool) -> None:
    if config.getoption("testfleet_no_history"):
        return
    from testfleet.plugins.history import HISTORY_PLUGIN, HistoryPlugin

    plugin = HistoryPlugin(config, spec, prefetch=prefetch)
    config.stash[HISTORY_PLUGIN] = plugin
    config.pluginmanager.register(plugin, "testfleet-history")


def _register_shard(config: pytest.Config, value: str) -> None:
    from testfleet.plugins.shard import ShardPlugin
    from testfleet.scheduling.shards import ShardSpecError, parse_shard

    try:
        spec = parse_shard(value, os.environ)
    except ShardSpecError as exc:
        raise pytest.UsageError(f"--shard: {exc}") from None
    config.pluginmanager.register(ShardPlugin(config, spec), "testfleet-shard")


def _register_fleet(config: pytest.Config) -> None:
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
    from testfleet.plugins.fleet import FleetPlugin
    from testfleet.plugins.suite import load_categories

    load_categories(config)  # a broken category config is a usage error, now
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
