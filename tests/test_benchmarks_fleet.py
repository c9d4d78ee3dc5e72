"""Tests of the fleet benchmark's own parts, ``benchmarks/fleet.py``: its bounds, the
counting that says every test of a run was reported exactly once, and how it reads junit
files and the run's ``done`` hash. Its timings are only worth reporting if these hold."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmark_modules import load
from testfleet.distributed.protocol import FleetResult, encode_result

fleet = load("fleet")
suites = load("suites")

A, B, C = "test_00.py::test_0000", "test_00.py::test_0001", "test_01.py::test_0100"
KA, KB, KC = "test_00::test_0000", "test_00::test_0001", "test_01::test_0100"


def _done(**nodes: tuple[str, str | None]) -> dict[str, object]:
    """A parsed ``done`` hash: keyword = test letter, value = (node, lost node re-run after)."""
    ids = {"a": A, "b": B, "c": C}
    return {ids[k]: fleet.Done(node, rerun) for k, (node, rerun) in nodes.items()}


def test_the_kill_bound_adds_the_lease_to_the_lower_bound() -> None:
    """LB(2) + lease for the sleep suite is 12 s + 2 s; a long test can set LB instead."""
    sleep = suites.SPECS["sleep"]
    meta = suites.suite_meta(sleep, suites.durations(sleep), scale=1.0, seed=1)
    assert fleet.lease_bound(meta, 2, 2.0) == pytest.approx(14.0)
    assert fleet.lease_bound({"sum_d": 4.0, "max_d": 3.0}, 2, 2.0) == pytest.approx(5.0)
    assert fleet.lease_bound({"sum_d": 0.0, "max_d": 0.0}, 2, 2.0) is None


def test_junit_keys_are_what_pytests_junitxml_writes(tmp_path: Path) -> None:
    """The benchmark names a collected test as pytest's junit file names it, in
    subdirectories, classes and parametrized tests too."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "test_m.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_f():
                pass

            class TestK:
                def test_g(self):
                    pass

            @pytest.mark.parametrize("x", ["a::b", 2])
            def test_p(x):
                pass
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    base = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider"]
    listed = subprocess.run(
        [*base, "--collect-only", "-q"],
        check=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    nodeids = [line for line in listed.stdout.splitlines() if "::" in line]
    ran = subprocess.run(
        [*base, "-q", "--junitxml=out.xml"], check=False, cwd=tmp_path, env=env, capture_output=True
    )
    assert ran.returncode == 0, ran.stdout
    assert len(nodeids) == 4
    keys, seconds = fleet.read_junit(tmp_path / "out.xml")
    assert [fleet.junit_key(n) for n in nodeids] == keys
    assert seconds > 0


def test_the_session_tail_is_the_summary_lines_time_past_the_junit_files() -> None:
    """Read from pytest's last summary line, however long the session was."""
    text = "....\ntestfleet fleet: 1 node, 400 tests: 400 passed\n400 passed in 31.53s\n"
    assert fleet.session_tail(text, 13.31) == pytest.approx(18.22)
    shard = "3 passed, 2 deselected in 61.20s (0:01:01)\n"
    assert fleet.session_tail(shard, 61.0) == pytest.approx(0.2)
    assert fleet.session_tail("INTERNALERROR> boom\n", 1.0) is None


def test_done_entries_are_read_as_testfleet_writes_them() -> None:
    """The node and the re-run mark come from the JSON the fleet stores in ``done``."""
    plain = FleetResult(nodeid=A, outcome="passed", node="n1", worker="gw0")
    rerun = FleetResult(nodeid=B, outcome="failed", node="n2", worker="gw0", rerun_after="n3")
    done = fleet.parse_done({A: encode_result(plain), B: encode_result(rerun)})
    assert done == {A: fleet.Done("n1", None), B: fleet.Done("n2", "n3")}


def test_tally_finds_lost_repeated_and_unknown_tests() -> None:
    """Across junit files every test counts once; a missing one is lost, one in two
    files is reported twice, one nobody collected is unknown."""
    assert fleet.tally([KA, KB], {"n1": [KA], "n2": [KB]}).problems() == []
    counted = fleet.tally([KA, KB, KC], {"n1": [KA, KB], "n2": [KB, "x::y"]})
    assert (counted.lost, counted.twice, counted.unknown) == ([KC], [KB], ["x::y"])
    assert len(counted.problems()) == 3


def test_a_clean_fleet_run_has_no_problems() -> None:
    """Each test once in ``done``, on the stream and in the junit file of its node."""
    done = _done(a=("n1", None), b=("n1", None), c=("n2", None))
    counted = fleet.fleet_tally([A, B, C], done, [A, C, B], {"n1": [KA, KB], "n2": [KC]})
    assert counted.problems() == []
    assert (counted.by_killed, counted.rerun) == (0, 0)


def test_the_killed_nodes_finished_tests_count_from_done() -> None:
    """The killed node wrote no junit file: what it finished is in ``done`` under its
    name; the test it was running is re-run on a survivor and counted once."""
    done = _done(a=("n1", None), b=("n3", None), c=("n2", "n3"))
    counted = fleet.fleet_tally([A, B, C], done, [A, B, C], {"n1": [KA], "n2": [KC]}, "n3")
    assert counted.problems() == []
    assert (counted.by_killed, counted.rerun) == (1, 1)


def test_a_survivor_reporting_what_the_killed_node_finished_is_a_repeat() -> None:
    """A test the killed node finished must not be run again and reported by a survivor."""
    done = _done(a=("n1", None), b=("n3", None), c=("n2", None))
    counted = fleet.fleet_tally([A, B, C], done, [A, B, C], {"n1": [KA, KB], "n2": [KC]}, "n3")
    assert counted.twice == [KB]
    assert any(note.startswith("n1: done names 1 tests") for note in counted.notes)


def test_a_test_missing_everywhere_is_lost_and_a_stream_repeat_is_found() -> None:
    """A test no one finished is lost (and missing from ``done``); a result written twice
    to the stream is reported twice even though ``done`` holds it once."""
    done = _done(a=("n1", None), b=("n1", None))
    counted = fleet.fleet_tally([A, B, C], done, [A, B, B], {"n1": [KA, KB]})
    assert counted.lost == [KC]
    assert counted.twice == [KB]
    assert any("missing from the done hash" in note for note in counted.notes)


def test_without_a_killed_node_every_done_entry_needs_a_junit_file() -> None:
    """Without a kill, a node's finished tests in ``done`` are not counted for it."""
    done = _done(a=("n1", None), b=("n3", None))
    counted = fleet.fleet_tally([A, B], done, [A, B], {"n1": [KA]})
    assert counted.lost == [KB]


def test_the_redis_servers_cpu_comes_from_info() -> None:
    """INFO cpu of a real server gives the seconds its own process used."""
    redis = pytest.importorskip("redis", reason="the test extra installs redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=5)
    try:
        info = client.info("cpu")
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379 ({exc}): start redis-server")
    finally:
        client.close()
    used = fleet.server_cpu(info)
    assert used == pytest.approx(info["used_cpu_user"] + info["used_cpu_sys"])
    assert used > 0


def test_network_namespace_names_fit_and_differ() -> None:
    """Interface names stay within Linux's 15 characters for any tag the runner makes,
    and every node gets a namespace, interfaces and a subnet of its own."""
    plans = fleet.netns_plan(str(99999), 2)
    names = [cmd[3] for _, _, commands in plans for cmd in commands[1:2]]
    names += [cmd[8] for _, _, commands in plans for cmd in commands[1:2]]
    assert all(len(name) <= 15 for name in names)
    assert len(set(names)) == 4
    assert len({ns for ns, _, _ in plans}) == 2
    assert [near for _, near, _ in plans] == ["10.231.1.1", "10.231.2.1"]


@pytest.mark.parametrize(
    ("way", "present", "absent"),
    [
        ("fleet 2x1", ["--fleet", "URL", "--run-id", "RUN", "--fleet-node", "n2"], ["--shard=2/2"]),
        ("kill 3x1", ["--fleet-lease", "2", "--workers", "1"], ["--history=H"]),
        ("shards 2", ["--shard=2/2", "--history=H", "--workers", "1"], ["--fleet"]),
        ("local w2", ["--workers", "2", "--junitxml=J"], ["--fleet", "--history=H"]),
    ],
)
def test_node_commands(way: str, present: list[str], absent: list[str]) -> None:
    """Each way's second process gets its own options, and the prefix every tool shares."""
    cmd = fleet.node_command(fleet.WAYS[way], 2, url="URL", run_id="RUN", junit="J", history="H")
    assert cmd[:6] == fleet.benchlib.pytest_command([])
    joined = " ".join(cmd)
    assert all(f" {option} " in f" {joined} " for option in present)
    assert not any(f" {option} " in f" {joined} " for option in absent)


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [(1.05, 1.10, "met"), (1.10, 1.10, "met"), (1.2, 1.10, "not met"), (None, 1.1, "n/a")],
)
def test_verdict(value: float | None, limit: float, expected: str) -> None:
    assert fleet.verdict(value, limit).startswith(expected)


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting for its reaper has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def test_a_process_to_kill_loses_its_whole_group(tmp_path: Path) -> None:
    """The killed process and the child it forked both end; the other process runs on
    to its end and exits 0."""
    sleeper = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    open(sys.argv[1], 'w').write(str(os.getpid()))\n"
        "time.sleep(60)"
    )
    child = tmp_path / "child.pid"
    env = dict(os.environ)
    procs = [
        fleet.Proc("n1", [sys.executable, "-c", "pass"], tmp_path / "n1.log", tmp_path, env),
        fleet.Proc(
            "n2",
            [sys.executable, "-c", sleeper, str(child)],
            tmp_path / "n2.log",
            tmp_path,
            env,
            2.0,
        ),
    ]
    _, (kept, killed) = fleet.run_together(procs, cwd=tmp_path, timeout=120)
    assert (kept.returncode, kept.timed_out) == (0, False)
    assert (killed.returncode, killed.timed_out) == (-9, True)
    pid = int(child.read_text())
    for _ in range(500):  # the kernel finishes the child's exit on its own time
        if _gone(pid):
            break
        time.sleep(0.01)
    assert _gone(pid)
