"""Unit tests of the controller's decisions, driven through in-memory fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testfleet.engine.controller import Controller
from testfleet.engine.messages import (
    Acquire,
    Denied,
    Event,
    Finish,
    Granted,
    Interrupted,
    ItemDone,
    ProtocolError,
    Release,
    Reported,
    RunItems,
    Started,
    Stop,
    StopAsked,
    ToWorker,
    WorkerError,
    WorkerFinished,
)
from testfleet.model import WorkerExit
from testfleet.scheduling import WorkQueue
from testfleet.scheduling.resources import NO_RESOURCES, Resources

#: What a worker reports first of every test.
START = Started(("t.py", 1, "test"))


@dataclass
class FakeFleet:
    """Records what the controller asks of its processes; holds each worker's queue."""

    queues: dict[str, list[int]] = field(default_factory=dict)
    inbox: dict[str, list[ToWorker]] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)

    def spawn(self, worker: str, initial: Sequence[int]) -> None:
        self.queues[worker] = list(initial)
        self.inbox[worker] = []

    def send(self, worker: str, message: ToWorker) -> None:
        self.inbox[worker].append(message)
        if isinstance(message, RunItems):
            self.queues[worker] += message.indices

    def kill(self, worker: str) -> None:
        self.killed.append(worker)


