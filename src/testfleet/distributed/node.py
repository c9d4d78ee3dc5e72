"""A node's side of a fleet run: take units as the workers need them, write
results back, keep the leases alive, and take over the work of lost nodes.

:class:`FleetSource` is the controller's :class:`~testfleet.engine.controller.WorkSource`:
the event loop calls :meth:`FleetSource.tick` after every round of events, so
every exchange with Redis happens in the loop's thread, between the workers'
messages.  Its timing decisions (:class:`Schedule`) are pure and take the
clock as an argument.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testfleet.distributed.protocol import FleetResult
from testfleet.distributed.redis_run import Lease, Mark, RedisRun

if TYPE_CHECKING:
    from testfleet.engine.controller import Controller
    from testfleet.scheduling import WorkQueue

#: How often an idle node asks whether the run is complete (seconds).
_IDLE_POLL = 0.2
#: Estimated seconds of work per worker below which a node takes its next unit.
_AHEAD = 0.05
#: How long a node waits before it asks again for a resource slot the fleet refused.
_SLOT_RETRY = 0.05
#: How long a node keeps a resource slot that none of its workers uses (seconds).
_UNUSED_SLOT = 1.0
#: Results are written at most this often while tests finish (seconds): a
#: round trip per burst of results, not per test.
_COMMIT_EVERY = 0.01


@dataclass
class Schedule:
    """When a node next renews its heartbeat, looks for lost work and writes results."""

    #: The lease timeout, in seconds.
    lease: float
    next_heartbeat: float = 0.0
    next_reclaim: float = 0.0
    next_poll: float = 0.0
    last_commit: float = float("-inf")

    @property
    def heartbeat_every(self) -> float:
        """A third of the lease: two heartbeats may be late before the lease lapses."""
        return self.lease / 3

    @property
    def reclaim_every(self) -> float:
        """How often to look for the work of lost nodes: a lost node's work waits at
        most the lease and this long."""
        return min(1.0, self.lease / 3)

    def heartbeat_due(self, now: float) -> bool:
        """Whether to renew now; if so, the next renewal is scheduled."""
        if now < self.next_heartbeat:
            return False
        self.next_heartbeat = now + self.heartbeat_every
        return True

    def reclaim_due(self, now: float) -> bool:
        """Whether to look for lost work now; if so, the next look is scheduled."""
        if now < self.next_reclaim:
            return False
        self.next_reclaim = now + self.reclaim_every
        return True

    def poll_due(self, now: float) -> bool:
        """Whether an idle node asks again whether the run is complete."""
        if now < self.next_poll:
            return False
        self.next_poll = now + _IDLE_POLL
        return True

    def commit_due(self, now: float, *, urgent: bool) -> bool:
        """Whether pending results are written now (``urgent``: a unit is complete)."""
        if not urgent and now - self.last_commit < _COMMIT_EVERY:
            return False
        self.last_commit = now
        return True


def lost_verdict(nodeid: str, lost_on: Sequence[str]) -> str | None:
    """Why ``nodeid`` is reported failed without running again, or None to run it.

    A test that was running on a lost node is run once more elsewhere; lost a
    second time, it is failed with the cause (it likely kills its node).
    """
    if len(lost_on) < 2:
        return None
    nodes = " and ".join(f"node {n}" for n in lost_on)
    return (
        f"testfleet: {nodes} were lost while running {nodeid}; it is not run a third time "
        "(a test that takes its node down: look for memory or time limits of the CI)"
    )


def slot_target(*, capacity: int, workers: int, used: int, wanted: bool) -> int:
    """How many slots of a resource a node should hold: those its workers use, and
    while work here waits for the resource one more, up to the fleet's capacity and
    the node's workers (a slot no worker here could use is left to other nodes)."""
    if not wanted:
        return used
    return max(used, min(capacity, max(workers, 1), used + 1))


def running_when_lost(marks: Sequence[Mark], unfinished: set[str]) -> dict[str, str]:
    """Which of the ``unfinished`` tests were running, and on which node.

    A worker marks each test as it starts it, numbering them, and a recorded
    result removes the mark: of a worker's marks left, the last it made is the
    test it was running (those before it finished, their results not written yet).
    """
    last: dict[tuple[str, str], Mark] = {}
    for mark in marks:
        key = (mark.node, mark.worker)
        if key not in last or mark.order > last[key].order:
            last[key] = mark
    return {m.nodeid: m.node for m in last.values() if m.nodeid in unfinished}


