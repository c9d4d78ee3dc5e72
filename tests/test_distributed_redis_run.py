"""The fleet's atomic steps against a real Redis: one plan, each unit to one node,
leases renewed by heartbeats and taken over when they lapse, fencing of the node
that was taken over, results written once, resource slots shared by the fleet."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from testfleet.distributed.connection import FleetError, connect
from testfleet.distributed.marks import StartMarks
from testfleet.distributed.node import FleetSource, running_when_lost
from testfleet.distributed.protocol import FleetResult, Unit, digest
from testfleet.distributed.redis_run import Mark, RedisRun
from testfleet.model.fleet import FleetSettings
from testfleet.scheduling import WorkQueue

URL = "redis://127.0.0.1:6379/12"
TESTS = ["a.py::t1", "a.py::t2", "b.py::t3", "b.py::t4"]
UNITS = [Unit(("a.py::t1", "a.py::t2"), (1.0, 1.0)), Unit(("b.py::t3", "b.py::t4"), (0.5, 0.5))]

Nodes = Callable[..., RedisRun]


@pytest.fixture
def client() -> Any:
    return connect(URL)


@pytest.fixture
def node(client: Any) -> Iterator[Nodes]:
    """Nodes of one fresh run; its keys are deleted after the test."""
    run_id = f"unit-{uuid.uuid4().hex[:12]}"

    def make(name: str, lease: float = 15.0) -> RedisRun:
        return RedisRun(client, FleetSettings(URL, run_id, name, key_ttl=600, lease=lease))

    yield make
    for key in client.scan_iter(f"testfleet:{run_id}:*"):
        client.delete(key)


def published(make: Nodes, lease: float = 15.0) -> tuple[RedisRun, RedisRun]:
    a, b = make("A", lease), make("B", lease)
    assert a.publish(digest(TESTS), TESTS, UNITS)
    a.join(1)
    b.join(1)
    return a, b


def start(run: RedisRun, worker: str, *tests: str) -> None:
    """A worker of ``run``'s node starts ``tests`` one after the other."""
    marks = StartMarks(run.settings, worker)
    for test in tests:
        marks.started(test)
    marks.close()
    deadline = time.monotonic() + 5  # sent without waiting: let the server take them
    while len([m for m in run.started() if m.worker == worker]) < len(tests):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def result(nodeid: str, node: str, outcome: str = "passed") -> FleetResult:
    return FleetResult(nodeid, outcome, node, "gw0")  # type: ignore[arg-type]


def test_the_plan_is_published_once(node: Nodes) -> None:
    a, b = node("A"), node("B")
    assert a.meta() is None
    assert a.claim_planning()
    assert not b.claim_planning()
    assert a.publish(digest(TESTS), TESTS, UNITS)
    assert not b.publish(digest(TESTS), TESTS, UNITS[:1])
    meta = b.meta()
    assert meta is not None
    assert (meta.digest, meta.tests) == (digest(TESTS), 4)
    assert b.planned_nodeids() == TESTS


def test_each_unit_goes_to_one_node(node: Nodes) -> None:
    a, b = published(node)
    first, second = a.take(1), b.take(5)
    assert [lease.unit for lease in first + second] == UNITS
    assert a.take(5) == []
    assert b.take(5) == []
    assert all(lease.deliveries == 1 for lease in first + second)


def test_a_lapsed_lease_is_taken_over_and_its_holder_fenced(node: Nodes) -> None:
    a, b = published(node, lease=0.3)
    (lease,) = a.take(1)
    start(a, "gw0", "a.py::t1", "a.py::t2")
    assert a.commit(lease, [result("a.py::t1", "A")], ack=False).held
    assert b.reclaim() == []  # not idle long enough yet
    time.sleep(0.5)  # A sends no heartbeat: its lease lapses
    (taken,) = b.reclaim()
    assert taken.entry == lease.entry
    assert taken.deliveries == 2
    assert b.started() == [Mark("a.py::t2", "A", "gw0", 2)]
    assert b.recorded(list(taken.unit.tests)) == {"a.py::t1"}
    # A comes back: everything it writes for the unit is refused.
    refused = a.commit(lease, [result("a.py::t2", "A")], ack=True)
    assert (refused.held, refused.accepted, refused.done) == (False, 0, 1)
    accepted = b.commit(taken, [result("a.py::t2", "B", "failed")], ack=True)
    assert (accepted.held, accepted.accepted, accepted.done) == (True, 1, 2)
    by_test = {r.nodeid: r for r in b.results()}
    assert by_test["a.py::t2"].node == "B"
    assert by_test["a.py::t2"].outcome == "failed"
    assert b.started() == []


