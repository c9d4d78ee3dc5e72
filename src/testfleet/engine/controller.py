"""The controller's decisions: who runs what, and what happens when a worker ends.

This is a state machine with no I/O of its own.  It is driven by events (a
message from a worker, a worker's exit, the passing of time) and acts through
two small interfaces: a :class:`Fleet` that starts, messages and kills worker
processes, and a :class:`Sink` that turns what workers report into pytest's
reporting hooks.  Tests drive it with in-memory fakes of both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
    Stop,
    StopAsked,
    ToController,
    ToWorker,
    WorkerError,
    WorkerFinished,
)
from testfleet.model import WorkerExit, worker_name
from testfleet.scheduling import WorkQueue, batch_target


class Fleet(Protocol):
    """Worker processes, as the controller sees them."""

    def spawn(self, worker: str, initial: Sequence[int]) -> None:
        """Start ``worker`` holding the item indices ``initial``."""

    def send(self, worker: str, message: ToWorker) -> None:
        """Queue ``message`` for ``worker``."""

    def kill(self, worker: str) -> None:
        """End ``worker`` now; its exit is reported later like any other."""


class Sink(Protocol):
    """Where the results go: the controller's pytest session."""

    def item_done(
        self, index: int, events: Sequence[Event], worker: str, attempts: int = 1
    ) -> None:
        """Item ``index`` ran in ``worker`` and reported ``events``.

        ``attempts`` counts the times it ran: more than 1 when it failed and was
        run again (``--retry-failed``); ``events`` are those of the last time.
        """

    def item_lost(self, index: int, reason: str, worker: str, duration: float) -> None:
        """Item ``index`` did not finish in ``worker``; report it failed because of ``reason``.

        ``duration`` is how long it ran before it was lost.
        """

    def worker_finished(self, worker: str, output: dict[str, Any], events: Sequence[Event]) -> None:
        """``worker`` ended its session; ``output`` is its ``config.workeroutput``."""

    def interrupt(self, kind: str, message: str, returncode: int | None) -> None:
        """A test ended the run; raise what it raised, in the controller (never returns)."""

    def ask_stop(self, shouldfail: str | bool, shouldstop: str | bool) -> None:
        """A plugin in a worker asked its session to stop: ask the controller's."""

    def should_stop(self) -> bool:
        """Whether the session wants to stop (``-x``, ``--maxfail``)."""

    def note(self, text: str) -> None:
        """Tell the user something about the run."""


class WorkSource(Protocol):
    """Work that arrives while the run goes on (a fleet node's shared queue).

    The loop calls :meth:`tick` after every round of events; the source adds
    units to the controller's queue (:meth:`Controller.add_work`) and the run
    lasts until both the workers and the source are finished.
    """

    @property
    def finished(self) -> bool:
        """Whether no more work can come."""

    def tick(self, now: float) -> None:
        """Exchange what is due with the source."""

    def next_deadline(self) -> float | None:
        """The clock reading at which :meth:`tick` has something to do."""


#: Items a worker holds after its last report when work is left: the running
#: item, the next one, and one more for the time our answer takes.
_IN_HAND = 3


@dataclass
class _Worker:
    name: str
    #: Item indices sent and not yet reported, in the order the worker runs them.
    sent: deque[int]
    #: When the item at the head of ``sent`` started, as far as we can tell.
    started: float
    finishing: bool = False
    stopping: bool = False
    #: Why we killed it, when we did (a timeout): replaces "crashed" in the report.
    killed_because: str | None = None
    #: Text of an internal error the worker reported before it died.
    error: str | None = None


@dataclass
class _Waiter:
    """A worker's ``testfleet.acquire`` that waits for a slot."""

    worker: str
    request: int
    name: str
    #: Clock reading at which it gives up, or None to wait as long as it takes.
    deadline: float | None
    timeout: float | None
    #: The test that asks, for the message other waiters get.
    holder: str


def _failed(events: Sequence[Event]) -> bool:
    """Whether any report among ``events`` failed (a quarantined one does not)."""
    return any(
        isinstance(event, Reported) and event.data.get("outcome") == "failed" for event in events
    )