@dataclass
class FakeSink:
    """Records what reaches the session; can be told to want a stop."""

    done: list[int] = field(default_factory=list)
    ran_on: dict[int, str] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    lost: dict[int, str] = field(default_factory=dict)
    lost_after: dict[int, float] = field(default_factory=dict)
    finished: dict[str, dict[str, object]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stop_after_failures: int | None = None
    asked: str | bool = False

    def item_done(
        self, index: int, events: Sequence[Event], worker: str, attempts: int = 1
    ) -> None:
        self.done.append(index)
        self.ran_on[index] = worker
        self.attempts[index] = attempts

    def item_lost(self, index: int, reason: str, worker: str, duration: float) -> None:
        self.lost[index] = reason
        self.lost_after[index] = duration

    def worker_finished(
        self, worker: str, output: dict[str, object], events: Sequence[Event]
    ) -> None:
        self.finished[worker] = output

    def interrupt(self, kind: str, message: str, returncode: int | None) -> None:
        raise RuntimeError(f"{kind}: {message} ({returncode})")

    def ask_stop(self, shouldfail: str | bool, shouldstop: str | bool) -> None:
        self.asked = shouldfail or shouldstop

    def should_stop(self) -> bool:
        if self.asked:
            return True
        return self.stop_after_failures is not None and len(self.done) >= self.stop_after_failures

    def note(self, text: str) -> None:
        self.notes.append(text)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    controller: Controller
    fleet: FakeFleet
    sink: FakeSink
    clock: Clock
    queue: WorkQueue

    def finish(self, worker: str) -> int:
        """The worker runs the head of its queue and reports it."""
        index = self.fleet.queues[worker].pop(0)
        self.clock.now += 0.01
        self.controller.on_message(worker, ItemDone(index, (START,)))
        return index

    def drain(self) -> None:
        """Run every worker to the end, round robin, and let each exit cleanly."""
        while not self.controller.done:
            for worker in self.controller.live_workers:
                if self.fleet.queues[worker]:
                    self.finish(worker)
                elif Finish() in self.fleet.inbox[worker] or Stop() in self.fleet.inbox[worker]:
                    self.controller.on_exit(worker, WorkerExit(code=0))


def ready_workers(run: Run) -> list[str]:
    """The live workers that can act, as real ones would: each runs an item only when it
    holds its successor too, or was told to finish or stop."""

    def can_act(worker: str) -> bool:
        told_to_end = Finish() in run.fleet.inbox[worker] or Stop() in run.fleet.inbox[worker]
        return len(run.fleet.queues[worker]) >= 2 or told_to_end

    return [w for w in run.controller.live_workers if can_act(w)]


def make_run(
    groups: list[list[int]],
    workers: int = 2,
    resources: Resources = NO_RESOURCES,
    **options: object,
) -> Run:
    run = build_run(WorkQueue(groups, resources=resources), workers, **options)
    run.controller.start()
    return run


def build_run(queue: WorkQueue, workers: int = 2, **options: object) -> Run:
    """A controller on ``queue`` with in-memory fakes, not started yet."""
    fleet, sink, clock = FakeFleet(), FakeSink(), Clock()
    controller = Controller(
        queue=queue,
        workers=workers,
        fleet=fleet,
        sink=sink,
        clock=clock,
        describe=lambda index: f"test_{index}",
        **options,  # type: ignore[arg-type]
    )
    return Run(controller, fleet, sink, clock, queue)


def test_every_item_runs_once_and_workers_are_told_to_finish() -> None:
    """A clean run reports each item once and ends every worker with Finish."""
    run = make_run([list(range(10)), list(range(10, 25))])
    run.drain()
    assert sorted(run.sink.done) == list(range(25))
    assert all(Finish() in inbox for inbox in run.fleet.inbox.values())
    assert not run.sink.lost


def test_more_workers_than_items_get_nothing_and_finish() -> None:
    """A worker with no work is told to finish at once."""
    run = make_run([[0]], workers=2)
    assert run.fleet.queues == {"gw0": [0], "gw1": []}
    assert run.fleet.inbox["gw1"] == [Finish()]


def test_a_crash_reports_the_running_item_and_a_replacement_takes_the_rest() -> None:
    """The item a dead worker ran fails; the items it held go to a fresh worker, not retried."""
    run = make_run([list(range(6))], workers=1)
    run.finish("gw0")
    held = run.fleet.queues["gw0"]
    run.controller.on_exit("gw0", WorkerExit(signal=9))
    assert run.sink.lost == {1: "worker gw0 crashed while running test_1 (signal 9, SIGKILL)"}
    assert run.fleet.queues["gw1"][: len(held) - 1] == held[1:]
    run.drain()
    assert sorted(run.sink.done) == [0, 2, 3, 4, 5]


def test_restart_limit_stops_the_run() -> None:
    """Past --worker-restart-limit the run stops with a reason and no more workers start."""
    run = make_run([list(range(6))], workers=1, max_restarts=0)
    run.controller.on_exit("gw0", WorkerExit(code=3))
    assert run.controller.abort_reason is not None
    assert "--worker-restart-limit" in run.controller.abort_reason
    assert run.controller.done
    assert list(run.sink.lost) == [0]


def test_timeout_kills_the_worker_and_reports_the_test() -> None:
    """A test past --test-timeout has its worker killed and is reported as a timeout."""
    run = make_run([list(range(4))], workers=1, test_timeout=2.0)
    run.finish("gw0")
    assert run.controller.next_deadline() == pytest.approx(2.01)
    run.clock.now = 1.0
    run.controller.on_tick()
    assert run.fleet.killed == []
    run.clock.now = 3.0
    run.controller.on_tick()
    assert run.fleet.killed == ["gw0"]
    run.controller.on_exit("gw0", WorkerExit(signal=9))
    assert run.sink.lost[1].startswith("Timeout: test_1 ran longer than 2s")
    run.drain()
    assert sorted(run.sink.done) == [0, 2, 3]


def test_stop_reaches_every_worker_and_drops_unsent_work() -> None:
    """When the session wants to stop (-x), every worker gets Stop and nothing more is sent."""
    run = make_run([list(range(20)), list(range(20, 40))], workers=2)
    run.sink.stop_after_failures = 1
    run.finish("gw0")
    assert all(Stop() in inbox for inbox in run.fleet.inbox.values())
    run.controller.on_exit("gw0", WorkerExit(code=0))
    run.controller.on_exit("gw1", WorkerExit(code=0))
    assert run.controller.done
    assert not run.sink.lost


def test_a_crash_during_a_stop_is_reported() -> None:
    """A worker that dies under its last test while the run stops (-x) loses that test, loudly."""
    run = make_run([list(range(20)), list(range(20, 40))], workers=2)
    run.sink.stop_after_failures = 1
    run.finish("gw0")
    running = run.fleet.queues["gw1"][0]
    run.clock.now += 1.5
    run.controller.on_exit("gw1", WorkerExit(signal=11))
    assert run.sink.lost == {
        running: f"worker gw1 crashed while running test_{running} (signal 11, SIGSEGV)"
    }
    assert run.sink.lost_after[running] == pytest.approx(1.51)
    run.controller.on_exit("gw0", WorkerExit(code=0))
    assert run.controller.done


def test_a_lost_test_is_reported_with_the_time_it_ran() -> None:
    """A test killed by --test-timeout is recorded as taking the time it ran, not zero."""
    run = make_run([list(range(4))], workers=1, test_timeout=2.0)
    run.clock.now = 2.5
    run.controller.on_tick()
    run.controller.on_exit("gw0", WorkerExit(signal=9))
    assert run.sink.lost_after == {0: 2.5}


def test_a_stop_asked_in_a_worker_stops_every_worker() -> None:
    """A plugin that stops the session inside a worker (--session-timeout) stops the run."""
    run = make_run([list(range(20)), list(range(20, 40))], workers=2)
    run.controller.on_message("gw0", StopAsked("session-timeout: 1 sec exceeded", False))
    assert run.sink.asked == "session-timeout: 1 sec exceeded"
    assert all(Stop() in inbox for inbox in run.fleet.inbox.values())


def test_worker_output_reaches_the_sink() -> None:
    """What a worker reports as it finishes its session (its workeroutput) is handed on."""
    run = make_run([list(range(4))], workers=1)
    run.controller.on_message("gw0", WorkerFinished({"cov": "gw0"}))
    assert run.sink.finished == {"gw0": {"cov": "gw0"}}


def test_out_of_order_report_is_a_protocol_error() -> None:
    """A worker reporting an item it was not running is a bug, not silently accepted."""
    run = make_run([list(range(4))], workers=1)
    with pytest.raises(ProtocolError):
        run.controller.on_message("gw0", ItemDone(3, ()))


def test_internal_error_text_is_kept_for_the_crash_report() -> None:
    """A worker's internal error is shown with the item it lost."""
    run = make_run([list(range(4))], workers=1)
    run.controller.on_message("gw0", WorkerError("Traceback: boom"))
    run.controller.on_exit("gw0", WorkerExit(code=3))
    assert run.sink.lost[0].endswith("(exit code 3)\nTraceback: boom")


def test_late_teardown_reports_are_relayed_without_bookkeeping() -> None:
    """A stopping worker's teardown error reaches the session for an item already done."""
    run = make_run([list(range(4))], workers=1)
    first = run.finish("gw0")
    run.controller.on_message("gw0", ItemDone(first, (Reported({}),), late=True))
    assert run.sink.done == [first, first]


#: Resource sets a group's tests may hold in the property test, and capacities.
HOLDS = [frozenset(), frozenset(), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]
CAPACITIES = {"a": 1, "b": 2}


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=8),
    workers=st.integers(min_value=1, max_value=4),
    choices=st.lists(st.integers(min_value=0, max_value=1000), max_size=300),
    crash_at=st.sets(st.integers(min_value=0, max_value=60), max_size=3),
    held=st.lists(st.sampled_from(HOLDS), min_size=8, max_size=8),
)
def test_no_worker_is_left_waiting_and_nothing_is_lost(
    sizes: list[int],
    workers: int,
    choices: list[int],
    crash_at: set[int],
    held: list[frozenset[str]],
) -> None:
    """Like real workers, fakes run an item only when they hold its successor or were told
    to finish; whatever the interleaving and crashes, the run ends with every item
    reported exactly once, as done or lost, and no resource is ever held (sent and
    not reported) by more workers than its capacity."""
    groups, start = [], 0
    for size in sizes:
        groups.append(list(range(start, start + size)))
        start += size
    holds = {i: held[g] for g, group in enumerate(groups) for i in group if held[g]}
    resources = Resources(holds=holds, capacities=CAPACITIES)
    run = make_run(groups, workers=workers, resources=resources, max_restarts=10)
    steps = iter(choices)

    def check_capacities() -> None:
        for name, capacity in CAPACITIES.items():
            holders = [
                w
                for w in run.controller.live_workers
                if any(name in holds.get(i, ()) for i in run.fleet.queues[w])
            ]
            assert len(holders) <= capacity, (name, run.fleet.queues)

    for step in range(10_000):
        check_capacities()
        if run.controller.done:
            break
        live = run.controller.live_workers
        ready = ready_workers(run)
        for waiting in set(live) - set(ready):
            # A worker waits only when nothing left may be sent to it now.
            assert not run.queue.runnable_for(waiting), (waiting, run.fleet.queues)
        assert ready, f"deadlock: every worker waits for the controller: {run.fleet.queues}"
        worker = ready[next(steps, 0) % len(ready)]
        if step in crash_at and run.fleet.queues[worker]:
            run.fleet.queues[worker].clear()
            run.controller.on_exit(worker, WorkerExit(signal=9))
        elif run.fleet.queues[worker]:
            run.finish(worker)
            # It runs the next item now: with the one after it in hand, and
            # one more for the time our answer takes, it never waits for us
            # (unless what is left waits for a resource another worker holds).
            told_to_end = Finish() in run.fleet.inbox[worker]
            assert len(run.fleet.queues[worker]) >= 3 or told_to_end or holds, run.fleet.queues
        else:
            run.controller.on_exit(worker, WorkerExit(code=0))
    assert run.controller.done
    reported = sorted([*run.sink.done, *run.sink.lost])
    assert reported == list(range(start))


