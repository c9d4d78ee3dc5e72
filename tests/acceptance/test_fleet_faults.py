"""Acceptance tests of a fleet run that loses something: a node killed mid-test or
between units, a test that takes its node down every time, the Redis server, a
malformed entry on the work stream, and a resource shared by the whole fleet.

Every node is a real pytest process in its own process group (fleet_support), so a
kill is a SIGKILL of the whole node, as a machine that vanished; every test has a
Redis server of its own.  A short lease (2 s) makes the survivors take the work of
a lost node over soon after they run out of their own.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fleet_support
import pytest
from fleet_support import Node, finish_all, start_node, wait_for

from redis_support import RedisServer

#: A Redis server of the test's own; bound here rather than imported by name, as
#: every test's parameter of that name would otherwise shadow an import (F811).
redis_server = fleet_support.redis_server

pytest.importorskip("redis", reason="the test extra installs redis")

#: The lease of every node: a lost node's units lapse after two seconds of silence.
LEASE = ("--fleet-lease", "2")


def junit_nodeids(path: Path) -> list[str]:
    """The tests a node's ``--junitxml`` names, as node ids (top-level modules only)."""
    cases = ET.parse(path).getroot().iter("testcase")
    return [f"{case.get('classname')}.py::{case.get('name')}" for case in cases]


def done(server: RedisServer, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's record of results: node id -> what the node that ran it wrote."""
    found = server.client().hgetall(f"testfleet:{run_id}:done")
    return {nodeid: json.loads(body) for nodeid, body in found.items()}


def wait_until_running(server: RedisServer, run_id: str, nodeid: str) -> str:
    """Wait until the run marks ``nodeid`` as started; the node running it.

    A mark is ``node<TAB>worker<TAB>n``, which a worker writes as it starts its n-th test.
    """
    client = server.client()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mark = client.hget(f"testfleet:{run_id}:running", nodeid)
        if mark is not None:
            return str(mark).partition("\t")[0]
        time.sleep(0.01)
    raise AssertionError(f"the run never marked {nodeid} running")


def fleet_report(
    server: RedisServer, run_id: str, junitxml: Path
) -> subprocess.CompletedProcess[str]:
    """``testfleet fleet report`` of the run, writing its JUnit XML to ``junitxml``."""
    command = [sys.executable, "-m", "testfleet.cli", "fleet", "report"]
    command += ["--fleet", server.url, "--run-id", run_id, "--junitxml", str(junitxml)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def assert_reported_as_recorded(
    pytester: pytest.Pytester, nodes: list[Node], results: dict[str, dict[str, Any]]
) -> None:
    """Each node's JUnit file names exactly the tests the run recorded as its own, once."""
    for node in nodes:
        mine = junit_nodeids(pytester.path / f"{node.name}.xml")
        assert len(mine) == len(set(mine)), mine
        assert sorted(mine) == sorted(n for n, r in results.items() if r["node"] == node.name)


def whole_run_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("testfleet fleet:")]


@pytest.fixture
def started() -> Iterator[list[Node]]:
    """The nodes a test started: any still running when it ends (it failed before it
    waited for them) are killed and reaped, so that no process outlives its test."""
    nodes: list[Node] = []
    yield nodes
    for node in nodes:
        if node.process.returncode is None:
            node.kill()
            node.process.communicate()


def start_nodes(
    started: list[Node],
    directory: Path,
    server: RedisServer,
    run_id: str,
    count: int,
    *args: str,
) -> list[Node]:
    """Nodes n1..n``count``, each writing its own JUnit file, all with the short lease;
    their tests know the node's name (NODE_NAME), the server and the run."""
    nodes = [
        start_node(
            directory,
            server.url,
            run_id,
            f"n{i}",
            *LEASE,
            f"--junitxml=n{i}.xml",
            *args,
            env={"NODE_NAME": f"n{i}", "FLEET_URL": server.url, "RUN_ID": run_id},
        )
        for i in range(1, count + 1)
    ]
    started += nodes
    return nodes


# -- a node killed while a test runs -------------------------------------------

#: test_hold says which node runs it (atomically: written, then renamed) and holds
#: that node long enough to be killed under it; run again, it notes where and ends.
HOLD = """
import os, time

def test_hold():
    name = os.environ["NODE_NAME"]
    if os.path.exists("hold.txt"):
        with open("reruns.txt", "a") as out:
            out.write(name + "\\n")
        return
    with open("hold.tmp", "w") as out:
        out.write(name)
    os.replace("hold.tmp", "hold.txt")
    time.sleep(3)
"""

QUICK = """
import time, pytest

@pytest.mark.parametrize("n", range(10))
def test_quick(n):
    time.sleep(0.2)
"""


def test_a_node_killed_mid_test_has_its_test_run_again_on_a_survivor(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node]
) -> None:
    """SIGKILL of the node running test_hold: the two others end normally, test_hold runs
    again on one of them with a note, and every test has exactly one result."""
    pytester.makepyfile(test_a=QUICK, test_b=QUICK, test_c=QUICK, test_hold=HOLD)
    nodes = start_nodes(started, pytester.path, redis_server, "kill-mid", 3, "-rA")
    wait_for(pytester.path / "hold.txt")
    victim = (pytester.path / "hold.txt").read_text()
    assert wait_until_running(redis_server, "kill-mid", "test_hold.py::test_hold") == victim
    killed = next(node for node in nodes if node.name == victim)
    killed.kill()
    survivors = [node for node in nodes if node is not killed]
    codes = finish_all(survivors)
    killed.finish()
    outputs = "\n".join(node.output for node in survivors)
    assert codes == [0, 0], outputs

    results = done(redis_server, "kill-mid")
    assert redis_server.client().hlen("testfleet:kill-mid:done") == len(results) == 31
    # test_hold ran again on a survivor, which noted why.
    rerun_on = (pytester.path / "reruns.txt").read_text().split()
    assert len(rerun_on) == 1
    assert rerun_on[0] != victim
    assert results["test_hold.py::test_hold"]["node"] == rerun_on[0]
    assert results["test_hold.py::test_hold"]["rerun_after"] == victim
    rerunner = next(node for node in survivors if node.name == rerun_on[0])
    assert (
        f"testfleet: node {victim} was lost while running test_hold.py::test_hold; running it again"
    ) in rerunner.output
    assert_reported_as_recorded(pytester, survivors, results)
    for node in survivors:
        assert whole_run_lines(node.output) == [
            "testfleet fleet: 3 nodes, 31 tests: 31 passed, 1 re-run after a node was lost"
        ], node.output
    # The whole run, read back: every test once.
    report = fleet_report(redis_server, "kill-mid", pytester.path / "whole.xml")
    assert report.returncode == 0, report.stdout + report.stderr
    assert whole_run_lines(report.stdout) == whole_run_lines(survivors[0].output)
    assert sorted(junit_nodeids(pytester.path / "whole.xml")) == sorted(results)