def test_heartbeats_keep_every_lease(node: Nodes) -> None:
    a, b = published(node, lease=1.0)
    assert len(a.take(2)) == 2
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert a.heartbeat(1) == 2
        time.sleep(0.1)
    assert b.reclaim() == []


def test_a_test_is_recorded_once(node: Nodes) -> None:
    a, _ = published(node)
    (lease,) = a.take(1)
    assert a.commit(lease, [result("a.py::t1", "A")], ack=False).accepted == 1
    again = a.commit(lease, [result("a.py::t1", "A", "failed")], ack=False)
    assert (again.held, again.accepted, again.done) == (True, 0, 1)
    assert [r.outcome for r in a.results()] == ["passed"]


def test_an_acknowledged_unit_is_never_taken_over(node: Nodes) -> None:
    a, b = published(node, lease=0.2)
    (lease,) = a.take(1)
    a.commit(lease, [result(t, "A") for t in lease.unit.tests], ack=True)
    time.sleep(0.4)
    assert b.reclaim() == []


def test_a_malformed_entry_is_skipped_and_never_seen_again(node: Nodes, client: Any) -> None:
    a, b = published(node)
    client.xadd(a.keys.work, {"unit": "rm -rf /"})
    client.xadd(a.keys.work, {"other": "field"})
    taken = a.take(10)
    assert [lease.unit for lease in taken] == UNITS
    assert b.take(10) == []
    assert client.xpending(a.keys.work, "testfleet")["pending"] == 2  # only the real units
    assert len(a.skipped) == 2
    assert all(m.startswith("testfleet: skipped entry ") for m in a.skipped)
    assert "is not JSON" in a.skipped[0]


def test_a_lost_test_is_counted_per_node(node: Nodes) -> None:
    a, _ = published(node)
    assert a.note_lost("a.py::t1", "n1") == ["n1"]
    assert a.note_lost("a.py::t1", "n2") == ["n1", "n2"]


def test_every_key_expires_without_waiting_for_a_heartbeat(node: Nodes, client: Any) -> None:
    a = node("A")
    assert a.publish(digest(TESTS), TESTS, UNITS)
    a.join(1)
    (lease,) = a.take(1)
    start(a, "gw0", "a.py::t1", "a.py::t2")
    a.commit(lease, [result("a.py::t1", "A")], ack=False)
    a.note_lost("a.py::t2", "x")
    assert a.take_slot("lane", "A#1", 1)
    keys = list(client.scan_iter(f"{a.settings.prefix}*"))
    assert len(keys) >= 8
    assert all(0 < client.ttl(k) <= 600 for k in keys)


def test_resource_slots_are_shared_by_the_fleet(node: Nodes) -> None:
    a, b = published(node, lease=0.3)
    assert a.take_slot("lane", "A#1", 1)
    assert a.take_slot("lane", "A#1", 1)  # holding it already
    assert not b.take_slot("lane", "B#1", 1)
    assert b.take_slot("smtp", "B#1", 2)
    assert a.take_slot("smtp", "A#2", 2)
    a.give_slot("lane", "A#1")
    assert b.take_slot("lane", "B#2", 1)
    assert a.renew_slots([("smtp", "A#2")]) == []
    time.sleep(0.5)  # A's smtp slot and B's lane slot lapse unrenewed
    assert a.take_slot("lane", "A#3", 1)
    assert b.renew_slots([("lane", "B#2")]) == ["B#2"]


def test_an_unreachable_server_is_one_line_without_its_password() -> None:
    with pytest.raises(FleetError) as info:
        connect("redis://:hunter2@127.0.0.1:1/0", timeout=1)
    message = str(info.value)
    assert message.startswith("testfleet: cannot reach Redis at redis://127.0.0.1:1/0")
    assert "hunter2" not in message
    assert "\n" not in message


# -- a node's source of work, against the same real Redis ------------------------------


def source_of(run: RedisRun, notes: list[str], failed: list[tuple[int, str]]) -> FleetSource:
    queue = WorkQueue([], weights={})
    return FleetSource(
        run,
        nodeids=TESTS,
        workers=1,
        total=len(TESTS),
        queue=queue,
        note=notes.append,
        fail_unrun=lambda index, reason: failed.append((index, reason)),
    )


def finish_queued(source: FleetSource, queue: WorkQueue, node_name: str) -> list[str]:
    """Run what the queue holds, as a worker would, reporting each test to the source."""
    queue.add_worker("gw0")
    ran = []
    while items := queue.take("gw0", 10):
        for index in items:
            queue.done("gw0", index)
            ran.append(TESTS[index])
            source.test_finished(result(TESTS[index], node_name))
    return ran


