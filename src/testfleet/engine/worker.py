"""The worker: runs items with pytest's own runtest protocol in a forked child.

A worker is forked from the controller after collection, so it holds the
collected session already: it imports nothing and collects nothing.  It runs
``pytest_runtest_protocol`` for each item it is sent, with the right
``nextitem`` so fixtures of every scope are set up and torn down as in a serial
run, and sends each item's reports and warnings to the controller as plain
data.  Its own reporting hooks (terminal, junitxml, any plugin's) never run:
the controller re-emits everything, once, in one process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import pytest

from testfleet.engine.channel import ControllerGone, ControllerSlots, Inbox, Outbox
from testfleet.engine.messages import (
    Ended,
    Event,
    Finish,
    Interrupted,
    ItemDone,
    Reported,
    RunItems,
    Started,
    Stop,
    StopAsked,
    ToWorker,
    Warned,
    WorkerError,
    WorkerFinished,
)
from testfleet.engine.threads import limit_threads

if TYPE_CHECKING:
    from pluggy import HookImpl

#: The hooks whose calls a worker records and sends instead of running them.
RELAYED_HOOKS = frozenset(
    {
        "pytest_runtest_logstart",
        "pytest_runtest_logreport",
        "pytest_runtest_logfinish",
        "pytest_warning_recorded",
    }
)


def _nothing(config: pytest.Config) -> None:
    """The default of :class:`WorkerSetup`'s plugin hooks: nothing to do."""


def _no_slots(slots: ControllerSlots) -> None:
    """The default of :attr:`WorkerSetup.connect`: ``testfleet.acquire`` stays in process."""