# -- a node killed between units ---------------------------------------------------

#: A module whose tests share a module-scoped fixture that takes a while to set up
#: (so a worker spends a moment in it, running no test's body, as it starts the
#: module); test_m1's last test says which node ran it as it returns.
MODULE = """
import os, time, pytest

@pytest.fixture(scope="module")
def prepared():
    time.sleep(0.3)

@pytest.mark.parametrize("n", range(3))
def test_step(prepared, n):
    time.sleep(0.1)

def test_last(prepared):
    time.sleep(0.1)
    if __name__ == "test_m1":
        with open("m1.tmp", "w") as out:
            out.write(os.environ["NODE_NAME"])
        os.replace("m1.tmp", "m1.txt")
"""


def test_a_node_killed_between_units_loses_no_test(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node]
) -> None:
    """SIGKILL of a node just after the run recorded its unit of test_m1 (the unit's
    last test returned and the unit was acknowledged), while its worker sets up the
    module fixture of its next unit: test_m1 stays as that node ran it, the survivors
    run the rest of its units, the test it was setting up again (noted), none twice.

    The kill is not between two tests to the microsecond: a node hands its worker the
    next unit's first test as the previous one ends, and the worker marks it started
    before its setup. It lands in that test's module fixture, before its body: the
    moment a node holds units and runs no test body.
    """
    modules = {f"test_m{i}": MODULE for i in range(1, 10)}
    pytester.makepyfile(**modules)
    nodes = start_nodes(started, pytester.path, redis_server, "kill-between", 3, "-rA")
    wait_for(pytester.path / "m1.txt")
    victim = (pytester.path / "m1.txt").read_text()
    client = redis_server.client()
    running_key = "testfleet:kill-between:running"
    deadline = time.monotonic() + 30
    while True:
        recorded = client.hexists("testfleet:kill-between:done", "test_m1.py::test_last")
        marks = [
            (int(mark.split("\t")[2]), nodeid)
            for nodeid, mark in client.hgetall(running_key).items()
            if mark.split("\t")[0] == victim
        ]
        # The last test the victim's worker started is the one it is running.
        next_up = [max(marks)[1]] if marks else []
        if recorded and next_up and not next_up[0].startswith("test_m1.py"):
            break
        assert time.monotonic() < deadline, f"{victim} never went on from test_m1"
        time.sleep(0.005)
    killed = next(node for node in nodes if node.name == victim)
    killed.kill()
    survivors = [node for node in nodes if node is not killed]
    codes = finish_all(survivors)
    killed.finish()
    outputs = "\n".join(node.output for node in survivors)
    assert codes == [0, 0], outputs

    results = done(redis_server, "kill-between")
    assert len(results) == 36
    # test_m1 ran on the victim, whose results were recorded before it went.
    assert {r["node"] for n, r in results.items() if n.startswith("test_m1.py")} == {victim}
    # The test it had begun ran again on a survivor, and only that one is a re-run.
    assert len(next_up) == 1
    rerun = results[next_up[0]]
    assert rerun["node"] != victim
    assert rerun["rerun_after"] == victim
    assert [n for n, r in results.items() if r["rerun_after"]] == next_up
    assert (
        f"testfleet: node {victim} was lost while running {next_up[0]}; running it again"
    ) in outputs
    assert_reported_as_recorded(pytester, survivors, results)
    for node in survivors:
        assert whole_run_lines(node.output) == [
            "testfleet fleet: 3 nodes, 36 tests: 36 passed, 1 re-run after a node was lost"
        ], node.output


