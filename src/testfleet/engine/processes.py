"""Worker processes forked after collection, and the controller's event loop.

The controller is a single thread around one selector: it forks a worker (a
first one or a replacement) at any moment, which is only safe in a process that
has started no threads.  Each worker has two pipes: control messages in,
results out.  Writes to a worker never block the loop: they wait in a buffer
until the pipe takes them.

Each worker leads a process group of its own, so that a signal reaches what
its tests started too (a server a fixture runs), and the terminal's Ctrl-C
reaches the controller alone, which then stops the workers.  SIGTERM and
SIGHUP (what a CI runner sends when a job is cancelled) stop a run as Ctrl-C
does.  A second one while the workers are being stopped kills them at once;
they are reaped whatever happens.
"""

from __future__ import annotations

import contextlib
import gc
import os
import selectors
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import NoReturn, Protocol

from testfleet.engine.controller import Controller, WorkSource
from testfleet.engine.messages import (
    FrameReader,
    ToController,
    ToWorker,
    decode_to_controller,
    encode,
)
from testfleet.model import WorkerExit

#: The body of a worker: (name, initial item indices, inbox fd, outbox fd).
WorkerMain = Callable[[str, Sequence[int], int, int], NoReturn]

#: How often the loop looks for workers that died with their pipe held open
#: (by a grandchild process that inherited it).
_REAP_INTERVAL = 0.2
#: How often the loop looks again for a worker that closed its pipes but has
#: not exited yet (it tears its session down): the loop never waits for one, so
#: that a fleet node's heartbeat goes on meanwhile.
_EXIT_POLL = 0.01
#: How long the controller lets results accumulate after handling some.
_COALESCE = 0.002
#: How long workers get to tear down after Ctrl-C before they are killed.
_INTERRUPT_GRACE = 5.0
#: Signals that stop a run.  They are held back across a fork, so that the
#: child never handles one with the controller's handlers and stack.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: The exit code of a child that went wrong before it became a worker.
_EARLY_EXIT = 70
#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """The controller was sent SIGTERM or SIGHUP: the run stops as on Ctrl-C."""


def other_threads() -> list[str]:
    """Names of the threads running beside this one.

    ``fork`` copies only the calling thread: a lock another thread held stays
    locked forever in the child, so no worker may be forked while one runs.
    """
    if "threading" not in sys.modules:
        return []
    current = threading.current_thread()
    return [t.name for t in threading.enumerate() if t is not current and t.is_alive()]


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"{signal.Signals(signum).name} received")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold the stop signals back for the duration (delivered when released)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _become_worker(parent: int) -> None:
    """In a fresh child, with the stop signals held: take the handlers of a worker.

    SIGINT, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` in a worker, which
    tears its fixtures down and ends its session.  On Linux the worker is sent
    SIGTERM when the controller dies, so it never outlives it by more than
    its teardown.
    """
    os.setpgid(0, 0)
    for signum in _STOP_SIGNALS:
        signal.signal(signum, signal.default_int_handler)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the controller died before that took effect
        os._exit(_EARLY_EXIT)


class Ticker(Protocol):
    """Something the loop calls on time, between events (resource sampling)."""

    def tick(self, now: float) -> None:
        """Do what is due at clock reading ``now``."""

    def next_deadline(self) -> float | None:
        """The clock reading at which :meth:`tick` has something to do."""


@dataclass
class _Process:
    pid: int
    inbox: int  # our write end of the worker's control pipe
    outbox: int  # our read end of the worker's result pipe
    reader: FrameReader[ToController] = field(
        default_factory=lambda: FrameReader(decode_to_controller)
    )
    pending: bytearray = field(default_factory=bytearray)
    eof: bool = False