def test_a_source_runs_the_run_to_its_end(node: Nodes) -> None:
    a = node("A")
    assert a.publish(digest(TESTS), TESTS, UNITS)
    notes: list[str] = []
    source = source_of(a, notes, [])
    source.prime()
    queue = source._queue
    assert queue.queued_units == 1
    ran = finish_queued(source, queue, "A")
    clock = 100.0
    while not source.finished and clock < 110:
        source.tick(clock)
        ran += finish_queued(source, queue, "A")
        clock += 0.05
    assert source.complete
    assert source.error is None
    assert sorted(ran) == sorted(TESTS)
    assert a.done_count() == 4
    assert a.pending_total() == 0
    assert not notes


def test_a_source_stops_when_a_unit_went_missing(node: Nodes, client: Any) -> None:
    a = node("A")
    assert a.publish(digest(TESTS), TESTS, UNITS)
    a.join(1)
    (lost,) = node("B").take(1)
    client.xack(a.keys.work, "testfleet", lost.entry)  # acknowledged with no results
    notes: list[str] = []
    source = source_of(a, notes, [])
    source.prime()
    ran = finish_queued(source, source._queue, "A")
    clock = 100.0
    while not source.finished and clock < 110:
        source.tick(clock)
        clock += 0.05
    assert ran == list(UNITS[1].tests)
    assert not source.complete
    assert source.error is not None
    assert "cannot complete: 2 tests have no result" in source.error
    assert notes == [source.error]


def test_a_source_reruns_once_the_test_a_lost_node_was_running(node: Nodes) -> None:
    a, b = node("A", lease=0.3), node("B", lease=0.3)
    assert a.publish(digest(TESTS), TESTS, UNITS[:1] + UNITS[1:])
    a.join(1)
    (lease,) = a.take(1)
    start(a, "gw0", "a.py::t1", "a.py::t2")
    a.commit(lease, [result("a.py::t1", "A")], ack=False)
    # A vanishes. B takes the other unit, then A's when its lease lapses.
    notes: list[str] = []
    failed: list[tuple[int, str]] = []
    source = source_of(b, notes, failed)
    source.prime()
    ran = finish_queued(source, source._queue, "B")
    time.sleep(0.5)
    clock = 100.0
    while not source.finished and clock < 110:
        source.tick(clock)
        ran += finish_queued(source, source._queue, "B")
        clock += 0.05
    assert source.complete
    assert sorted(ran) == ["a.py::t2", "b.py::t3", "b.py::t4"]  # t1 had its result
    assert source.rerun_after == {"a.py::t2": "A"}
    assert notes == ["testfleet: node A was lost while running a.py::t2; running it again"]
    assert not failed
    assert b.note_lost("a.py::t2", "B") == ["A", "B"]  # a second loss would fail it


def test_a_node_that_leaves_hands_its_units_on_at_once(node: Nodes) -> None:
    a, b = published(node, lease=60)
    (lease,) = a.take(1)
    start(a, "gw0", *lease.unit.tests)
    assert a.abandon([lease.entry], list(lease.unit.tests)) == 1
    assert a.started() == []  # not running: none of them is blamed
    (taken,) = b.reclaim()  # long before the lease of a minute
    assert taken.entry == lease.entry
    assert not a.commit(lease, [result("a.py::t1", "A")], ack=True).held


def test_the_last_test_each_worker_started_is_the_one_it_ran() -> None:
    marks = [
        Mark("t3", "A", "gw0", 7),
        Mark("t2", "A", "gw0", 6),  # finished, its result not written yet
        Mark("t9", "A", "gw1", 2),
        Mark("t5", "B", "gw0", 1),
    ]
    assert running_when_lost(marks, {"t2", "t3", "t9"}) == {"t3": "A", "t9": "A"}
    assert running_when_lost(marks, {"t2"}) == {}  # t3, after it, was running
    assert running_when_lost([], {"t1"}) == {}


def test_a_worker_marks_what_it_starts_without_waiting(node: Nodes, client: Any) -> None:
    a, _ = published(node)
    start(a, "gw3", "x", "y")
    assert sorted(a.started(), key=lambda m: m.order) == [
        Mark("x", "A", "gw3", 1),
        Mark("y", "A", "gw3", 2),
    ]
    assert 0 < client.pttl(a.keys.running) <= 600_000
    broken = StartMarks(FleetSettings("redis://127.0.0.1:1/0", "r", "A"), "gw0")
    broken.started("x")  # no server: the worker goes on, its node stops on its own
    broken.started("y")
