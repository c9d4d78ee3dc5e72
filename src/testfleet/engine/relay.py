"""Re-emit what workers report through the controller's pytest hooks.

Each item's events arrive in the order they happened in the worker and are
replayed in that order through the item's own hook proxy (so conftest-scoped
hook implementations see them as in a serial run).  The terminal reporter,
junitxml and every other plugin in the controller then just work, and do
their work once.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

import pytest

from testfleet.engine.messages import Ended, Event, Reported, Started, Warned

if TYPE_CHECKING:
    from collections.abc import Callable

    from _pytest.terminal import TerminalReporter


@dataclass
class WorkerNode:
    """A finished worker as ``pytest_testnodedown`` sees it: the parts of
    pytest-xdist's ``WorkerController`` that plugins read."""

    config: pytest.Config
    workerinput: dict[str, Any]
    workeroutput: dict[str, Any]
    gateway: SimpleNamespace
    shutting_down: bool = field(default=True)


class HookRelay:
    """The controller's :class:`~testfleet.engine.controller.Sink`: a pytest session."""

    def __init__(
        self,
        session: pytest.Session,
        worker_of: dict[str, str],
        worker_input: Callable[[str], dict[str, Any]],
        *,
        node_down_excluded: Sequence[object] = (),
        usage_of: dict[str, tuple[float, int | None]] | None = None,
        outputs: list[dict[str, Any]] | None = None,
    ) -> None:
        self._session = session
        self._worker_input = worker_input
        #: Plugins whose ``pytest_testnodedown`` is meant for pytest-xdist's
        #: own engines only (pytest-cov's), and is not called.
        self._node_down_excluded = list(node_down_excluded)
        self._config = session.config
        self._items = session.items
        #: Which worker ran each node id (the history records it).
        self._worker_of = worker_of
        #: Each node id's CPU seconds and peak RSS, as its worker measured them.
        self._usage_of = usage_of
        #: Every finished worker's ``workeroutput``, in the order they ended.
        self._outputs = outputs
        #: ``(shouldfail, shouldstop)`` when the session first asked to stop:
        #: what the run says it stopped for, whatever finished after that.
        self.stopped_for: tuple[str | bool, str | bool] | None = None
        #: The item reported last: a teardown after the run is reported against it.
        self.last_item: pytest.Item | None = None

    def describe(self, index: int) -> str:
        """The node id of item ``index``, for messages."""
        return self._items[index].nodeid

    def item_done(
        self, index: int, events: Sequence[Event], worker: str, attempts: int = 1
    ) -> None:
        """Replay the events of item ``index``, which ``worker`` ran (``attempts`` times:
        each report says so when it ran more than once)."""
        item = self._items[index]
        self._worker_of[item.nodeid] = worker
        self.last_item = item
        self._replay(item, events, attempts)

    def _replay(self, item: pytest.Item | None, events: Sequence[Event], attempts: int = 1) -> None:
        hook = self._config.hook
        if item is None:  # events of no item: only warnings
            for event in events:
                if isinstance(event, Warned):
                    hook.pytest_warning_recorded.call_historic(kwargs=deserialize_warning(event))
            return
        ihook = item.ihook
        nodeid = item.nodeid
        # Where the worker said the test is; the controller works it out only
        # for events that came without their start (a late teardown).
        location: tuple[str, int | None, str] | None = None
        for event in events:
            match event:
                case Started():
                    location = event.location
                    ihook.pytest_runtest_logstart(nodeid=nodeid, location=location)
                case Reported():
                    data = event.data
                    if attempts > 1:
                        data = {**data, "testfleet_attempts": attempts}
                    report = hook.pytest_report_from_serializable(
                        config=self._config, data=restore_tuples(data)
                    )
                    ihook.pytest_runtest_logreport(report=report)
                case Ended():
                    if event.cpu is not None and self._usage_of is not None:
                        self._usage_of[nodeid] = (event.cpu, event.peak)
                    ihook.pytest_runtest_logfinish(
                        nodeid=nodeid, location=location or item.location
                    )
                case Warned():
                    hook.pytest_warning_recorded.call_historic(kwargs=deserialize_warning(event))

    def item_lost(self, index: int, reason: str, worker: str, duration: float) -> None:
        """Report item ``index`` failed: ``worker`` died or was killed under it after
        ``duration`` seconds (the report says so: the history learns what it cost)."""
        item = self._items[index]
        self._worker_of[item.nodeid] = worker
        self.last_item = item
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        keywords: dict[str, Literal[1]] = dict.fromkeys(item.keywords, 1)
        stop = time.time()
        failed = pytest.TestReport(
            item.nodeid,
            item.location,
            keywords,
            "failed",
            reason,
            "call",
            duration=duration,
            start=stop - duration,
            stop=stop,
        )
        closed = pytest.TestReport(
            item.nodeid, item.location, keywords, "passed", None, "teardown", start=stop, stop=stop
        )
        for report in (failed, closed):
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def interrupt(self, kind: str, message: str, returncode: int | None) -> None:
        """Raise in the controller what the test raised in its worker."""
        if kind == "exit":
            raise pytest.exit.Exception(message, returncode)
        raise KeyboardInterrupt

    def worker_finished(self, worker: str, output: dict[str, Any], events: Sequence[Event]) -> None:
        """``worker`` ended its session: show its late warnings, hand its output on.

        Plugins written for pytest-xdist read a worker's ``config.workeroutput``
        in ``pytest_testnodedown(node, error)``, a hook that exists when xdist
        is installed; it is called with a node that looks like xdist's.
        """
        self._replay(None, events)
        if self._outputs is not None:
            self._outputs.append(output)
        hook = getattr(self._config.hook, "pytest_testnodedown", None)
        if hook is None:
            return
        node = WorkerNode(
            config=self._config,
            workerinput=self._worker_input(worker),
            workeroutput=output,
            gateway=SimpleNamespace(id=worker),
        )
        if self._node_down_excluded:
            hook = self._config.pluginmanager.subset_hook_caller(
                "pytest_testnodedown", self._node_down_excluded
            )
        hook(node=node, error=None)

    def ask_stop(self, shouldfail: str | bool, shouldstop: str | bool) -> None:
        """Take over a stop a plugin asked for in a worker (the first reason stays)."""
        self._session.shouldfail = self._session.shouldfail or shouldfail
        self._session.shouldstop = self._session.shouldstop or shouldstop

    def should_stop(self) -> bool:
        """Whether ``-x``/``--maxfail`` (or a plugin) asked the session to stop."""
        session = self._session
        if self.stopped_for is None and (session.shouldfail or session.shouldstop):
            self.stopped_for = (session.shouldfail, session.shouldstop)
        return self.stopped_for is not None

    def note(self, text: str) -> None:
        """Write a line for the user, as pytest writes its own notes."""
        reporter: TerminalReporter | None = self._config.pluginmanager.get_plugin(
            "terminalreporter"
        )
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(text, yellow=True, bold=True)
        else:
            sys.stderr.write(text + "\n")