# -- a test that takes its node down -------------------------------------------------

#: test_bomb notes the node it runs on, then SIGKILLs that node: its controller's
#: group (the node's own) and its worker's group (a worker leads a group of its own).
#: It kills once the run knows it is running on this node, as a test that runs
#: the node out of memory or time would: some moments into its run.
BOMB_ONCE_MARKED = """
import os, signal, time
import redis

def test_bomb():
    name = os.environ["NODE_NAME"]
    with open("bombs.txt", "a") as out:
        out.write(name + "\\n")
    client = redis.Redis.from_url(os.environ["FLEET_URL"], decode_responses=True)
    running = "testfleet:" + os.environ["RUN_ID"] + ":running"
    deadline = time.monotonic() + 20
    while (client.hget(running, "test_bomb.py::test_bomb") or "").split("\\t")[0] != name:
        if time.monotonic() > deadline:
            break  # the assertions on the run will say what went wrong
        time.sleep(0.01)
    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
    os.killpg(0, signal.SIGKILL)
"""

#: The same, killing its node at once (a segfault of the node's own, say).
BOMB_AT_ONCE = """
import os, signal

def test_bomb():
    with open("bombs.txt", "a") as out:
        out.write(os.environ["NODE_NAME"] + "\\n")
    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
    os.killpg(0, signal.SIGKILL)
"""


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(BOMB_ONCE_MARKED, id="once-marked"),
        pytest.param(BOMB_AT_ONCE, id="at-once"),
    ],
)
def test_a_test_lost_on_two_nodes_fails_on_the_third_without_running(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node], bomb: str
) -> None:
    """test_bomb takes down the node that runs it, and the one that runs it again: the
    third node reports it failed, naming both, without running it; every other test
    has one result."""
    pytester.makepyfile(test_a=QUICK, test_b=QUICK, test_c=QUICK, test_bomb=bomb)
    nodes = start_nodes(started, pytester.path, redis_server, "bomb", 3, "-rA")
    codes = dict(zip([node.name for node in nodes], finish_all(nodes), strict=True))
    bombed = (pytester.path / "bombs.txt").read_text().split()
    assert len(bombed) == 2
    assert len(set(bombed)) == 2
    (last,) = set(codes) - set(bombed)
    assert codes == {bombed[0]: -9, bombed[1]: -9, last: 1}
    survivor = next(node for node in nodes if node.name == last)
    assert (
        f"testfleet: node {bombed[0]} and node {bombed[1]} were lost while running "
        "test_bomb.py::test_bomb; it is not run a third time"
    ) in survivor.output

    results = done(redis_server, "bomb")
    assert len(results) == 31
    assert results["test_bomb.py::test_bomb"]["outcome"] == "failed"
    assert results["test_bomb.py::test_bomb"]["node"] == last
    assert {r["outcome"] for n, r in results.items() if n != "test_bomb.py::test_bomb"} == {
        "passed"
    }
    assert_reported_as_recorded(pytester, [survivor], results)
    assert whole_run_lines(survivor.output) == [
        f"testfleet fleet: 3 nodes, 31 tests: 30 passed, 1 failed (on node {last})"
    ], survivor.output
    report = fleet_report(redis_server, "bomb", pytester.path / "whole.xml")
    assert report.returncode == 1, report.stdout + report.stderr
    assert f"FAILED test_bomb.py::test_bomb (node {last}, -)" in report.stdout
    assert sorted(junit_nodeids(pytester.path / "whole.xml")) == sorted(results)