class Controller:
    """Hands out work, follows every worker, and replaces the ones that die."""

    def __init__(
        self,
        *,
        queue: WorkQueue,
        workers: int,
        fleet: Fleet,
        sink: Sink,
        clock: Callable[[], float],
        describe: Callable[[int], str],
        test_timeout: float | None = None,
        max_restarts: int | None = None,
        retries: int = 0,
    ) -> None:
        """``retries``: how many more times a failed test runs (``--retry-failed``)."""
        self._queue = queue
        self._initial_workers = workers
        self._fleet = fleet
        self._sink = sink
        self._clock = clock
        self._describe = describe
        self._test_timeout = test_timeout
        self._max_restarts = 4 * workers if max_restarts is None else max_restarts
        self._retries = retries
        #: Item index -> the times it failed so far and was sent to run again.
        self._failed_attempts: dict[int, int] = {}
        self._workers: dict[str, _Worker] = {}
        self._spawned = 0
        self._restarts = 0
        self._stopping = False
        self._elapsed = 0.0
        self._completed = 0
        #: Acquires waiting for a slot, first come first served.
        self._waiters: list[_Waiter] = []
        #: (worker, resource) -> the tests that took it with ``acquire``, oldest first.
        self._acquired: dict[tuple[str, str], list[str]] = {}
        #: Why the run had to end early, when testfleet itself ended it.
        self.abort_reason: str | None = None

    @property
    def done(self) -> bool:
        """Whether every worker has ended."""
        return not self._workers

    @property
    def stopping(self) -> bool:
        """Whether the run is stopping (``-x``, a limit, an error): no work is handed out."""
        return self._stopping

    @property
    def live_workers(self) -> list[str]:
        """Names of the workers that have not ended yet."""
        return list(self._workers)

    def start(self) -> None:
        """Start the first workers, each with its first batch."""
        # Every worker counts in the fair shares before the first one takes work.
        for number in range(self._initial_workers):
            self._queue.add_worker(worker_name(number))
        for _ in range(self._initial_workers):
            self._spawn()

    @property
    def waiting_for_successor(self) -> bool:
        """Whether a worker holds a single item, which it cannot start before it
        knows the next (pytest's ``nextitem``) or that none will come."""
        return any(
            len(w.sent) == 1 and not (w.finishing or w.stopping) for w in self._workers.values()
        )

    def add_work(self) -> None:
        """Units were added to the queue: hand them out, starting workers again
        when the ones that were told to finish are gone (a fleet node that takes
        over the work of a lost node after its own ran out)."""
        if self._stopping:
            return
        active = sum(1 for w in self._workers.values() if not (w.finishing or w.stopping))
        for _ in range(self._initial_workers - active):
            self._queue.add_worker(worker_name(self._spawned))
            self._spawn()
        self._wake_waiting()

    def wake(self) -> None:
        """The queue changed (no more work will come, or a resource's slots):
        grant the acquires that may go on now, and tell the idle workers."""
        self._grant_waiting()
        self._wake_waiting()

    def stop(self) -> None:
        """Stop the run: every worker finishes its current test and exits."""
        self._stopping = True
        self._queue.clear()
        for worker in self._workers.values():
            if not worker.stopping:
                worker.stopping = True
                self._fleet.send(worker.name, Stop())

    def on_message(self, name: str, message: ToController) -> None:
        """React to ``message`` from worker ``name``."""
        worker = self._workers[name]
        match message:
            case ItemDone(index, events, late=True):
                self._sink.item_done(index, events, name)
            case ItemDone(index, events):
                if not worker.sent or worker.sent[0] != index:
                    raise ProtocolError(
                        f"worker {name} reported item {index}, expected {list(worker.sent)[:1]}"
                    )
                worker.sent.popleft()
                self._queue.done(name, index)
                self._grant_waiting()
                now = self._clock()
                self._elapsed += now - worker.started
                self._completed += 1
                worker.started = now
                if self._retry(index, events, name):
                    self._top_up(worker)
                    self._wake_waiting()
                    return
                attempts = self._failed_attempts.pop(index, 0) + 1
                self._sink.item_done(index, events, name, attempts)
                if self._sink.should_stop():
                    self.stop()
                else:
                    self._top_up(worker)
                    self._wake_waiting()
            case Interrupted(index, events, kind, text, returncode):
                if worker.sent and worker.sent[0] == index:
                    worker.sent.popleft()
                    worker.stopping = True
                self._sink.item_done(index, events, name)
                self._sink.interrupt(kind, text, returncode)
            case StopAsked(shouldfail, shouldstop):
                self._sink.ask_stop(shouldfail, shouldstop)
                if self._sink.should_stop():
                    self.stop()
            case WorkerFinished(output, events):
                self._sink.worker_finished(name, output, events)
            case WorkerError(text):
                worker.error = text
            case Acquire(request, resource, timeout, holder):
                self._acquire(name, request, resource, timeout, holder)
            case Release(resource):
                self._queue.release(name, resource)
                holders = self._acquired.get((name, resource))
                if holders:
                    holders.pop()
                self._grant_waiting()
                self._wake_waiting()

    def _retry(self, index: int, events: Sequence[Event], name: str) -> bool:
        """Send a failed item to run again, on another worker when there is one.

        Its reports are not passed on: only those of its last run are, with
        the count of its runs.  A run that is stopping retries nothing.
        """
        failed = self._failed_attempts.get(index, 0)
        if self._stopping or failed >= self._retries or not _failed(events):
            return False
        self._failed_attempts[index] = failed + 1
        self._queue.retry(index, avoid=name)
        others = [
            w for w in self._workers.values() if w.name != name and not (w.finishing or w.stopping)
        ]
        leaving = self._workers[name].finishing or self._workers[name].stopping
        if not others and (self._initial_workers > 1 or leaving):
            # Every other worker is leaving (or it was the last, and leaving
            # too): start one to run it elsewhere.
            self._queue.add_worker(worker_name(self._spawned))
            self._spawn()
        return True

    def on_exit(self, name: str, exit: WorkerExit) -> None:
        """Worker ``name`` ended: report what it lost and replace it if work is left."""
        worker = self._workers.pop(name)
        # Its reservation comes back and its resource slots are free: the
        # items it was sent will never be reported.
        unsent = self._queue.remove_worker(name)
        self._waiters = [w for w in self._waiters if w.worker != name]
        for key in [key for key in self._acquired if key[0] == name]:
            del self._acquired[key]
        self._grant_waiting()
        self._wake_waiting()
        if exit.clean and (worker.stopping or (worker.finishing and not worker.sent)):
            return
        if worker.stopping and not worker.sent:
            # It ended while leaving, between tests: nothing of the run was lost.
            self._sink.note(
                worker.error or f"worker {name} exited unexpectedly ({exit.describe()})"
            )
            return
        if worker.sent:
            lost = worker.sent.popleft()
            reason = worker.killed_because or self._crash_reason(worker, exit, lost)
            self._sink.item_lost(lost, reason, name, self._clock() - worker.started)
            if worker.stopping:
                # A crash or timeout during a stop is reported like any other;
                # the items behind it were never going to run.
                return
        else:
            self._sink.note(
                worker.error or f"worker {name} exited unexpectedly ({exit.describe()})"
            )
        remaining = [*worker.sent, *unsent]
        if self._stopping or not (remaining or self._queue.unsent):
            return
        if self._restarts >= self._max_restarts:
            self.abort_reason = (
                f"testfleet: {self._restarts} workers were replaced already, the limit of "
                "--worker-restart-limit; stopping the run"
            )
            self._sink.note(self.abort_reason)
            self.stop()
            return
        self._restarts += 1
        self._queue.add_worker(worker_name(self._spawned), remaining)
        self._spawn()

    def on_tick(self) -> None:
        """Deny the acquires that waited too long; kill the workers whose current
        test has run past ``--test-timeout``."""
        now = self._clock()
        self._expire_waiters(now)
        if self._test_timeout is None:
            return
        for worker in self._workers.values():
            if (
                worker.sent
                and worker.killed_because is None
                and now - worker.started > self._test_timeout
            ):
                worker.killed_because = (
                    f"Timeout: {self._describe(worker.sent[0])} ran longer than "
                    f"{self._test_timeout:g}s (--test-timeout); worker {worker.name} was "
                    "killed and replaced"
                )
                self._fleet.kill(worker.name)

    def next_deadline(self) -> float | None:
        """The clock reading at which :meth:`on_tick` may have something to do."""
        deadlines = [w.deadline for w in self._waiters if w.deadline is not None]
        if self._test_timeout is not None:
            deadlines += [
                w.started + self._test_timeout
                for w in self._workers.values()
                if w.sent and w.killed_because is None
            ]
        return min(deadlines, default=None)

    def _acquire(
        self, worker: str, request: int, name: str, timeout: float | None, holder: str
    ) -> None:
        """A test in ``worker`` asks for a slot of ``name``: grant it now or queue it."""
        if not self._queue.acquire(worker, name):
            deadline = None if timeout is None else self._clock() + timeout
            self._waiters.append(_Waiter(worker, request, name, deadline, timeout, holder))
            self._queue.set_wanted(w.name for w in self._waiters)
            self._wake_waiting()
            return
        self._acquired.setdefault((worker, name), []).append(holder)
        self._fleet.send(worker, Granted(request))

    def _grant_waiting(self) -> None:
        """Give the slots that are free now to the acquires waiting, in their order."""
        if not self._waiters:
            return
        waiting = []
        for waiter in self._waiters:
            if self._queue.acquire(waiter.worker, waiter.name):
                self._acquired.setdefault((waiter.worker, waiter.name), []).append(waiter.holder)
                self._fleet.send(waiter.worker, Granted(waiter.request))
            else:
                waiting.append(waiter)
        self._waiters = waiting
        self._queue.set_wanted(w.name for w in waiting)

    def _expire_waiters(self, now: float) -> None:
        expired = [w for w in self._waiters if w.deadline is not None and now >= w.deadline]
        if not expired:
            return
        self._waiters = [w for w in self._waiters if w not in expired]
        self._queue.set_wanted(w.name for w in self._waiters)
        for waiter in expired:
            message = (
                f"(capacity {self._queue.capacity(waiter.name)}): held by "
                f"{self._holders_of(waiter.name)}"
            )
            self._fleet.send(waiter.worker, Denied(waiter.request, message))
        self._wake_waiting()

    def _holders_of(self, name: str) -> str:
        """Who holds ``name`` now, by test and worker, for a timeout's message."""
        found = []
        for worker in self._queue.holders(name):
            tests = self._acquired.get((worker, name))
            if tests:
                found.append(f"{tests[0]} (worker {worker}, testfleet.acquire)")
                continue
            marked = self._queue.holding(worker, name)
            if marked:
                found.append(f"{self._describe(marked[0])} (worker {worker}, resource marker)")
        return "; ".join(found) or "nobody (the slot was being handed on)"

    def _crash_reason(self, worker: _Worker, exit: WorkerExit, index: int) -> str:
        reason = (
            f"worker {worker.name} crashed while running {self._describe(index)} "
            f"({exit.describe()})"
        )
        if worker.error:
            reason += f"\n{worker.error}"
        return reason

    def _target(self) -> int:
        mean = self._elapsed / self._completed if self._completed else None
        return batch_target(mean, tail=self._queue.in_tail)

    def _spawn(self) -> None:
        name = worker_name(self._spawned)
        self._spawned += 1
        worker = _Worker(name, deque(), started=self._clock())
        self._workers[name] = worker
        initial = self._fill(worker)
        self._fleet.spawn(name, initial)
        if worker.finishing:
            self._fleet.send(name, Finish())

    def _wake_waiting(self) -> None:
        """Top up the workers that wait for work: a resource slot may have freed."""
        for other in list(self._workers.values()):
            if len(other.sent) < 2:
                self._top_up(other)

    def _top_up(self, worker: _Worker) -> None:
        if worker.finishing or worker.stopping:
            return
        # Every worker needs the item it runs, the next one (pytest's
        # nextitem) and one more in hand, so that the top-up arrives while it
        # runs the next and it never waits for us.  Above that, top up by half
        # a batch at a time: fewer, larger messages.
        if len(worker.sent) > max(_IN_HAND, self._target() // 2):
            return
        batch = self._fill(worker)
        if batch:
            self._fleet.send(worker.name, RunItems(tuple(batch)))
        if worker.finishing:
            self._fleet.send(worker.name, Finish())

    def _fill(self, worker: _Worker) -> list[int]:
        """Take work for ``worker`` up to a batch; decide whether it is its last."""
        target = self._target()
        batch = self._queue.take(worker.name, target - len(worker.sent))
        # A batch can come up short (a unit is not split to fill it): make
        # sure the worker holds what it needs not to wait, if work is left.
        while len(worker.sent) + len(batch) < _IN_HAND and (
            more := self._queue.take_successor(worker.name)
        ):
            batch += more
        worker.sent.extend(batch)
        # Nothing left that it could be given: no more work will come to this
        # worker (a crashed worker's items go to its replacement).
        worker.finishing = not self._queue.available_to(worker.name)
        return batch