def test_a_test_that_ends_the_run_ends_it_in_the_controller() -> None:
    """pytest.exit() in a worker: its events are relayed, then the sink raises it."""
    run = make_run([list(range(4))], workers=1)
    with pytest.raises(RuntimeError, match="exit: bye"):
        run.controller.on_message("gw0", Interrupted(0, (START,), "exit", "bye", 3))
    assert run.sink.done == [0]


# testfleet.acquire ------------------------------------------------------------


def acquire(run: Run, worker: str, request: int, name: str, timeout: float | None = None) -> None:
    run.controller.on_message(worker, Acquire(request, name, timeout, f"test of {worker}"))


def answers(run: Run, worker: str) -> list[ToWorker]:
    return [m for m in run.fleet.inbox[worker] if isinstance(m, Granted | Denied)]


def test_a_free_slot_is_granted_at_once_and_the_next_acquire_waits_for_its_release() -> None:
    """Capacity 1: the second worker's acquire is answered when the first releases."""
    run = make_run([[0, 1, 2], [3, 4, 5]], workers=2)
    acquire(run, "gw0", 1, "smtp")
    acquire(run, "gw1", 7, "smtp")
    assert answers(run, "gw0") == [Granted(1)]
    assert answers(run, "gw1") == []
    run.controller.on_message("gw0", Release("smtp"))
    assert answers(run, "gw1") == [Granted(7)]