# -- the Redis server goes away -------------------------------------------------------

#: Twenty tests of 0.3 s; the fourth to run on any node leaves a marker.
SLOW = """
import os, time, pytest

@pytest.mark.parametrize("n", range(20))
def test_slow(n):
    time.sleep(0.3)
    if n == 3:
        open("marker.txt", "w").close()
"""


def test_nodes_that_lose_redis_stop_and_the_history_records_no_run(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node], tmp_path: Path
) -> None:
    """The server killed mid-run: both nodes say they lost it (by its URL), stop taking
    work and exit 2, and the shared history has no complete run."""
    pytester.makepyfile(test_slow=SLOW)
    history = tmp_path / "h.db"
    nodes = start_nodes(started, pytester.path, redis_server, "no-redis", 2, f"--history={history}")
    wait_for(pytester.path / "marker.txt")
    redis_server.kill()
    codes = finish_all(nodes)
    assert codes == [2, 2], "\n".join(node.output for node in nodes)
    for node in nodes:
        assert (
            f"testfleet: lost the connection to Redis at redis://127.0.0.1:{redis_server.port}/0: "
        ) in node.output
        assert "this node stopped taking work and the run is not complete" in node.output
        assert whole_run_lines(node.output) == []
    ran = [len(junit_nodeids(pytester.path / f"{node.name}.xml")) for node in nodes]
    assert 0 < sum(ran) < 20
    # The nodes read the history to plan (so the file is there); none recorded a run.
    with contextlib.closing(sqlite3.connect(history)) as db:
        runs = db.execute("SELECT status FROM testfleet_runs").fetchall()
    assert runs == []


# -- entries of the work stream that no node wrote ----------------------------------


def put_on_stream(server: RedisServer, run_id: str, *units: str) -> None:
    """Add entries to the run's work stream before any node planned it."""
    client = server.client()
    for unit in units:
        client.xadd(f"testfleet:{run_id}:work", {"unit": unit})


def assert_every_test_once(
    pytester: pytest.Pytester, server: RedisServer, run_id: str, nodes: list[Node], total: int
) -> None:
    """The run has ``total`` results, the nodes' JUnit files name each test once, and
    no unit is left pending."""
    results = done(server, run_id)
    assert len(results) == total
    reported = [n for node in nodes for n in junit_nodeids(pytester.path / f"{node.name}.xml")]
    assert sorted(reported) == sorted(results)
    pending = server.client().xpending(f"testfleet:{run_id}:work", "testfleet")
    assert pending["pending"] == 0


