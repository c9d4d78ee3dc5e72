"""Hand out work unit by unit, in the planner's order, keeping a unit on one worker.

A *unit* is a scope group (items that share a module's fixtures) or a piece of
one, as the planner (:mod:`testfleet.scheduling.plan`) ordered them.  A unit is
reserved whole for one worker and sent to it a few items at a time.  Only at
the tail, when a unit is larger than a fair share of the estimated work left,
is it split; and when nothing is left to reserve, an idle worker steals every
other item from the largest reservation.  Items of a *lane* (a category that
must not run in parallel) are never split off or stolen: a lane stays on one
worker.
Items already sent to a worker are never taken back: a worker must know the
item that follows the one it runs (pytest's ``nextitem``) to tear fixtures down
correctly, so what it holds is its own.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass


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


class WorkQueue:
    """The unsent work of a run, and which worker each piece is reserved for."""

    def __init__(
        self,
        units: Iterable[Sequence[int]],
        *,
        weights: Mapping[int, float] | None = None,
        lanes: Collection[int] = frozenset(),
    ) -> None:
        """``weights`` are estimated seconds per item (1 each when absent);
        ``lanes`` the items of non-parallel categories, whose units stay whole."""
        self._groups: deque[_Group] = deque(_Group(list(u)) for u in units if u)
        self._reserved: dict[str, deque[int]] = {}
        self._weights = weights
        self._lanes = frozenset(lanes)
        #: The weight of the units not reserved yet, kept as they come and go.
        self._queued_weight = sum(self._weight(g.items) for g in self._groups)
        items = sum(len(g.items) for g in self._groups)
        self._mean_weight = self._queued_weight / items if items else 1.0

    @property
    def unsent(self) -> int:
        """Items not yet sent to any worker, reserved or not."""
        return sum(len(g.items) for g in self._groups) + sum(map(len, self._reserved.values()))

    def available_to(self, worker: str) -> int:
        """Unsent items that ``worker`` could still be given: all but others' lanes."""
        others = sum(
            1
            for name, reservation in self._reserved.items()
            if name != worker
            for item in reservation
            if item not in self._lanes
        )
        return sum(len(g.items) for g in self._groups) + len(self._reserved[worker]) + others

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

    def remove_worker(self, worker: str) -> list[int]:
        """Forget ``worker`` and return its unsent reservation, in order."""
        return list(self._reserved.pop(worker, ()))

    def clear(self) -> None:
        """Drop all unsent work: the run is stopping."""
        self._groups.clear()
        self._queued_weight = 0.0
        for reservation in self._reserved.values():
            reservation.clear()

    def take(self, worker: str, count: int) -> list[int]:
        """Up to ``count`` items for ``worker``; empty only when no work is left anywhere.

        A batch runs on into the next whole units, but not into a piece split
        off for another worker; stealing happens only when the worker would
        otherwise get nothing: it is a tail measure.
        """
        reservation = self._reserved[worker]
        batch: list[int] = []
        while len(batch) < count:
            if not reservation:
                if batch and (self.in_tail or not self._fits(count - len(batch))):
                    break
                reservation.extend(self._reserve() or ([] if batch else self._steal(worker)))
                if not reservation:
                    break
            batch.append(reservation.popleft())
        return batch

    def take_successor(self, worker: str) -> list[int]:
        """One item to follow what ``worker`` holds, when it holds a single item.

        pytest must know the next item before it runs one, but a worker given
        one long unit must not get the next long unit just to know its
        successor: the successor comes from its own reservation, else from the
        *last* unit of the plan, the smallest.
        """
        reservation = self._reserved[worker]
        if not reservation:
            for position in range(len(self._groups) - 1, -1, -1):
                group = self._groups[position]
                if group.items[0] not in self._lanes:
                    del self._groups[position]
                    self._queued_weight -= self._weight(group.items)
                    reservation.extend(group.items)
                    break
            else:
                return self.take(worker, 1)
        return [reservation.popleft()] if reservation else []

    def _fits(self, room: int) -> bool:
        """Whether the next unit is no more work than ``room`` items of mean weight.

        A batch runs on into the next unit only then: it fills a batch with
        small modules, but never takes a large unit meant for another worker.
        """
        return self._weight(self._groups[0].items) <= room * self._mean_weight

    def _weight(self, items: Iterable[int]) -> float:
        if self._weights is None:
            return float(sum(1 for _ in items))
        return sum(self._weights.get(i, 0.0) for i in items)

    def _reserve(self) -> list[int]:
        if not self._groups:
            return []
        head = self._groups.popleft()
        group = head.items
        if head.piece or group[0] in self._lanes:  # a fair share already, or a lane
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
            self._groups.appendleft(_Group(piece, piece=True))
            self._queued_weight += self._weight(piece)
        return pieces[0]

    def _steal(self, thief: str) -> list[int]:
        def stealable(items: Iterable[int]) -> list[int]:
            return [i for i in items if i not in self._lanes]

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
