"""``testfleet.acquire``: one slot of a named resource, for code that cannot be marked.

Slots are held in two layers.  In the process, by thread: a thread that holds
a slot may take it again (re-entrant), and the other threads wait for it.  A
plain ``pytest`` run stops there, with the capacities of
``[tool.testfleet.resources]``.  A worker of a ``--workers`` run holds at most
one slot of each resource itself, and asks the controller for it when its
first thread takes it (:class:`Remote`): the controller counts it with the
slots of the tests marked ``@pytest.mark.resource``, across every worker, and
gives it back when the worker ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol


class AcquireTimeout(TimeoutError):
    """``testfleet.acquire`` waited ``timeout`` seconds; the message names the holders."""


AcquireTimeout.__module__ = "testfleet"  # as users import it, and as tracebacks name it


class Remote(Protocol):
    """The run's slots beyond this process (the controller of a ``--workers`` run)."""

    def take(self, name: str, timeout: float | None, holder: str) -> str | None:
        """Wait for a slot of ``name``; None once it is ours, or why it was refused."""

    def give_back(self, name: str) -> None:
        """The slot of ``name`` is free again."""


@dataclass
class _Held:
    """The threads of this process holding one resource."""

    #: Thread ident -> (how many times it took the slot, the test that took it first).
    threads: dict[int, tuple[int, str]] = field(default_factory=dict)


class ProcessSlots:
    """The slots of one process, by thread, optionally backed by a :class:`Remote`."""

    def __init__(self, capacity: Callable[[str], int], remote: Remote | None = None) -> None:
        self._capacity = capacity
        self._remote = remote
        self._changed = threading.Condition()
        self._held: dict[str, _Held] = {}

    def take(self, name: str, timeout: float | None) -> None:
        """Hold a slot of ``name`` in this thread; :class:`AcquireTimeout` after ``timeout``."""
        me = threading.get_ident()
        holder = current_test()
        deadline = None if timeout is None else time.monotonic() + timeout
        # A worker holds at most one slot of a resource, whatever the capacity.
        room = 1 if self._remote is not None else self._capacity(name)
        with self._changed:
            held = self._held.setdefault(name, _Held())
            if me in held.threads:
                count, first = held.threads[me]
                held.threads[me] = (count + 1, first)
                return
            while len(held.threads) >= room:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise AcquireTimeout(self._timeout_message(name, timeout, held))
                self._changed.wait(left)
            held.threads[me] = (1, holder)
            first_here = len(held.threads) == 1
        if self._remote is None or not first_here:
            return
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            refused = self._remote.take(name, left, holder)
        except BaseException:
            self._forget(name, me)
            raise
        if refused is not None:
            self._forget(name, me)
            raise AcquireTimeout(
                f'testfleet.acquire("{name}") timed out after {timeout:g}s {refused}'
            )

    def give_back(self, name: str) -> None:
        """This thread lets go of one hold of ``name``."""
        me = threading.get_ident()
        with self._changed:
            held = self._held.get(name)
            if held is None or me not in held.threads:
                return
            count, first = held.threads[me]
            if count > 1:
                held.threads[me] = (count - 1, first)
                return
        if self._remote is not None:
            self._remote.give_back(name)
        self._forget(name, me)

    def _forget(self, name: str, thread: int) -> None:
        with self._changed:
            held = self._held[name]
            del held.threads[thread]
            if not held.threads:
                del self._held[name]
            self._changed.notify_all()

    def _timeout_message(self, name: str, timeout: float | None, held: _Held) -> str:
        holders = "; ".join(f"{test} (pid {os.getpid()})" for _, test in held.threads.values())
        room = 1 if self._remote is not None else self._capacity(name)
        return (
            f'testfleet.acquire("{name}") timed out after {timeout:g}s '
            f"(capacity {room} in this process): held by {holders}"
        )


def current_test() -> str:
    """The test running in this process, as pytest announces it, for messages."""
    running = os.environ.get("PYTEST_CURRENT_TEST")
    if not running:
        return "code outside a test"
    return running.rsplit(" (", 1)[0]


def _one_each(name: str) -> int:
    return 1


#: The process's slots: one element, replaced by :func:`use`.
_CURRENT = [ProcessSlots(_one_each)]


def use(slots: ProcessSlots) -> None:
    """Make ``slots`` the process's slots (the plugin does, when a run starts)."""
    _CURRENT[0] = slots


@contextlib.contextmanager
def acquire(name: str, timeout: float | None = None) -> Iterator[None]:
    """Hold one slot of resource ``name`` for the ``with`` block.

    Across every worker of a ``--workers`` run, together with the tests
    marked ``@pytest.mark.resource(name)``, and in the process in a plain
    run; at most the resource's capacity at once.  Waits as long as needed,
    or ``timeout`` seconds and then raises :class:`AcquireTimeout` naming the
    tests that hold it.  A worker that dies gives back what it held.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"testfleet.acquire: the resource name must be a non-empty str: {name!r}")
    if timeout is not None and not timeout >= 0:
        raise ValueError(f"testfleet.acquire: timeout must be >= 0 seconds or None: {timeout!r}")
    slots = _CURRENT[0]
    slots.take(name, timeout)
    try:
        yield
    finally:
        slots.give_back(name)