def test_malformed_entries_of_the_work_stream_are_skipped_and_never_run(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node]
) -> None:
    """Entries put on the work stream before the plan (not JSON; a unit without tests)
    are acknowledged and never run; two nodes run every planned test once."""
    pytester.makepyfile(test_a=QUICK, test_b=QUICK)
    put_on_stream(redis_server, "bad-entries", "not json", '{"v":1,"tests":[],"estimates":[]}')
    nodes = start_nodes(started, pytester.path, redis_server, "bad-entries", 2)
    codes = finish_all(nodes, timeout=15)
    assert codes == [0, 0], "\n".join(node.output for node in nodes)
    assert_every_test_once(pytester, redis_server, "bad-entries", nodes, 20)


def test_a_malformed_entry_is_skipped_with_a_line(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node]
) -> None:
    """The node that reads an entry that is not a unit says so, naming the entry."""
    pytester.makepyfile(test_a=QUICK)
    put_on_stream(redis_server, "bad-entry", "not json")
    # Two workers take two entries at first: the malformed one and a unit to run.
    (node,) = start_nodes(started, pytester.path, redis_server, "bad-entry", 1, "--workers", "2")
    assert node.finish(timeout=15) == 0, node.output
    assert_every_test_once(pytester, redis_server, "bad-entry", [node], 10)
    assert "testfleet: skipped entry " in node.output, node.output


def test_a_unit_of_a_test_no_node_collected_is_noted_and_not_run(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node]
) -> None:
    """A well-formed unit naming a test that does not exist: the node that takes it
    says so and acknowledges it; the planned tests run once and the run completes."""
    pytester.makepyfile(test_a=QUICK, test_b=QUICK)
    unit = '{"v":1,"tests":["test_nope.py::test_nope"],"estimates":[0.1]}'
    put_on_stream(redis_server, "unknown-test", unit)
    nodes = start_nodes(started, pytester.path, redis_server, "unknown-test", 2)
    codes = finish_all(nodes, timeout=15)
    outputs = "\n".join(node.output for node in nodes)
    assert codes == [0, 0], outputs
    assert (
        "testfleet: a unit names a test this node did not collect: test_nope.py::test_nope"
    ) in outputs
    assert_every_test_once(pytester, redis_server, "unknown-test", nodes, 20)
    for node in nodes:
        assert whole_run_lines(node.output) == ["testfleet fleet: 2 nodes, 20 tests: 20 passed"]


# -- a live node's leases ---------------------------------------------------------------

#: One test that outlasts the lease, and quick ones in units of their own.
LONG = """
import time

def test_long():
    time.sleep(3)
"""

SHORT = """
import time, pytest

@pytest.mark.parametrize("n", range(6))
def test_short(n):
    time.sleep(0.1)
"""


def test_a_live_node_keeps_every_unit_it_holds_past_the_lease(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node]
) -> None:
    """A node runs a test longer than the lease while it holds the next unit: its
    heartbeat keeps both, so the idle node does not take that unit over and no test
    runs twice."""
    pytester.makepyfile(test_long=LONG, test_short=SHORT)
    # The last --fleet-lease wins: one second, shorter than test_long.
    nodes = start_nodes(started, pytester.path, redis_server, "live", 2, "--fleet-lease=1")
    codes = finish_all(nodes, timeout=15)
    outputs = "\n".join(node.output for node in nodes)
    assert codes == [0, 0], outputs
    assert "took over a unit of this node" not in outputs
    assert "was lost while running" not in outputs
    results = done(redis_server, "live")
    assert len(results) == 7
    assert not any(r["rerun_after"] for r in results.values())
    reported = [n for node in nodes for n in junit_nodeids(pytester.path / f"{node.name}.xml")]
    assert sorted(reported) == sorted(results)


#: Forty quick tests; the first says which node runs it.
MANY = """
import os, time, pytest

@pytest.mark.parametrize("n", range(40))
def test_many(n):
    if n == 0:
        with open("first.tmp", "w") as out:
            out.write(os.environ["NODE_NAME"])
        os.replace("first.tmp", "first.txt")
    time.sleep(0.1)
"""