class FleetSource:
    """Feeds one node's controller from the run's work stream."""

    def __init__(
        self,
        run: RedisRun,
        *,
        nodeids: Sequence[str],
        workers: int,
        total: int,
        queue: WorkQueue,
        note: Callable[[str], None],
        fail_unrun: Callable[[int, str], None],
    ) -> None:
        """``fail_unrun(index, reason)`` reports a test failed without running it."""
        self._run = run
        self._nodeids = list(nodeids)
        self._index = {nodeid: i for i, nodeid in enumerate(nodeids)}
        self._workers = workers
        self._total = total
        self._note = note
        self._fail_unrun = fail_unrun
        self._schedule = Schedule(run.settings.lease)
        self._controller: Controller | None = None
        self._queue = queue
        queue.more_coming = True
        #: Units held, by entry; and the unit of each test not yet written.
        self._leases: dict[str, Lease] = {}
        self._lease_of: dict[str, Lease] = {}
        #: Finished tests' results not written yet, by entry.
        self._pending: dict[str, list[FleetResult]] = {}
        #: Tests of this node that run again after a node was lost under them.
        self.rerun_after: dict[str, str] = {}
        #: No unit is left on the stream that no node has read.
        self.exhausted = False
        #: Every test of the run has a result.
        self.complete = False
        #: Why this node stopped taking work, when Redis failed it.
        self.error: str | None = None
        #: The fleet's resource slots this node holds: resource -> holder names.
        self._slots: dict[str, list[str]] = {}
        self._slot_serial = 0
        #: When to ask again for a resource's slot the fleet refused (or this node gave back).
        self._slot_retry: dict[str, float] = {}
        #: Since when a resource's slots held here have been used by no worker.
        self._unused_since: dict[str, float] = {}
        #: Polls in a row that found the run short of results with no work held.
        self._stuck = 0
        #: This node's run stopped (``-x``): it handed its units on and left.
        self.left = False

    def attach(self, controller: Controller) -> None:
        """The controller this source feeds (created after :meth:`prime` filled its queue)."""
        self._controller = controller

    # -- the WorkSource interface --------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.complete or self.error is not None or self.left

    @property
    def _stopping(self) -> bool:
        """Whether this node's run is stopping (``-x``, a limit): it takes no more work."""
        return self._controller is not None and self._controller.stopping

    def next_deadline(self) -> float | None:
        if self.finished:
            return None  # nothing more to do: no deadline may spin the loop
        schedule = self._schedule
        deadlines = [schedule.next_heartbeat]
        if self._pending:
            deadlines.append(schedule.last_commit + _COMMIT_EVERY)
        if self.exhausted and not self.finished:
            deadlines += [schedule.next_reclaim, schedule.next_poll]
        return min(deadlines)

    def tick(self, now: float) -> None:
        """Exchange what is due with Redis; a lost server stops the node's work."""
        import redis

        if self.finished:
            return
        try:
            self._tick(now)
        except redis.RedisError as exc:
            from testfleet.distributed.connection import describe_lost

            self.error = (
                f"{describe_lost(self._run.settings.url, exc)}; this node stopped taking "
                "work and the run is not complete"
            )
            self._note(self.error)
            if self._controller is not None:
                self._controller.stop()

    def prime(self) -> None:
        """Take the first units, one per worker, before the workers start."""
        self._run.join(self._workers)
        self._schedule.heartbeat_due(0.0)
        self._take(self._workers)
        while self._run.skipped:
            self._note(self._run.skipped.pop(0))

    # -- results, from the node's pytest hooks --------------------------------------

    def test_finished(self, result: FleetResult) -> None:
        """A test of this node finished: its result is written with its unit's next commit."""
        lease = self._lease_of.pop(result.nodeid, None)
        if lease is None:
            return  # not a test of a unit this node holds (its lease was taken over)
        lease.remaining.discard(result.nodeid)
        self._pending.setdefault(lease.entry, []).append(result)

    # -- the steps -------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        self._tick_steps(now)
        while self._run.skipped:
            self._note(self._run.skipped.pop(0))

    def _tick_steps(self, now: float) -> None:
        schedule = self._schedule
        if schedule.heartbeat_due(now):
            self._run.heartbeat(self._workers)
            self._renew_slots()
        urgent = self._stopping or any(not self._leases[e].remaining for e in self._pending)
        if self._pending and schedule.commit_due(now, urgent=urgent):
            self._commit()
        if self.complete:
            return
        if self._stopping:
            # The tests running when the run stopped report still; once every
            # worker has ended, the units left are handed to the other nodes.
            if self._controller is not None and self._controller.done:
                self.hand_over()
                self.left = True
            return
        self._balance_slots(now)
        if not self.exhausted and self._needs_work():
            self._take(1)
        if self.exhausted and not self._leases:
            if schedule.reclaim_due(now):
                self._adopt(self._run.reclaim(), reclaimed=True)
            if not self._leases and schedule.poll_due(now):
                self._check_complete()

    def _needs_work(self) -> bool:
        """Whether to take another unit now.

        As late as possible, so that work this node would only queue stays on
        the stream for a node that is idle: when a worker holds a single test
        (it cannot start it before it knows the next), or when what is left
        here is estimated at less than :data:`_AHEAD` seconds per worker (short
        tests: the next unit arrives before the workers run dry).
        """
        queue = self._queue
        if queue.queued_units:
            return False
        controller = self._controller
        if controller is not None and controller.waiting_for_successor:
            return True
        workers = len(controller.live_workers) if controller is not None else self._workers
        return queue.outstanding_weight < _AHEAD * max(1, workers)

    def _check_complete(self) -> None:
        """Whether the run is complete; an error if it never can be.

        Every unit was read (this node found none left), none is held, and
        tests still have no result: a unit went missing from the stream (it was
        malformed, or deleted), and waiting would be forever.  Seen twice in a
        row, so that a unit being handed over between two nodes is not taken
        for one that is gone.
        """
        done = self._run.done_count()
        if done >= self._total:
            self._completed()
        if self.complete or self._run.pending_total():
            self._stuck = 0
            return
        self._stuck += 1
        if self._stuck >= 2:
            self.error = (
                f"testfleet: fleet run {self._run.settings.run_id} cannot complete: "
                f"{self._total - done} tests have no result and no node holds work for "
                "them (a unit is missing from the work stream); this node stops"
            )
            self._note(self.error)

    def _completed(self) -> None:
        """Every test of the run has a result: this node's workers finish.

        A node that still holds work now (it stalled, and others ran its units)
        stops it: every result it could write is in already.
        """
        self.complete = True
        self.exhausted = True
        self._queue.more_coming = False
        if self._controller is None:
            return
        if self._queue.unsent:
            self._controller.stop()
        else:
            self._controller.wake()

    def _take(self, count: int) -> None:
        leases = self._run.take(count)
        if not leases:
            self.exhausted = True
            self._queue.more_coming = False
            if self._controller is not None:
                self._controller.wake()
            return
        self._adopt(leases, reclaimed=False)

    def _adopt(self, leases: Sequence[Lease], *, reclaimed: bool) -> None:
        """Queue the tests of ``leases`` that have no result yet."""
        units: list[list[int]] = []
        weights: dict[int, float] = {}
        for lease in leases:
            tests = [t for t in lease.unit.tests if t in self._index]
            if len(tests) != len(lease.unit.tests):
                unknown = next(t for t in lease.unit.tests if t not in self._index)
                self._note(f"testfleet: a unit names a test this node did not collect: {unknown}")
            lost_on: dict[str, list[str]] = {}
            if reclaimed:
                tests, lost_on = self._unfinished(tests)
            lease.remaining = set(tests)
            self._leases[lease.entry] = lease
            for nodeid in tests:
                self._lease_of[nodeid] = lease
            estimates = dict(zip(lease.unit.tests, lease.unit.estimates, strict=True))
            runnable = []
            for nodeid in tests:
                index = self._index[nodeid]
                verdict = lost_verdict(nodeid, lost_on.get(nodeid, ()))
                if verdict is not None:
                    self._fail_unrun(index, verdict)
                    continue
                runnable.append(index)
                weights[index] = estimates[nodeid]
            if runnable:
                units.append(runnable)
            elif not lease.remaining:
                self._pending.setdefault(lease.entry, [])  # acknowledged with the next commit
        if units:
            self._queue.add_units(units, weights)
            if self._controller is not None:
                self._controller.add_work()

    def _unfinished(self, tests: list[str]) -> tuple[list[str], dict[str, list[str]]]:
        """Of a taken-over unit's tests, those without a result, and for the ones
        that were running on a lost node, every node lost under them so far."""
        recorded = self._run.recorded(tests)
        left = [t for t in tests if t not in recorded]
        lost_on = {}
        for nodeid, node in running_when_lost(self._run.started(), set(left)).items():
            if node == self._run.settings.node:
                continue
            lost = self._run.note_lost(nodeid, node)
            lost_on[nodeid] = lost
            if len(lost) < 2:
                self.rerun_after[nodeid] = node
                self._note(
                    f"testfleet: node {node} was lost while running {nodeid}; running it again"
                )
        return left, lost_on

    def _commit(self) -> None:
        for entry in list(self._pending):
            lease = self._leases[entry]
            results = self._pending.pop(entry)
            ack = not lease.remaining
            commit = self._run.commit(lease, results, ack=ack)
            if not commit.held:
                self._give_up(lease)
            elif ack:
                del self._leases[entry]
            if commit.done >= self._total:
                self._completed()

    def hand_over(self) -> None:
        """Give the units this node holds to the other nodes now (it is leaving early)."""
        tests = [t for lease in self._leases.values() for t in lease.remaining]
        self._run.abandon([lease.entry for lease in self._leases.values()], tests)
        self._leases.clear()
        self._lease_of.clear()

    def release(self) -> None:
        """Give back every resource slot this node holds (it is leaving)."""
        for name, holders in self._slots.items():
            for holder in holders:
                self._run.give_slot(name, holder)
        self._slots.clear()

    def _balance_slots(self, now: float) -> None:
        """Hold as many of the fleet's slots of each resource as this node's work needs."""
        queue = self._queue
        names = queue.resource_names | queue.wanted | set(self._slots)
        if not names:
            return
        workers = len(self._controller.live_workers) if self._controller else self._workers
        changed = False
        for name in sorted(names):
            held = self._slots.setdefault(name, [])
            capacity = queue.configured_capacity(name)
            used = len(queue.holders(name))
            target = slot_target(
                capacity=capacity, workers=workers, used=used, wanted=queue.wants(name)
            )
            if held and not used:
                # Held and unused: a unit here may wait for a second resource
                # another node holds while that node waits for this one.  A
                # slot unused for a while goes back, and is asked for again
                # after a random pause, so that such a pair cannot wait forever.
                since = self._unused_since.setdefault(name, now)
                if now - since > _UNUSED_SLOT:
                    target = 0
                    self._slot_retry[name] = now + random.uniform(_SLOT_RETRY, _UNUSED_SLOT)
            else:
                self._unused_since.pop(name, None)
            while len(held) > target:
                self._run.give_slot(name, held.pop())
                changed = True
            if len(held) < target and now >= self._slot_retry.get(name, 0.0):
                self._slot_serial += 1
                holder = f"{self._run.settings.node}#{self._slot_serial}"
                if self._run.take_slot(name, holder, capacity):
                    held.append(holder)
                    changed = True
                else:
                    self._slot_retry[name] = now + _SLOT_RETRY
            if not held:
                self._unused_since.pop(name, None)
            queue.grant(name, len(held))
        if changed and self._controller is not None:
            self._controller.wake()

    def _renew_slots(self) -> None:
        held = [(name, holder) for name, holders in self._slots.items() for holder in holders]
        lapsed = set(self._run.renew_slots(held))
        if not lapsed:
            return
        for name, holders in self._slots.items():
            holders[:] = [h for h in holders if h not in lapsed]
            self._queue.grant(name, len(holders))
        self._note(
            "testfleet: this node's heartbeat was late and it lost resource slots to other "
            "nodes; tests holding them may have overlapped"
        )

    def _give_up(self, lease: Lease) -> None:
        """Another node took ``lease`` over: nothing more of it is written from here."""
        self._leases.pop(lease.entry, None)
        for nodeid in lease.remaining:
            self._lease_of.pop(nodeid, None)
        self._pending.pop(lease.entry, None)
        self._note(
            f"testfleet: another node took over a unit of this node ({lease.unit.tests[0]}, ...) "
            "after its heartbeat lapsed; this node's results for it are not recorded"
        )
