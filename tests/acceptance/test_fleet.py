"""Acceptance tests of the fleet: runs that go right, and input that is refused.

Each test starts a Redis server of its own and runs nodes as real pytest
processes in the pytester directory (see fleet_support.py); what a node ran is
read from its own ``--junitxml``, never from timings.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import fleet_support
import pytest
from fleet_support import finish_all, start_node, wait_for

from redis_support import RedisServer, free_port

#: A Redis server of the test's own; bound here rather than imported by name, as
#: every test's parameter of that name would otherwise shadow an import (F811).
redis_server = fleet_support.redis_server

#: Variables a node reads its run id from when --run-id is not given.
CI_VARIABLES = (
    "TESTFLEET_RUN_ID",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "CI_PIPELINE_ID",
    "BUILDKITE_BUILD_ID",
    "CIRCLE_WORKFLOW_ID",
)

# Thirty short tests, one of which fails; each leaves the file "started" so
# that a test can wait until the run is under way before it starts a node.
STEPS = """
import os, time
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

@pytest.mark.parametrize("n", range(30))
def test_step(n):
    open(os.path.join(HERE, "started"), "a").close()
    time.sleep({delay})
    assert n != {failing}
"""

# Every outcome a report must carry over, the fixture error included.
OUTCOMES = """
import time
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("this fixture cannot be built")

@pytest.mark.parametrize("n", range(8))
def test_passes(n):
    time.sleep(0.05)

def test_fails():
    assert 1 == 2

def test_skips():
    pytest.skip("not on this machine")

@pytest.mark.xfail(reason="known bug")
def test_xfails():
    assert False

@pytest.mark.xfail(reason="fixed since")
def test_xpasses():
    pass

def test_errors(broken):
    pass

class TestGrouped:
    def test_in_class(self):
        time.sleep(0.05)
"""

# A conftest for runs of several nodes.  The whole-run line counts the nodes
# that ran a test; under load a node that starts late could find the work gone
# and the line would count one node less than the test started.  The run's
# first test goes ahead; every other test waits (bounded) until all the nodes
# have joined, so that each takes part.
GATE = """
import os, time
import pytest
import redis

HERE = os.path.dirname(os.path.abspath(__file__))

@pytest.fixture(autouse=True)
def _all_nodes_joined():
    marker = os.path.join(HERE, "started")
    if not os.path.exists(marker):
        open(marker, "a").close()
        return
    client = redis.Redis.from_url({url!r})
    deadline = time.monotonic() + 30
    while client.hlen({key!r}) < {count} and time.monotonic() < deadline:
        time.sleep(0.02)
    client.close()
"""

#: The test that STEPS makes fail, as JUnit names it.
FAILING = ("test_steps", "test_step[17]")
#: Every test of STEPS, as JUnit names it.
ALL_STEPS = sorted(("test_steps", f"test_step[{n}]") for n in range(30))


def steps_suite(pytester: pytest.Pytester, delay: float, failing: int = 17) -> None:
    """STEPS in the pytester directory, with a pyproject so it is the rootdir."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    pytester.makepyfile(test_steps=STEPS.format(delay=delay, failing=failing))


def gate(pytester: pytest.Pytester, url: str, run_id: str, count: int) -> None:
    """Hold the run's tests but its first until ``count`` nodes joined run ``run_id``."""
    pytester.makeconftest(GATE.format(url=url, key=f"testfleet:{run_id}:nodes", count=count))


def junit_cases(path: Path) -> list[tuple[str, str, str]]:
    """(classname, name, outcome) of each testcase in a JUnit file, in file order; the
    outcome is the tag of its failure/error/skipped child (with a skip's type), or "passed"."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag == "skipped":
                outcome = f"skipped {child.get('type')}"
            elif child.tag in ("failure", "error"):
                outcome = child.tag
        cases.append((case.get("classname", ""), case.get("name", ""), outcome))
    return cases


def suite_counts(path: Path) -> dict[str, str | None]:
    """The counts a JUnit file's testsuite states."""
    suite = next(ET.parse(path).getroot().iter("testsuite"))
    return {key: suite.get(key) for key in ("tests", "failures", "errors", "skipped")}