def test_a_node_that_stalls_past_its_lease_and_comes_back_ends(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node]
) -> None:
    """A node frozen (SIGSTOP) early in the run, until the other node has run its units
    and ended: resumed, it says its unit was taken over, records nothing, and ends.

    Its controller is frozen, not its worker (a process group of its own): the worker
    runs on through the tests it holds and marks each as it starts it, so the test
    counted as running when the node was lost is the last it started, at most one."""
    pytester.makepyfile(test_many=MANY)
    nodes = start_nodes(started, pytester.path, redis_server, "stall", 2)
    wait_for(pytester.path / "first.txt")
    name = (pytester.path / "first.txt").read_text()
    assert wait_until_running(redis_server, "stall", "test_many.py::test_many[0]") == name
    (stalled,) = [node for node in nodes if node.name == name]
    (other,) = [node for node in nodes if node is not stalled]
    os.killpg(stalled.process.pid, signal.SIGSTOP)
    try:
        assert other.finish() == 0, other.output
    finally:
        os.killpg(stalled.process.pid, signal.SIGCONT)
    code = stalled.finish(timeout=10)
    assert code == 0, stalled.output
    assert "another node took over a unit of this node" in stalled.output
    results = done(redis_server, "stall")
    assert len(results) == 40
    assert results["test_many.py::test_many[0]"]["node"] == other.name
    reruns = [n for n, r in results.items() if r["rerun_after"]]
    assert len(reruns) <= 1
    assert all(results[n]["rerun_after"] == name for n in reruns)
    tail = ", 1 re-run after a node was lost" if reruns else ""
    for node in nodes:
        # The stalled node recorded nothing: the run counts the nodes that ran its tests.
        assert whole_run_lines(node.output) == [
            f"testfleet fleet: 1 node, 40 tests: 40 passed{tail}"
        ], node.output


# -- a resource of the whole fleet ------------------------------------------------------

#: Two tests holding "lane" through the mark, and one through testfleet.acquire;
#: each logs its start and end in one file (appends of one line each are atomic, and
#: CLOCK_MONOTONIC is one clock for every process of the machine).
LANE = """
import os, time, pytest, testfleet

def hold(name):
    fd = os.open("lane.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        node = os.environ["NODE_NAME"]
        os.write(fd, f"start {time.monotonic()} {name} {node}\\n".encode())
        time.sleep(0.3)
        os.write(fd, f"end {time.monotonic()} {name} {node}\\n".encode())
    finally:
        os.close(fd)

@pytest.mark.resource("lane")
@pytest.mark.parametrize("n", range(2))
def test_marked(n):
    hold(f"{__name__}-{n}")

def test_acquired():
    with testfleet.acquire("lane"):
        hold(f"{__name__}-acquired")
"""

ORDINARY = """
import time, pytest

@pytest.mark.parametrize("n", range(10))
def test_ordinary(n):
    time.sleep(0.05)
"""


def holds(log: str) -> list[tuple[float, float, str, str]]:
    """Each hold in the log: (start, end, holder, node).  A holder's start is followed
    by its end before it starts again (a test run again holds twice)."""
    spans = []
    open_since: dict[tuple[str, str], float] = {}
    for line in log.splitlines():
        kind, at, name, node = line.split()
        if kind == "start":
            assert (name, node) not in open_since, log
            open_since[name, node] = float(at)
        else:
            spans.append((open_since.pop((name, node)), float(at), name, node))
    assert open_since == {}, log
    return spans


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_resource_of_capacity_one_is_held_once_across_the_fleet(
    pytester: pytest.Pytester, redis_server: RedisServer, started: list[Node], workers: str
) -> None:
    """lane = 1: its nine holders, on two nodes, never hold it at the same time."""
    pytester.makepyprojecttoml("[tool.testfleet.resources]\nlane = 1\n")
    pytester.makepyfile(test_lane1=LANE, test_lane2=LANE, test_lane3=LANE, test_ordinary=ORDINARY)
    run_id = f"lane-{workers}"
    nodes = start_nodes(started, pytester.path, redis_server, run_id, 2, "--workers", workers)
    codes = finish_all(nodes)
    outputs = "\n".join(node.output for node in nodes)
    assert codes == [0, 0], outputs
    assert len(done(redis_server, run_id)) == 19
    log = (pytester.path / "lane.log").read_text()
    spans = sorted(holds(log))
    assert {name for _, _, name, _ in spans} == {
        f"test_lane{m}-{n}" for m in (1, 2, 3) for n in ("0", "1", "acquired")
    }
    overlaps = [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]
    assert overlaps == [], log