def restore_tuples(data: dict[str, Any]) -> dict[str, Any]:
    """Give back the tuples JSON turned into lists in a serialised report.

    pytest's own reporters rely on them: a skip's ``longrepr`` must be a
    ``(path, lineno, reason)`` tuple, a ``location`` a tuple.
    """
    for key in ("location", "longrepr"):
        if isinstance(data.get(key), list):
            data[key] = tuple(data[key])
    for key in ("sections", "user_properties"):
        if key in data:
            data[key] = [tuple(pair) for pair in data[key]]
    return data


def deserialize_warning(warned: Warned) -> dict[str, Any]:
    """The keyword arguments of ``pytest_warning_recorded`` for a relayed warning.

    The category is looked up only among modules the controller has imported
    already: a message never makes the controller import anything.
    """
    category = _lookup_category(warned.category)
    try:
        message: Warning = category(warned.message)
    except Exception:
        category, message = UserWarning, UserWarning(warned.message)
    return {
        "warning_message": warnings.WarningMessage(
            message=message,
            category=category,
            filename=warned.filename,
            lineno=warned.lineno,
            line=warned.line,
        ),
        "when": warned.when,
        "nodeid": warned.nodeid,
        "location": warned.location,
    }


def _lookup_category(name: str) -> type[Warning]:
    module_name, _, qualname = name.partition(":")
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if isinstance(found, type) and issubclass(found, Warning):
        return found
    return UserWarning