class Meter(Protocol):
    """Measures what each test costs the worker (``testfleet.monitoring.usage.UsageMeter``)."""

    def start(self) -> None:
        """A test begins."""

    def stop(self) -> tuple[float, int | None]:
        """The test ended: its CPU seconds and peak RSS in bytes (None: unknown)."""


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to know about itself and its run."""

    name: str
    count: int
    testrun_uid: str
    #: BLAS/OpenMP threads each worker may use.
    threads: int
    #: Called once the child is a worker, before its first test: the plugins
    #: layer quiets there what must happen in the controller alone.
    prepare: Callable[[pytest.Config], None] = _nothing
    #: Called after the worker's ``pytest_unconfigure``: what must outlive the
    #: worker (coverage data) is saved there.
    finish: Callable[[pytest.Config], None] = _nothing
    #: Called with the worker's way to the run's resource slots, before its
    #: first test: ``testfleet.acquire`` asks the controller from then on.
    connect: Callable[[ControllerSlots], None] = _no_slots
    #: Measures each test's CPU and memory; its figures travel on the test's ``Ended`` event.
    meter: Meter | None = None


#: What a worker's session says when the controller told it to stop.
_STOPPING = "testfleet: the run is stopping"


class Recorder:
    """Records the reporting hooks of the running item instead of running them."""

    def __init__(
        self, config: pytest.Config, after_report: Callable[[], None], meter: Meter | None = None
    ) -> None:
        self._config = config
        self._after_report = after_report
        self._meter = meter
        self._pid = os.getpid()
        self.events: list[Event] = []
        #: Failed reports so far: the worker's own exit status says whether any.
        self.failures = 0

    def install(self) -> None:
        """Route the relayed hooks of this process to :meth:`record`.

        pluggy calls every hook through ``PluginManager._inner_hookexec`` (the
        point its own ``add_hookcall_monitoring`` wraps); wrapping it is the one
        way to divert a hook from *every* implementation, including those of
        conftest files and plugins registered later, without unregistering
        plugins that also do needed work during the run.
        """
        pm = self._config.pluginmanager
        inner = pm._inner_hookexec

        def hookexec(
            hook_name: str,
            hook_impls: Sequence[HookImpl],
            caller_kwargs: Mapping[str, object],
            firstresult: bool,
        ) -> object:
            __tracebackhide__ = True  # a test's traceback shows its code, not this
            if hook_name in RELAYED_HOOKS:
                self.record(hook_name, dict(caller_kwargs))
                return None if firstresult else []
            return inner(hook_name, hook_impls, caller_kwargs, firstresult)

        pm._inner_hookexec = hookexec

    def record(self, name: str, kwargs: dict[str, Any]) -> None:
        """Keep one relayed hook call as an event."""
        leave_if_forked(self._pid)
        if name == "pytest_runtest_logreport":
            report = kwargs["report"]
            if report.failed:
                self.failures += 1
            data = self._config.hook.pytest_report_to_serializable(
                config=self._config, report=report
            )
            self.events.append(Reported(data))
            if report.when == "call" or (report.when == "setup" and not report.passed):
                # Right before pytest decides how far to tear down: the moment a
                # stop from the controller still makes this item's teardown full.
                self._after_report()
        elif name == "pytest_warning_recorded":
            self.events.append(serialize_warning(**kwargs))
        elif name == "pytest_runtest_logstart":
            # The location travels with the test: the controller then need
            # not work it out again (``item.location`` reads the source).
            self.events.append(Started(kwargs["location"]))
            if self._meter is not None:
                self._meter.start()
        elif self._meter is not None:
            self.events.append(Ended(*self._meter.stop()))
        else:
            self.events.append(Ended())

    def take(self) -> tuple[Event, ...]:
        """The events recorded since the last call."""
        events, self.events = tuple(self.events), []
        return events


def leave_if_forked(pid: int) -> None:
    """End this process unless it is the worker ``pid``.

    A process that a test forked and that came back into pytest (it raised,
    or returned, instead of exiting) is not the worker: it must report
    nothing, tear nothing down and run no other test.
    """
    if os.getpid() != pid:
        os._exit(1)


def serialize_warning(
    warning_message: warnings.WarningMessage,
    when: str,
    nodeid: str,
    location: tuple[str, int, str] | None,
) -> Warned:
    """A recorded warning as plain data (see ``relay.deserialize_warning``)."""
    category = warning_message.category
    return Warned(
        message=str(warning_message.message),
        category=f"{category.__module__}:{category.__qualname__}",
        filename=warning_message.filename,
        lineno=warning_message.lineno,
        line=warning_message.line,
        when=when,
        nodeid=nodeid,
        location=location,
    )


class WorkerLoop:
    """Runs the items the controller sends, until told to finish or stop."""

    def __init__(
        self,
        session: pytest.Session,
        initial: Sequence[int],
        inbox: Inbox,
        outbox: Outbox,
        meter: Meter | None = None,
    ) -> None:
        self._session = session
        self._items = session.items
        self._queue = deque(initial)
        self._inbox = inbox
        self._outbox = outbox
        self._finishing = False
        self._stopping = False
        self._pid = os.getpid()
        #: Whether a test ended the run (``pytest.exit``, ``KeyboardInterrupt``).
        self.interrupted = False
        self.recorder = Recorder(session.config, after_report=self._check_stop, meter=meter)

    def run(self) -> None:
        """Run items until the work is done or the controller says stop."""
        last: int | None = None  # an item whose teardown kept fixtures for the next
        while True:
            self._absorb(self._inbox.poll())
            if self._stopping:
                break
            # pytest must know the next item before it runs one: it decides
            # which fixtures to keep.  Wait for work, or for word that none comes.
            if len(self._queue) < 2 and not self._finishing:
                self._absorb(self._inbox.wait())
                continue
            if not self._queue:
                break
            index = self._queue.popleft()
            nextitem = self._items[self._queue[0]] if self._queue else None
            item = self._items[index]
            try:
                item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            except (KeyboardInterrupt, pytest.exit.Exception) as exc:
                leave_if_forked(self._pid)
                self._interrupted(index, exc)
                return
            leave_if_forked(self._pid)
            self._outbox.send(ItemDone(index, self.recorder.take()))
            last = index if nextitem is not None and not self._session.shouldstop else None
            asked = self._stop_asked()
            if asked is not None:
                # As pytest's own loop would, stop after this item; the
                # controller stops the others.
                self._outbox.send(asked)
                last = index if nextitem is not None else None
                break
        if last is not None:
            self._teardown_after(last)

    def _teardown_after(self, index: int) -> None:
        """Tear down what the last item kept for a successor that will not run.

        Its teardown phase is over (plugins have cleaned up after it), so only
        the fixtures are torn down here; an error is reported against it, late,
        as pytest would have reported it in that teardown.
        """
        item = self._items[index]
        call = pytest.CallInfo.from_call(
            lambda: self._session._setupstate.teardown_exact(None), when="teardown"
        )
        if call.excinfo is None:
            return
        report = item.ihook.pytest_runtest_makereport(item=item, call=call)
        item.ihook.pytest_runtest_logreport(report=report)
        self._outbox.send(ItemDone(index, self.recorder.take(), late=True))

    def _interrupted(self, index: int, exc: BaseException) -> None:
        """A test ended the run (pytest.exit, KeyboardInterrupt): tell the controller."""
        self.interrupted = True
        # Tear down as pytest does at the end of an interrupted session.
        with contextlib.suppress(Exception):
            self._session._setupstate.teardown_exact(None)
        if isinstance(exc, pytest.exit.Exception):
            message = Interrupted(index, self.recorder.take(), "exit", exc.msg, exc.returncode)
        else:
            message = Interrupted(index, self.recorder.take(), "keyboard", "KeyboardInterrupt")
        self._outbox.send(message)

    def _stop_asked(self) -> StopAsked | None:
        """A stop a plugin asked for in this process, if any (not the controller's)."""
        shouldstop = self._session.shouldstop
        if shouldstop == _STOPPING:
            shouldstop = False
        if self._session.shouldfail or shouldstop:
            return StopAsked(self._session.shouldfail, shouldstop)
        return None

    def _check_stop(self) -> None:
        self._absorb(self._inbox.poll())

    def _absorb(self, messages: list[ToWorker]) -> None:
        for message in messages:
            match message:
                case RunItems(indices):
                    self._queue.extend(indices)
                case Finish():
                    self._finishing = True
                case Stop():
                    self._stopping = True
                    self._session.shouldstop = _STOPPING


def worker_input(setup: WorkerSetup) -> dict[str, Any]:
    """``config.workerinput`` of a worker, as pytest-xdist gives it to its own."""
    return {
        "workerid": setup.name,
        "workercount": setup.count,
        "testrunuid": setup.testrun_uid,
        "mainargv": list(sys.argv),
    }


def prepare_process(config: pytest.Config, setup: WorkerSetup) -> None:
    """Make a freshly forked child a worker of its own.

    What the child inherited from the controller and must not share with its
    siblings is replaced: standard input, the exit handlers (the controller's
    run in the controller), pytest's capture files, the base temporary
    directory and the size of BLAS/OpenMP thread pools.
    """
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # Handlers registered in this process from now on are the worker's own:
    # they run when it ends its session, as they would at the end of a serial run.
    atexit._clear()
    os.environ["PYTEST_XDIST_WORKER"] = setup.name
    os.environ["PYTEST_XDIST_WORKER_COUNT"] = str(setup.count)
    os.environ["PYTEST_XDIST_TESTRUNUID"] = setup.testrun_uid
    # Plugins written for pytest-xdist (pytest-django, for one) look here.
    config.workerinput = worker_input(setup)  # type: ignore[attr-defined]
    config.workeroutput = {}  # type: ignore[attr-defined]
    _own_capture(config)
    _own_basetemp(config, setup.name)
    limit_threads(setup.threads, os.environ)


def _own_capture(config: pytest.Config) -> None:
    # The controller's global capture writes to temporary files that every
    # forked child shares (one file offset): each worker needs files of its own.
    capman = config.pluginmanager.get_plugin("capturemanager")
    if capman is not None and capman.is_globally_capturing():
        capman.stop_global_capturing()
        capman.start_global_capturing()
        capman.suspend_global_capture()


def _own_basetemp(config: pytest.Config, name: str) -> None:
    # Each worker gets a directory of its own under the controller's basetemp,
    # which the controller created before forking and cleans up as usual.
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None and factory._basetemp is not None:
        factory._given_basetemp = factory._basetemp / name
        factory._basetemp = None


def run_worker(
    session: pytest.Session,
    setup: WorkerSetup,
    initial: Sequence[int],
    inbox_fd: int,
    outbox_fd: int,
) -> NoReturn:
    """The body of a forked worker process; it never returns.

    It runs the items it is sent, then ends its pytest session as a serial run
    does, whatever ended the work (a finish, a stop, Ctrl-C, a lost
    controller): session hooks, unconfigure, the exit handlers registered in
    the worker.  Only then does it leave, through ``os._exit``: the rest of the
    stack it inherited from the fork is the controller's.
    """
    config = session.config
    pid = os.getpid()
    # A process a test forks must not read or write the worker's pipes.
    os.register_at_fork(after_in_child=lambda: _disown(inbox_fd, outbox_fd))
    outbox = Outbox(outbox_fd)
    recorder: Recorder | None = None
    prepared = False
    status = pytest.ExitCode.OK
    code = 0
    try:
        prepare_process(config, setup)
        setup.prepare(config)
        prepared = True
        inbox = Inbox(inbox_fd)
        setup.connect(ControllerSlots(inbox, outbox))
        loop = WorkerLoop(session, initial, inbox, outbox, setup.meter)
        recorder = loop.recorder
        recorder.install()
        loop.run()
        if loop.interrupted:
            status = pytest.ExitCode.INTERRUPTED
    except ControllerGone:
        code = 1
    except KeyboardInterrupt:
        # Ctrl-C, SIGTERM or SIGHUP (passed on by the controller, or the
        # controller died): leave as pytest would, tearing fixtures down.
        with contextlib.suppress(Exception):
            session._setupstate.teardown_exact(None)
        code, status = 2, pytest.ExitCode.INTERRUPTED
    except BaseException:
        code = 3
        _send_error(outbox, f"testfleet internal error in worker {setup.name}")
    leave_if_forked(pid)
    if not prepared:
        # Stopped (Ctrl-C at once, say) before it became a worker: it ran
        # nothing, and its session is the controller's, plugins and all (the
        # history would be written from here): leave it alone.
        os._exit(code)
    if status == pytest.ExitCode.OK and recorder is not None and recorder.failures:
        status = pytest.ExitCode.TESTS_FAILED
    try:
        # A worker whose controller is gone has nobody to tell.
        reach = outbox if code != 1 else None
        if not _finish_session(session, setup, recorder, reach, status):
            code = code or 3
    except KeyboardInterrupt:
        code = code or 2
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)