class ForkedFleet:
    """Starts workers with ``os.fork`` and carries messages over pipes."""

    def __init__(self, main: WorkerMain) -> None:
        self._main = main
        self._processes: dict[str, _Process] = {}
        self._selector = selectors.DefaultSelector()
        #: Messages read from the pipes and not yet given to the controller.
        self._received: list[tuple[str, ToController]] = []

    # -- the Fleet interface -------------------------------------------------

    def spawn(self, worker: str, initial: Sequence[int]) -> None:
        """Fork ``worker``; it starts with ``initial`` in its queue."""
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        # Whatever is buffered would be written twice, once by each process.
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        # Objects that exist now are shared with the child copy-on-write; a
        # collection in the child would touch (and so copy) all of them.  The
        # controller keeps them frozen too, and this loop never thaws them:
        # they are the session's (every item, every fixture definition) and
        # live as long as it, and a full collection that walked them all again
        # would cost the controller a tenth of a second each time it came round
        # (pytest itself collects twice as its session ends).  Whoever owns the
        # session calls ``gc.unfreeze()`` once it is over.
        gc.freeze()
        parent = os.getpid()
        with _signals_held(), warnings.catch_warnings():
            # Python 3.12+ warns when it counts more than one thread of the
            # OS.  Python threads were refused before the first fork
            # (other_threads); what it counts then are the pools of native
            # libraries (BLAS, OpenMP), which prepare for fork themselves.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
            if pid == 0:  # the worker: it leaves through os._exit, never returns
                try:
                    _become_worker(parent)
                    os.close(to_worker_w)
                    os.close(from_worker_r)
                    for other in self._processes.values():
                        os.close(other.inbox)
                        os.close(other.outbox)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
                    self._main(worker, initial, to_worker_r, from_worker_w)
                finally:
                    os._exit(_EARLY_EXIT)
            # Both sides set the group: whichever runs first, a kill that
            # follows reaches the whole group.
            with contextlib.suppress(OSError):
                os.setpgid(pid, pid)
            # Known before a held signal is let through, so a shutdown it
            # starts stops this worker too.
            self._processes[worker] = _Process(pid, to_worker_w, from_worker_r)
        os.close(to_worker_r)
        os.close(from_worker_w)
        os.set_blocking(to_worker_w, False)
        self._selector.register(from_worker_r, selectors.EVENT_READ, worker)

    def send(self, worker: str, message: ToWorker) -> None:
        """Queue ``message`` for ``worker`` and write as much as the pipe takes."""
        process = self._processes[worker]
        process.pending += encode(message)
        self._flush(worker, process)

    def kill(self, worker: str) -> None:
        """Send SIGKILL to ``worker`` and every process its tests started."""
        _signal_group(self._processes[worker].pid, signal.SIGKILL)

    def pids(self) -> dict[str, int]:
        """The process id of every worker not reaped yet, by name."""
        return {name: process.pid for name, process in self._processes.items()}

    # -- the loop --------------------------------------------------------------

    def run(
        self,
        controller: Controller,
        clock: Callable[[], float] = time.monotonic,
        source: WorkSource | None = None,
        monitor: Ticker | None = None,
    ) -> None:
        """Drive ``controller`` until every worker has ended (and ``source``, when
        work comes from one, has no more to give).

        On any exception (Ctrl-C included) the workers are interrupted, given a
        moment to tear down, killed if they do not, and reaped; then the
        exception goes on to pytest, which reports it as in a serial run.
        ``monitor``, when given, is ticked from this loop too (resource sampling).
        """
        previous = {
            signum: signal.signal(signum, _raise_terminated)
            for signum in (signal.SIGTERM, signal.SIGHUP)
        }
        try:
            controller.start()
            last_reap = clock()
            while not controller.done or (source is not None and not source.finished):
                deadlines = [controller.next_deadline()]
                if source is not None:
                    deadlines.append(source.next_deadline())
                if monitor is not None:
                    deadlines.append(monitor.next_deadline())
                timeout = _EXIT_POLL if self._any_eof() else _REAP_INTERVAL
                for deadline in deadlines:
                    if deadline is not None:
                        timeout = max(0.0, min(timeout, deadline - clock()))
                if self._poll(timeout):
                    self._deliver(controller)
                    # Let results pile up in the pipes for a moment: one wake-up
                    # per few results, not one per result, leaves the CPUs to
                    # the workers.  Their queues cover far more than this.
                    time.sleep(_COALESCE)
                now = clock()
                if now - last_reap >= _REAP_INTERVAL or self._any_eof():
                    last_reap = now
                    exits = self._reap()
                    # A worker's last messages come before the news of its end.
                    self._deliver(controller)
                    for worker, exit in exits:
                        controller.on_exit(worker, exit)
                controller.on_tick()
                if source is not None:
                    source.tick(clock())
                if monitor is not None:
                    monitor.tick(clock())
        except BaseException:
            self._shutdown()
            raise
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._selector.close()

    def _deliver(self, controller: Controller) -> None:
        received, self._received = self._received, []
        for worker, message in received:
            controller.on_message(worker, message)

    def _poll(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the pipes; whether any message came in."""
        for key, mask in self._selector.select(timeout):
            worker = key.data
            process = self._processes[worker]
            if mask & selectors.EVENT_WRITE:
                self._flush(worker, process)
            if mask & selectors.EVENT_READ:
                self._read(worker, process)
        return bool(self._received)

    def _read(self, worker: str, process: _Process) -> bool:
        """Read one chunk from ``worker``; whether there was anything to read."""
        try:
            chunk = os.read(process.outbox, 1 << 16)
        except BlockingIOError:
            return False
        if not chunk:
            process.eof = True
            with contextlib.suppress(KeyError):
                self._selector.unregister(process.outbox)
            return False
        for message in process.reader.feed(chunk):
            self._received.append((worker, message))
        return True

    def _flush(self, worker: str, process: _Process) -> None:
        written = 0
        try:
            if process.pending:
                written = os.write(process.inbox, process.pending)
        except BlockingIOError:
            pass
        except BrokenPipeError:
            # The worker is gone; its exit is reported when it is reaped.
            process.pending.clear()
        del process.pending[:written]
        watching = process.inbox in self._selector.get_map()
        if process.pending and not watching:
            self._selector.register(process.inbox, selectors.EVENT_WRITE, worker)
        elif not process.pending and watching:
            self._selector.unregister(process.inbox)

    def _any_eof(self) -> bool:
        return any(p.eof for p in self._processes.values())

    def _reap(self) -> list[tuple[str, WorkerExit]]:
        ended: list[tuple[str, WorkerExit]] = []
        for worker, process in list(self._processes.items()):
            pid, status = os.waitpid(process.pid, os.WNOHANG)
            if pid == 0:
                continue
            # Read what it wrote before it ended; a grandchild may hold the
            # pipe open, so read only what is there.
            os.set_blocking(process.outbox, False)
            while not process.eof and self._read(worker, process):
                pass
            self._forget(process)
            del self._processes[worker]
            ended.append((worker, WorkerExit.from_wait_status(status)))
        return ended

    def _forget(self, process: _Process) -> None:
        for fd in (process.inbox, process.outbox):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    def _shutdown(self) -> None:
        """Interrupt every worker, wait a little for teardown, then kill and reap.

        Another Ctrl-C, SIGTERM or SIGHUP meanwhile cuts the wait short: the
        workers are killed at once, and reaped all the same.  Whatever a
        worker's tests started and left behind is killed with its group.
        """
        escalated: list[int] = []

        def escalate(signum: int, frame: FrameType | None) -> None:
            escalated.append(signum)

        previous = {signum: signal.signal(signum, escalate) for signum in _STOP_SIGNALS}
        groups = [process.pid for process in self._processes.values()]
        try:
            for pid in groups:
                _signal_group(pid, signal.SIGINT)
            deadline = time.monotonic() + _INTERRUPT_GRACE
            while self._processes and not escalated and time.monotonic() < deadline:
                for worker, process in list(self._processes.items()):
                    pid, _ = os.waitpid(process.pid, os.WNOHANG)
                    if pid:
                        self._forget(process)
                        del self._processes[worker]
                time.sleep(0.01)
        finally:
            for pid in groups:
                _signal_group(pid, signal.SIGKILL)
            for process in self._processes.values():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(process.pid, 0)
                self._forget(process)
            self._processes.clear()
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group that worker ``pid`` leads.

    The group outlives its leader while anything it started runs, and its
    number is not given to another process meanwhile.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