def ran_on(path: Path) -> dict[str, str]:
    """Test name -> the node that ran it, from a fleet report's JUnit properties."""
    nodes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") == "testfleet_node":
                nodes[case.get("name", "")] = prop.get("value", "")
    return nodes


def names(cases: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(classname, name) for classname, name, _ in cases]


def run_testfleet(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``testfleet`` command in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "testfleet.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_pytest(
    directory: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run pytest in ``directory`` with exactly the variables of ``env`` on top of a
    copy of this process's environment from which the CI's run ids are removed."""
    environment = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**environment, **env},
    )


# -- runs that go right ----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "options"),
    [(2, ()), (3, ()), (2, ("--workers", "2"))],
    ids=["2-nodes", "3-nodes", "2-nodes-2-workers"],
)
def test_nodes_run_every_test_once(
    pytester: pytest.Pytester, redis_server: RedisServer, count: int, options: tuple[str, ...]
) -> None:
    """Nodes started together run every test exactly once between them, each prints the
    same whole-run line, and each exits with the code of the tests it ran itself."""
    steps_suite(pytester, delay=0.05)
    gate(pytester, redis_server.url, "split", count)
    node_names = [f"n{i}" for i in range(1, count + 1)]
    nodes = [
        start_node(
            pytester.path, redis_server.url, "split", name, *options, f"--junitxml={name}.xml"
        )
        for name in node_names
    ]
    codes = finish_all(nodes)

    ran = {name: names(junit_cases(pytester.path / f"{name}.xml")) for name in node_names}
    everything = [case for name in node_names for case in ran[name]]
    assert sorted(everything) == ALL_STEPS, "every test ran once, on one node"
    (failing_node,) = [name for name in node_names if FAILING in ran[name]]
    line = f"testfleet fleet: {count} nodes, 30 tests: 29 passed, 1 failed (on node {failing_node})"
    for node in nodes:
        assert line in node.output.splitlines(), node.output
    assert codes == [1 if name == failing_node else 0 for name in node_names]


STOPPING = """
import os, time
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

@pytest.mark.parametrize("n", range(30))
def test_step(n):
    open(os.path.join(HERE, "started"), "a").close()
    time.sleep(0.05)
    # Node n1 fails the first test it runs after the run's first: -x stops it there.
    assert os.environ["NODE"] != "n1" or n == 0
"""


def test_a_node_that_stops_hands_its_work_on_at_once(
    pytester: pytest.Pytester, redis_server: RedisServer
) -> None:
    """A node stopped by -x hands the units it holds to the others as it leaves: the
    run completes long before its lease (a minute) would have lapsed, every test once."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    pytester.makepyfile(test_steps=STOPPING)
    gate(pytester, redis_server.url, "stops", 2)
    options = ("--fleet-lease", "60")
    first = start_node(
        pytester.path,
        redis_server.url,
        "stops",
        "n1",
        "-x",
        *options,
        "--junitxml=n1.xml",
        env={"NODE": "n1"},
    )
    wait_for(pytester.path / "started")
    second = start_node(
        pytester.path,
        redis_server.url,
        "stops",
        "n2",
        *options,
        "--junitxml=n2.xml",
        env={"NODE": "n2"},
    )
    # Well within the lease: only a hand-over lets node 2 finish in time.
    codes = finish_all([first, second], timeout=45)
    on_first = junit_cases(pytester.path / "n1.xml")
    ran = names(on_first) + names(junit_cases(pytester.path / "n2.xml"))
    assert sorted(ran) == ALL_STEPS
    # The test that failed, and any that ran on before the stop reached the worker.
    failed = [outcome for *_, outcome in on_first].count("failure")
    assert failed >= 1
    assert codes == [1, 0], first.output + second.output
    assert "stopping after 1 failures" in first.output
    assert "was lost" not in second.output
    line = f"testfleet fleet: 2 nodes, 30 tests: {30 - failed} passed, {failed} failed (on node n1)"
    assert line in second.output


def test_a_late_node_takes_part(pytester: pytest.Pytester, redis_server: RedisServer) -> None:
    """A node that starts once the run is under way takes some of the work that is
    left; every test runs once and both nodes print the whole run."""
    steps_suite(pytester, delay=0.1, failing=-1)
    # Node 1 holds its second test until node 2 joined: it holds a unit per worker
    # and one in reserve, so the rest of the run is left for node 2.
    gate(pytester, redis_server.url, "late", 2)
    first = start_node(pytester.path, redis_server.url, "late", "n1", "--junitxml=n1.xml")
    wait_for(pytester.path / "started")
    second = start_node(pytester.path, redis_server.url, "late", "n2", "--junitxml=n2.xml")
    assert finish_all([first, second]) == [0, 0], first.output + second.output

    late = names(junit_cases(pytester.path / "n2.xml"))
    assert late, f"the late node ran nothing:\n{second.output}"
    assert sorted(late + names(junit_cases(pytester.path / "n1.xml"))) == ALL_STEPS
    line = "testfleet fleet: 2 nodes, 30 tests: 30 passed"
    assert line in first.output.splitlines(), first.output
    assert line in second.output.splitlines(), second.output


def test_a_node_that_collected_other_tests_takes_no_work(
    pytester: pytest.Pytester, redis_server: RedisServer
) -> None:
    """A node whose -k leaves out tests the planner collected exits 4 naming them and
    runs nothing, while the planner completes the run alone."""
    steps_suite(pytester, delay=0.05, failing=-1)
    pytester.makepyfile(
        test_other="def test_other_a():\n    pass\n\ndef test_other_b():\n    pass\n"
    )
    planner = start_node(pytester.path, redis_server.url, "other", "n1", "--junitxml=n1.xml")
    wait_for(pytester.path / "started")
    other = start_node(
        pytester.path,
        redis_server.url,
        "other",
        "n2",
        "-k",
        "not test_other",
        "-rA",
        "--junitxml=n2.xml",
    )

    assert other.finish() == 4, other.output
    assert "collected other tests than the node that planned run other" in other.output
    lines = other.output.splitlines()
    assert "  only on the planner: test_other.py::test_other_a" in lines, other.output
    assert "  only on the planner: test_other.py::test_other_b" in lines, other.output
    assert len([line for line in lines if line.startswith("  only")]) == 2, other.output
    assert "PASSED" not in other.output
    xml = pytester.path / "n2.xml"
    assert not xml.exists() or junit_cases(xml) == []

    assert planner.finish() == 0, planner.output
    assert len(junit_cases(pytester.path / "n1.xml")) == 32
    assert "testfleet fleet: 1 node, 32 tests: 32 passed" in planner.output.splitlines()


def test_report_writes_the_run_as_pytest_would(
    pytester: pytest.Pytester, redis_server: RedisServer
) -> None:
    """`testfleet fleet report` writes one JUnit file of a two-node run with the same
    testcases and outcomes as a serial pytest run, and exits 1 for its failures, 2 for
    a run that is not complete and 4 for a run that does not exist."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    pytester.makepyfile(test_outcomes=OUTCOMES)
    serial = pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider", "--junitxml=serial.xml"
    )
    serial.assert_outcomes(passed=9, failed=1, skipped=1, xfailed=1, xpassed=1, errors=1)
    gate(pytester, redis_server.url, "report", 2)
    nodes = [start_node(pytester.path, redis_server.url, "report", n) for n in ("n1", "n2")]
    finish_all(nodes)

    whole = pytester.path / "all.xml"
    report = run_testfleet(
        "fleet", "report", f"--fleet={redis_server.url}", "--run-id=report", f"--junitxml={whole}"
    )
    assert report.returncode == 1, report.stdout + report.stderr
    assert sorted(junit_cases(whole)) == sorted(junit_cases(pytester.path / "serial.xml"))
    assert suite_counts(whole) == suite_counts(pytester.path / "serial.xml")
    where = ran_on(whole)
    line = (
        f"testfleet fleet: 2 nodes, 14 tests: 9 passed, 1 failed (on node {where['test_fails']}), "
        f"1 error (on node {where['test_errors']}), 1 skipped, 1 xfailed, 1 xpassed"
    )
    assert line in report.stdout.splitlines(), report.stdout
    assert "FAILED test_outcomes.py::test_fails" in report.stdout

    # A run whose plan has more tests than it has results, none of them failed.
    client = redis_server.client()
    done = client.hgetall("testfleet:report:done")
    passed = {k: v for k, v in done.items() if json.loads(v)["outcome"] == "passed"}
    client.hset("testfleet:partial:meta", mapping=client.hgetall("testfleet:report:meta"))
    client.hset("testfleet:partial:meta", "tests", len(passed) + 1)
    client.hset("testfleet:partial:done", mapping=passed)
    partial = run_testfleet("fleet", "report", f"--fleet={redis_server.url}", "--run-id=partial")
    assert partial.returncode == 2, partial.stdout + partial.stderr
    assert f"{len(passed)} of {len(passed) + 1} tests have a result" in partial.stderr

    missing = run_testfleet("fleet", "report", f"--fleet={redis_server.url}", "--run-id=never-ran")
    assert missing.returncode == 4, missing.stdout + missing.stderr
    assert "no fleet run 'never-ran'" in missing.stderr


def test_a_password_never_shows(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Nodes complete a run on a Redis that wants a password without ever printing it;
    a wrong password is exit 4 with a message that shows neither."""
    steps_suite(pytester, delay=0.02)
    workdir = tmp_path / "secured"
    workdir.mkdir()
    server = RedisServer(workdir, password="s3cret")
    server.start()
    try:
        url = f"redis://:s3cret@127.0.0.1:{server.port}/0"
        gate(pytester, url, "secured", 2)
        nodes = [start_node(pytester.path, url, "secured", n, "-rA") for n in ("n1", "n2")]
        assert sorted(finish_all(nodes)) == [0, 1]
        wrong = start_node(pytester.path, f"redis://:hunter2@127.0.0.1:{server.port}/0", "w", "n3")
        assert wrong.finish() == 4, wrong.output
    finally:
        server.kill()
    for node in nodes:
        assert "testfleet fleet: 2 nodes, 30 tests: 29 passed, 1 failed" in node.output
        assert "s3cret" not in node.output
    assert f"Redis at redis://127.0.0.1:{server.port}/0 refused the login" in wrong.output
    assert "hunter2" not in wrong.output
    assert "s3cret" not in wrong.output


def test_every_key_of_the_run_expires(pytester: pytest.Pytester, redis_server: RedisServer) -> None:
    """After a run with --fleet-key-ttl 600 every key of the run expires within 600 s,
    those first written after the node's last heartbeat too."""
    steps_suite(pytester, delay=0.01)
    # A lease of two minutes: the node's only heartbeat is the one it joins with,
    # before any result exists, as in any run shorter than a third of its lease.
    node = start_node(
        pytester.path,
        redis_server.url,
        "expiring",
        "n1",
        "--fleet-key-ttl=600",
        "--fleet-lease=120",
    )
    assert node.finish() == 1, node.output
    client = redis_server.client()
    keys = client.keys("testfleet:expiring:*")
    assert {"testfleet:expiring:done", "testfleet:expiring:results"} <= set(keys)
    ttls = {key: client.ttl(key) for key in keys}
    assert {key: ttl for key, ttl in ttls.items() if not 1 <= ttl <= 600} == {}


def test_the_history_records_one_run_of_every_node(
    pytester: pytest.Pytester, redis_server: RedisServer
) -> None:
    """Two nodes sharing a SQLite history leave one complete run in it with the result
    of every test, whichever node ran it."""
    steps_suite(pytester, delay=0.05)
    gate(pytester, redis_server.url, "recorded", 2)
    history = pytester.path / "h.db"
    nodes = [
        start_node(pytester.path, redis_server.url, "recorded", n, f"--history={history}")
        for n in ("n1", "n2")
    ]
    assert sorted(finish_all(nodes)) == [0, 1], nodes[0].output + nodes[1].output

    with contextlib.closing(sqlite3.connect(history)) as db:
        runs = db.execute("SELECT run_id, status, exit_code FROM testfleet_runs").fetchall()
        assert len(runs) == 1, runs
        (run_id, status, exit_code) = runs[0]
        results = db.execute(
            "SELECT nodeid, outcome FROM testfleet_results WHERE run_id = ?", (run_id,)
        ).fetchall()
        measured = db.execute(
            "SELECT COUNT(*) FROM testfleet_results WHERE run_id = ? "
            "AND cpu_seconds IS NOT NULL AND peak_rss_bytes > 0",
            (run_id,),
        ).fetchone()[0]
    assert measured == 30  # each test's figures travel with its result, from every node
    assert status == "complete"
    assert exit_code == 1
    assert sorted(nodeid for nodeid, _ in results) == sorted(
        f"test_steps.py::test_step[{n}]" for n in range(30)
    )
    assert dict(results)["test_steps.py::test_step[17]"] == "failed"
    assert sum(outcome == "passed" for _, outcome in results) == 29


# -- input that is refused ---------------------------------------------------------


def test_an_unreachable_redis_fails_before_collection(pytester: pytest.Pytester) -> None:
    """A Redis nobody listens for is exit 4 with one line naming its URL without the
    password, before anything is collected."""
    steps_suite(pytester, delay=0.01)
    port = free_port()
    result = run_pytest(
        pytester.path, f"--fleet=redis://:secret@127.0.0.1:{port}/0", "--run-id=r", env={}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith(
        f"ERROR: testfleet: cannot reach Redis at redis://127.0.0.1:{port}/0: "
    )
    assert "secret" not in output
    assert "collected" not in output


def test_the_run_id_comes_from_the_option_or_the_ci(
    pytester: pytest.Pytester, redis_server: RedisServer
) -> None:
    """Without --run-id or a CI's run id a node is exit 4 naming --run-id; on GitHub the
    run id and its attempt name the run's keys."""
    steps_suite(pytester, delay=0.01, failing=-1)
    missing = run_pytest(pytester.path, f"--fleet={redis_server.url}", env={})
    assert missing.returncode == 4, missing.stdout + missing.stderr
    assert "--fleet needs --run-id" in missing.stderr
    assert redis_server.client().keys("*") == []

    github = run_pytest(
        pytester.path,
        f"--fleet={redis_server.url}",
        env={"GITHUB_RUN_ID": "77", "GITHUB_RUN_ATTEMPT": "2"},
    )
    assert github.returncode == 0, github.stdout + github.stderr
    assert "testfleet fleet: 1 node, 30 tests: 30 passed" in github.stdout
    keys = redis_server.client().keys("*")
    assert keys
    assert all(key.startswith("testfleet:77-2:") for key in keys), keys


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--fleet=http://x", "--run-id=r"), "--fleet: expected redis://"),
        (("--fleet={url}", "--run-id=r", "--shard=1/2"), "--fleet and --shard both split"),
    ],
    ids=["http-url", "with-shard"],
)
def test_options_that_make_no_node(
    pytester: pytest.Pytester, redis_server: RedisServer, options: tuple[str, ...], message: str
) -> None:
    """A URL that is not Redis's, or --fleet with --shard, is exit 4 saying why."""
    steps_suite(pytester, delay=0.01)
    args = [option.format(url=redis_server.url) for option in options]
    result = run_pytest(pytester.path, *args, env={})
    assert result.returncode == 4, result.stdout + result.stderr
    assert message in result.stderr
    assert "collected" not in result.stdout
    assert redis_server.client().keys("*") == []