def _finish_session(
    session: pytest.Session,
    setup: WorkerSetup,
    recorder: Recorder | None,
    outbox: Outbox | None,
    status: pytest.ExitCode,
) -> bool:
    """End the worker's pytest session; send the controller (through ``outbox``
    unless it is gone) its ``workeroutput``.

    Each step runs even when one before it failed, as pytest unconfigures
    after a failed ``pytest_sessionfinish``; a failure is sent to the
    controller, which shows it.  Whether every step succeeded.
    """
    config = session.config

    def report() -> None:
        if outbox is not None:
            # What is recorded once no test runs: the session's warnings.
            events = recorder.take() if recorder is not None else ()
            warned = tuple(event for event in events if isinstance(event, Warned))
            output = dict(getattr(config, "workeroutput", {}))
            outbox.send(WorkerFinished(output, warned))

    steps: tuple[Callable[[], object], ...] = (
        lambda: config.hook.pytest_sessionfinish(session=session, exitstatus=status),
        config._ensure_unconfigure,
        lambda: setup.finish(config),
        report,
        atexit._run_exitfuncs,
    )
    succeeded = True
    for step in steps:
        try:
            step()
        except Exception:
            succeeded = False
            if outbox is not None:
                _send_error(outbox, f"worker {setup.name} failed to end its pytest session")
    return succeeded


def _send_error(outbox: Outbox, headline: str) -> None:
    """Tell the controller what just went wrong, with the traceback being handled."""
    with contextlib.suppress(OSError):
        outbox.send(WorkerError(f"{headline}:\n{traceback.format_exc()}"))


def _disown(*fds: int) -> None:
    """In a process forked by a test: put ``/dev/null`` where the worker's pipes were.

    Closing them would let the numbers be reused for files the child opens;
    on ``/dev/null`` a read finds the end and a write goes nowhere.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)