def test_a_worker_holding_a_resource_through_a_marked_test_gets_it_at_once() -> None:
    """A worker runs one test at a time: its own marked tests never block its acquire."""
    run = make_run([[0, 1], [2, 3]], workers=2, resources=Resources(holds={0: frozenset({"a"})}))
    holder = next(w for w, q in run.fleet.queues.items() if 0 in q)
    other = "gw1" if holder == "gw0" else "gw0"
    acquire(run, holder, 1, "a")
    acquire(run, other, 2, "a")
    assert answers(run, holder) == [Granted(1)]
    assert answers(run, other) == []
    run.finish(holder)  # the marked test is done, but the acquire still holds the slot
    assert answers(run, other) == []
    run.controller.on_message(holder, Release("a"))
    assert answers(run, other) == [Granted(2)]


def test_a_timeout_names_the_test_and_worker_holding_the_slot() -> None:
    """Past its timeout an acquire is denied with the holders, by test and worker."""
    run = make_run([[0, 1, 2], [3, 4, 5]], workers=2)
    acquire(run, "gw0", 1, "smtp")
    acquire(run, "gw1", 2, "smtp", timeout=5.0)
    assert run.controller.next_deadline() == pytest.approx(5.0)
    run.clock.now = 4.0
    run.controller.on_tick()
    assert answers(run, "gw1") == []
    run.clock.now = 5.0
    run.controller.on_tick()
    (denied,) = answers(run, "gw1")
    assert isinstance(denied, Denied)
    assert denied.message == "(capacity 1): held by test of gw0 (worker gw0, testfleet.acquire)"
    assert run.controller.next_deadline() is None
    run.controller.on_message("gw0", Release("smtp"))
    assert answers(run, "gw1") == [denied]  # nothing more: it gave up


def test_a_timeout_names_a_marked_test_holding_the_slot() -> None:
    run = make_run([[0, 1], [2, 3]], workers=2, resources=Resources(holds={0: frozenset({"a"})}))
    other = next(w for w, q in run.fleet.queues.items() if 0 not in q)
    acquire(run, other, 1, "a", timeout=0.0)
    run.controller.on_tick()
    (denied,) = answers(run, other)
    assert isinstance(denied, Denied)
    assert "held by test_0 (worker" in denied.message
    assert "resource marker" in denied.message


