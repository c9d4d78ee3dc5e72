"""Hand out work unit by unit, in the planner's order, keeping a unit on one worker.

A *unit* is a scope group (items that share a module's fixtures) or a piece of
one, as the planner (:mod:`testfleet.scheduling.plan`) ordered them.  A unit is
reserved whole for one worker and sent to it a few items at a time.  Only at
the tail, when a unit is larger than a fair share of the estimated work left,
is it split; and when nothing is left to reserve, an idle worker steals every
other item from the largest reservation.
Items that hold resources (:mod:`testfleet.scheduling.resources`) are never
split off or stolen, and are sent only to a worker that holds, or can take, a
slot of each: a worker that cannot gets the next unit it can run instead, so
no worker waits on a resource while there is work it could do.
A worker also holds a slot it took with ``testfleet.acquire`` (:meth:`WorkQueue.acquire`)
until it gives it back; while some worker waits to acquire a resource, no new
unit holding it is reserved, so the wait ends when the units already reserved are done.
Items already sent to a worker are never taken back: a worker must know the
item that follows the one it runs (pytest's ``nextitem``) to tear fixtures down
correctly, so what it holds is its own.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from testfleet.scheduling.resources import NO_RESOURCES, Resources


def group_by_scope(keys: Sequence[Hashable]) -> list[list[int]]:
    """Split item indices ``0..len(keys)-1`` into runs of equal consecutive keys.

    Consecutive only: a module whose items were reordered apart (by ``--ff``,
    say) becomes several groups, so the order pytest chose is kept.
    """
    groups: list[list[int]] = []
    previous: Hashable = object()
    for index, key in enumerate(keys):
        if not groups or key != previous:
            groups.append([])
            previous = key
        groups[-1].append(index)
    return groups


def batch_target(
    mean_seconds: float | None, *, tail: bool = False, horizon: float = 0.1, cap: int = 256
) -> int:
    """How many items a worker should hold so it never waits for the controller.

    A worker needs the item it runs and the next one (pytest's ``nextitem``),
    plus one more so that the top-up can arrive while it runs the next.  Fast
    items need more: enough to cover ``horizon`` seconds of work, so a busy
    controller can fall behind by that much without a worker going idle.  In
    the ``tail`` of a run what a worker holds can no longer be shared out, so
    it holds just those three items, or a fifth of the horizon of fast ones.
    """
    minimum = 3
    if tail:
        horizon /= 5
    if mean_seconds is None or mean_seconds <= 0:
        return minimum
    return max(minimum, min(cap, math.ceil(horizon / mean_seconds)))


@dataclass
class _Group:
    items: list[int]
    #: A piece of a group split at the tail: meant for another worker.
    piece: bool = False
    #: The resources its items hold; such a group is never split.
    holds: frozenset[str] = field(default_factory=frozenset)
    #: A failed test sent to run again: the worker it failed on takes it only
    #: when no other worker is left to.
    avoid: str | None = None


class WorkQueue:
    """The unsent work of a run, which worker each piece is reserved for, and who
    holds which resource."""

    def __init__(
        self,
        units: Iterable[Sequence[int]],
        *,
        weights: Mapping[int, float] | None = None,
        resources: Resources | None = None,
    ) -> None:
        """``weights`` are estimated seconds per item (1 each when absent);
        ``resources`` say which items hold what, and the capacities."""
        self._resources = resources or NO_RESOURCES
        self._groups: deque[_Group] = deque(self._group(u) for u in units if u)
        self._reserved: dict[str, deque[int]] = {}
        self._weights = dict(weights) if weights is not None else None
        #: Slots of each resource held here when they are shared with other
        #: machines (:meth:`share_capacities`); None: the configured capacities.
        self._granted: dict[str, int] | None = None
        #: Whether units may still be added (a fleet node takes them from a
        #: shared stream as it goes): while they may, no worker is told to finish.
        self.more_coming = False
        #: Per worker, the items sent and not reported yet, with what each holds.
        self._sent: dict[str, dict[int, frozenset[str]]] = {}
        #: Per worker, the resources it took with ``acquire`` and how many times.
        self._acquired: dict[str, Counter[str]] = {}
        #: Resources some worker waits to acquire: no new unit holding one is sent.
        self._wanted: frozenset[str] = frozenset()
        #: Workers told there is nothing more for them (they finish).
        self._retired: set[str] = set()
        #: The weight of the units not reserved yet, kept as they come and go.
        self._queued_weight = sum(self._weight(g.items) for g in self._groups)
        items = sum(len(g.items) for g in self._groups)
        self._mean_weight = self._queued_weight / items if items else 1.0

    def add_units(self, units: Iterable[Sequence[int]], weights: Mapping[int, float]) -> None:
        """Append ``units`` to the plan, behind what is queued (a fleet node's new work)."""
        if self._weights is not None:
            self._weights.update(weights)
        for unit in units:
            if unit:
                group = self._group(unit)
                self._groups.append(group)
                self._queued_weight += self._weight(group.items)
        # The mean of what is queued now: it decides how far a batch reaches.
        queued = sum(len(g.items) for g in self._groups)
        if queued:
            self._mean_weight = self._queued_weight / queued

    def retry(self, index: int, avoid: str) -> None:
        """Queue item ``index`` to run again, first, on a worker other than ``avoid``
        while another one takes work."""
        group = self._group((index,))
        group.avoid = avoid
        self._groups.appendleft(group)
        self._queued_weight += self._weight(group.items)

    def _welcome(self, worker: str, group: _Group) -> bool:
        """Whether ``worker`` may take ``group`` (a retry avoids the worker it failed on)."""
        if group.avoid != worker:
            return True
        return not any(w != worker and w not in self._retired for w in self._reserved)

    @property
    def outstanding_weight(self) -> float:
        """The estimated work not reported yet: queued, reserved, and sent to workers."""
        reserved = sum(self._weight(r) for r in self._reserved.values())
        sent = sum(self._weight(items) for items in self._sent.values())
        return self._queued_weight + reserved + sent

    @property
    def queued_units(self) -> int:
        """Units in the plan that no worker has reserved yet."""
        return len(self._groups)

    @property
    def unsent(self) -> int:
        """Items not yet sent to any worker, reserved or not."""
        return sum(len(g.items) for g in self._groups) + sum(map(len, self._reserved.values()))

    def available_to(self, worker: str) -> int:
        """Unsent items ``worker`` could still be given; 0 means it should finish.

        Work waiting only for a resource other workers hold counts while the
        worker can wait for it: with nothing in hand (it is handed work when
        a slot frees), or with two or more items (it keeps running).  With a
        single item it cannot run that one without a successor, so it finishes
        unless every other worker has finished already: then it waits, and
        each of them releases its slots as it ends.
        """
        runnable = self.runnable_for(worker)
        if self.more_coming:
            return runnable or 1
        if runnable or not self.unsent:
            if not runnable:
                self._retired.add(worker)
            return runnable
        in_hand = len(self._sent.get(worker, ()))
        others_active = any(w != worker and w not in self._retired for w in self._reserved)
        if in_hand == 1 and others_active:
            self._retired.add(worker)
            return 0
        return self.unsent

    @property
    def in_tail(self) -> bool:
        """Whether every unit is reserved or split: the last stretch of the run."""
        return not self._groups or self._groups[0].piece

    def add_worker(self, worker: str, reserved: Iterable[int] = ()) -> None:
        """Count ``worker`` in fair shares, optionally handing it a reservation.

        A replacement for a crashed worker takes over the items its predecessor
        had been sent but not run, in their order, through ``reserved``.
        """
        self._reserved[worker] = deque(reserved)
        self._sent[worker] = {}

    def remove_worker(self, worker: str) -> list[int]:
        """Forget ``worker``, release its slots, and return its unsent reservation."""
        self._sent.pop(worker, None)
        self._acquired.pop(worker, None)
        self._retired.discard(worker)
        return list(self._reserved.pop(worker, ()))

    def done(self, worker: str, index: int) -> None:
        """``worker`` reported item ``index``: the slots only it needed are free."""
        self._sent.get(worker, {}).pop(index, None)

    def clear(self) -> None:
        """Drop all unsent work: the run is stopping."""
        self._groups.clear()
        self._queued_weight = 0.0
        for reservation in self._reserved.values():
            reservation.clear()

    def holders(self, name: str) -> list[str]:
        """The workers holding a slot of resource ``name`` now."""
        return [
            worker
            for worker, sent in self._sent.items()
            if any(name in held for held in sent.values()) or name in self._acquired.get(worker, ())
        ]

    def acquire(self, worker: str, name: str) -> bool:
        """Give ``worker`` a slot of ``name`` if it may have one now; whether it got it.

        A worker that holds the resource already (through a test it was sent,
        or an earlier acquire) gets it at once: it runs one test at a time.
        """
        if name not in self._held_by(worker) and len(self.holders(name)) >= self.capacity(name):
            return False
        self._acquired.setdefault(worker, Counter())[name] += 1
        return True

    def release(self, worker: str, name: str) -> None:
        """``worker`` gave back one slot of ``name`` it acquired."""
        taken = self._acquired.get(worker)
        if taken is not None and taken[name] > 0:
            taken[name] -= 1
            if not taken[name]:
                del taken[name]

    def capacity(self, name: str) -> int:
        """How many workers may hold ``name`` at once, here."""
        if self._granted is not None:
            return self._granted.get(name, 0)
        return self._resources.capacity(name)

    def configured_capacity(self, name: str) -> int:
        """How many workers may hold ``name`` at once in the whole run."""
        return self._resources.capacity(name)

    def share_capacities(self) -> None:
        """The slots of every resource are shared with other machines: none is
        held here until :meth:`grant` says so (a fleet node)."""
        self._granted = {}

    def grant(self, name: str, slots: int) -> None:
        """This machine holds ``slots`` slots of ``name`` now."""
        assert self._granted is not None, "share_capacities() first"
        self._granted[name] = slots

    def wants(self, name: str) -> bool:
        """Whether work here waits for ``name``: an acquire, or unsent items holding it."""
        if name in self._wanted:
            return True
        if any(name in group.holds for group in self._groups):
            return True
        return any(
            name in self._resources.of(item)
            for reservation in self._reserved.values()
            for item in reservation
        )

    @property
    def resource_names(self) -> frozenset[str]:
        """Every resource some item holds."""
        return self._resources.names

    @property
    def wanted(self) -> frozenset[str]:
        """The resources acquires wait for now."""
        return self._wanted

    def holding(self, worker: str, name: str) -> list[int]:
        """The items sent to ``worker`` and not reported that hold ``name``, in order."""
        return [i for i, held in self._sent.get(worker, {}).items() if name in held]

    def set_wanted(self, names: Iterable[str]) -> None:
        """The resources workers wait to acquire: no new unit holding them is sent."""
        self._wanted = frozenset(names)

    def take(self, worker: str, count: int) -> list[int]:
        """Up to ``count`` items for ``worker``; empty when it can run nothing now.

        A batch runs on into the next whole units, but not into a piece split
        off for another worker; stealing happens only when the worker would
        otherwise get nothing: it is a tail measure.
        """
        reservation = self._reserved[worker]
        batch: list[int] = []
        while len(batch) < count:
            self._give_back_if_blocked(worker)
            if not reservation:
                if batch and (self.in_tail or not self._fits(worker, count - len(batch))):
                    break
                reservation.extend(self._reserve(worker) or ([] if batch else self._steal(worker)))
                if not reservation:
                    break
            batch.append(self._send(worker, reservation.popleft()))
        return batch

    def take_successor(self, worker: str) -> list[int]:
        """One item to follow what ``worker`` holds, when it holds a single item.

        pytest must know the next item before it runs one, but a worker given
        one long unit must not get the next long unit just to know its
        successor: the successor comes from its own reservation, else from the
        *last* unit of the plan, the smallest, that holds no resource.
        """
        self._give_back_if_blocked(worker)
        reservation = self._reserved[worker]
        if not reservation:
            for position in range(len(self._groups) - 1, -1, -1):
                group = self._groups[position]
                if not group.holds and self._welcome(worker, group):
                    del self._groups[position]
                    self._queued_weight -= self._weight(group.items)
                    reservation.extend(group.items)
                    break
            else:
                return self.take(worker, 1)
        return [self._send(worker, reservation.popleft())] if reservation else []

    def _group(self, items: Iterable[int], piece: bool = False) -> _Group:
        members = list(items)
        return _Group(members, piece, self._resources.of_all(members))

    def _send(self, worker: str, item: int) -> int:
        self._sent[worker][item] = self._resources.of(item)
        return item

    def _allowed(self, worker: str, holds: frozenset[str], *, reserved: bool = False) -> bool:
        """Whether ``worker`` may be sent an item holding ``holds`` now.

        A unit it has ``reserved`` goes on even when another worker waits to
        acquire one of those resources: a unit is never cut short for that.
        """
        if not holds:
            return True
        mine = self._held_by(worker)
        if not reserved and holds & self._wanted:
            # A worker must know the test after the one it runs: a holder
            # down to its last item may take the next unit of its resource,
            # or neither it nor the worker waiting for its slot could go on.
            last = len(self._sent.get(worker, ())) == 1
            if not (last and holds <= mine):
                return False
        return all(name in mine or len(self.holders(name)) < self.capacity(name) for name in holds)

    def _held_by(self, worker: str) -> frozenset[str]:
        held = frozenset().union(*self._sent.get(worker, {}).values())
        acquired = self._acquired.get(worker)
        return held.union(acquired) if acquired else held

    def _give_back_if_blocked(self, worker: str) -> None:
        """Put a reservation the worker cannot run now back in the plan, in front.

        Only a replacement's reservation (its predecessor's unrun items) or a
        unit whose slot another worker took meanwhile can be blocked.
        """
        reservation = self._reserved[worker]
        if reservation and not self._allowed(
            worker, self._resources.of(reservation[0]), reserved=True
        ):
            group = self._group(reservation)
            self._groups.appendleft(group)
            self._queued_weight += self._weight(group.items)
            reservation.clear()

    def _next_position(self, worker: str) -> int | None:
        """Where the first unit ``worker`` may run now is in the plan."""
        for position, group in enumerate(self._groups):
            if self._allowed(worker, group.holds) and self._welcome(worker, group):
                return position
        return None

    def runnable_for(self, worker: str) -> int:
        """Unsent items ``worker`` may be sent now (the others wait for a resource)."""
        reservation = self._reserved.get(worker, deque())
        own = (
            len(reservation)
            if reservation
            and self._allowed(worker, self._resources.of(reservation[0]), reserved=True)
            else 0
        )
        queued = sum(
            len(g.items)
            for g in self._groups
            if self._allowed(worker, g.holds) and self._welcome(worker, g)
        )
        others = sum(
            1
            for name, reserved in self._reserved.items()
            if name != worker
            for item in reserved
            if not self._resources.of(item)
        )
        return own + queued + others

    def _fits(self, worker: str, room: int) -> bool:
        """Whether the next unit is no more work than ``room`` items of mean weight.

        A batch runs on into the next unit only then: it fills a batch with
        small modules, but never takes a large unit meant for another worker.
        """
        position = self._next_position(worker)
        if position is None:
            return False
        return self._weight(self._groups[position].items) <= room * self._mean_weight

    def _weight(self, items: Iterable[int]) -> float:
        if self._weights is None:
            return float(sum(1 for _ in items))
        return sum(self._weights.get(i, 0.0) for i in items)

    def _reserve(self, worker: str) -> list[int]:
        position = self._next_position(worker)
        if position is None:
            return []
        head = self._groups[position]
        del self._groups[position]
        group = head.items
        if head.piece or head.holds:  # a fair share already, or bound to a resource
            self._queued_weight -= self._weight(group)
            return group
        # At the tail a whole unit would leave the other workers idle: split
        # it into fair shares of the work left, one for each worker.
        group_weight = self._weight(group)
        self._queued_weight -= group_weight
        unsent = self._queued_weight + sum(self._weight(r) for r in self._reserved.values())
        fair = (unsent + group_weight) / max(1, len(self._reserved))
        pieces: list[list[int]] = [[]]
        filled = 0.0
        for item in group:
            weight = self._weight((item,))
            if pieces[-1] and filled + weight / 2 > fair:
                pieces.append([])
                filled = 0.0
            pieces[-1].append(item)
            filled += weight
        for piece in reversed(pieces[1:]):
            self._groups.insert(position, _Group(piece, piece=True))
            self._queued_weight += self._weight(piece)
        return pieces[0]

    def _steal(self, thief: str) -> list[int]:
        def stealable(items: Iterable[int]) -> list[int]:
            return [i for i in items if not self._resources.of(i)]

        candidates = [r for w, r in self._reserved.items() if w != thief and stealable(r)]
        if not candidates:
            return []
        reservation = max(candidates, key=lambda r: self._weight(stealable(r)))
        # Take every other item, counting from the back: slow tests cluster
        # (a slow module, slow cases at its end), and alternate picks split a
        # cluster evenly between victim and thief, where a half would move it whole.
        free = stealable(reservation)
        stolen = set(free[len(free) - 1 :: -2])
        kept = [i for i in reservation if i not in stolen]
        reservation.clear()
        reservation.extend(kept)
        return [i for i in free if i in stolen]