def test_a_worker_that_dies_gives_back_its_slots_and_its_waits() -> None:
    """A crashed holder frees its slot for the next waiter; a crashed waiter is forgotten."""
    run = make_run([list(range(6)), list(range(6, 12))], workers=3)
    acquire(run, "gw0", 1, "smtp")
    acquire(run, "gw1", 2, "smtp")
    acquire(run, "gw2", 3, "smtp")
    run.controller.on_exit("gw1", WorkerExit(signal=9))  # a waiter dies
    run.controller.on_exit("gw0", WorkerExit(signal=9))  # the holder dies
    assert answers(run, "gw2") == [Granted(3)]
    assert [m for m in run.fleet.inbox.get("gw3", []) if isinstance(m, Granted)] == []


def test_while_an_acquire_waits_no_new_unit_holding_the_resource_is_sent() -> None:
    """The holder of a busy resource does not take unit after unit of it: the waiter
    gets the slot once the units already sent are done."""
    holds = {i: frozenset({"a"}) for i in range(8)}
    run = make_run(
        [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9, 10, 11]],
        workers=2,
        resources=Resources(holds=holds),
    )
    holder = next(w for w, q in run.fleet.queues.items() if 0 in q)
    other = "gw1" if holder == "gw0" else "gw0"
    acquire(run, other, 1, "a")
    while not answers(run, other):
        assert run.fleet.queues[holder], "the holder ran out of work before the waiter got in"
        run.finish(holder)
    assert set(run.fleet.queues[holder]).isdisjoint(holds)


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=6),
    workers=st.integers(min_value=1, max_value=4),
    choices=st.lists(st.integers(min_value=0, max_value=1000), max_size=300),
    marked=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_acquires_and_marked_tests_never_exceed_the_capacity_and_all_are_granted(
    sizes: list[int], workers: int, choices: list[int], marked: list[bool]
) -> None:
    """Fake workers acquire "a" (capacity 1) in some tests and release it a step later,
    beside tests marked with "a": at no moment do two workers hold "a", every acquire is
    granted, and every item is reported once."""
    groups, start = [], 0
    for size in sizes:
        groups.append(list(range(start, start + size)))
        start += size
    holds = {i: frozenset({"a"}) for g, group in enumerate(groups) for i in group if marked[g]}
    run = make_run(groups, workers=workers, resources=Resources(holds=holds))
    steps = iter(choices)
    requests = iter(range(10_000))
    #: Worker -> request it waits for; worker -> holding an acquired slot.
    waiting: dict[str, int] = {}
    holding: set[str] = set()
    #: Items whose test acquired "a" already: each does so once at most.
    acquired_in: set[int] = set()
    asked = granted = 0

    def granted_to(worker: str, request: int) -> bool:
        return Granted(request) in run.fleet.inbox[worker]

    for _ in range(10_000):
        marked_holders = {
            w
            for w in run.controller.live_workers
            if any(i in holds for i in run.fleet.queues[w][:1])
        }
        assert len(marked_holders | holding) <= 1, (marked_holders, holding)
        if run.controller.done:
            break
        live = run.controller.live_workers
        for worker, request in list(waiting.items()):
            if granted_to(worker, request):
                del waiting[worker]
                holding.add(worker)
                granted += 1

        def can_act(worker: str) -> bool:
            if worker in waiting:
                return False
            ends = Finish() in run.fleet.inbox[worker] or Stop() in run.fleet.inbox[worker]
            return len(run.fleet.queues[worker]) >= 2 or ends

        ready = [w for w in live if can_act(w)]
        assert ready, f"deadlock: {run.fleet.queues}, waiting {waiting}"
        choice = next(steps, 0)
        worker = ready[choice % len(ready)]
        if worker in holding:
            holding.discard(worker)
            run.controller.on_message(worker, Release("a"))
        elif (
            run.fleet.queues[worker]
            and run.fleet.queues[worker][0] not in acquired_in
            and choice % 3 == 0
        ):
            acquired_in.add(run.fleet.queues[worker][0])
            request = next(requests)
            asked += 1
            acquire(run, worker, request, "a")
            if granted_to(worker, request):
                holding.add(worker)
                granted += 1
            else:
                waiting[worker] = request
        elif run.fleet.queues[worker]:
            run.finish(worker)
        else:
            run.controller.on_exit(worker, WorkerExit(code=0))
    assert run.controller.done
    assert asked == granted
    assert sorted(run.sink.done) == list(range(start))
