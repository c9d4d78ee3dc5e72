"""Re-emit what workers report through the controller's pytest hooks.

Each item's events arrive in the order they happened in the worker and are
replayed in that order through the item's own hook proxy (so conftest-scoped
hook implementations see them as in a serial run).  The terminal reporter,
junitxml and every other plugin in the controller then just work, and do
their work once.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from testfleet.engine.messages import Event

if TYPE_CHECKING:
    from _pytest.terminal import TerminalReporter


class HookRelay:
    """The controller's :class:`~testfleet.engine.controller.Sink`: a pytest session."""

    def __init__(self, session: pytest.Session, worker_of: dict[str, str]) -> None:
        self._session = session
        self._config = session.config
        self._items = session.items
        #: Which worker ran each node id (the history records it).
        self._worker_of = worker_of

    def describe(self, index: int) -> str:
        """The node id of item ``index``, for messages."""
        return self._items[index].nodeid

    def item_done(self, index: int, events: Sequence[Event], worker: str) -> None:
        """Replay the events of item ``index``, which ``worker`` ran."""
        item = self._items[index]
        self._worker_of[item.nodeid] = worker
        hook = self._config.hook
        ihook = item.ihook
        for event in events:
            match event:
                case ["start"]:
                    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
                case ["report", data]:
                    report = hook.pytest_report_from_serializable(
                        config=self._config, data=restore_tuples(data)
                    )
                    ihook.pytest_runtest_logreport(report=report)
                case ["finish"]:
                    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
                case ["warning", data]:
                    hook.pytest_warning_recorded.call_historic(kwargs=deserialize_warning(data))

    def item_lost(self, index: int, reason: str, worker: str) -> None:
        """Report item ``index`` failed: ``worker`` died or was killed under it."""
        item = self._items[index]
        self._worker_of[item.nodeid] = worker
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        keywords = {name: 1 for name in item.keywords}
        failed = pytest.TestReport(item.nodeid, item.location, keywords, "failed", reason, "call")
        closed = pytest.TestReport(item.nodeid, item.location, keywords, "passed", None, "teardown")
        for report in (failed, closed):
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def interrupt(self, kind: str, message: str, returncode: int | None) -> None:
        """Raise in the controller what the test raised in its worker."""
        if kind == "exit":
            raise pytest.exit.Exception(message, returncode)
        raise KeyboardInterrupt

    def should_stop(self) -> bool:
        """Whether ``-x``/``--maxfail`` (or a plugin) asked the session to stop."""
        return bool(self._session.shouldfail or self._session.shouldstop)

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


def deserialize_warning(data: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``pytest_warning_recorded`` for a relayed warning.

    The category is looked up only among modules the controller has imported
    already: a message never makes the controller import anything.
    """
    category = _lookup_category(str(data["category"]))
    try:
        message: Warning = category(data["message"])
    except Exception:
        category, message = UserWarning, UserWarning(data["message"])
    location = data.get("location")
    return {
        "warning_message": warnings.WarningMessage(
            message=message,
            category=category,
            filename=data["filename"],
            lineno=data["lineno"],
            line=data.get("line"),
        ),
        "when": data["when"],
        "nodeid": data["nodeid"],
        "location": tuple(location) if location is not None else None,
    }


def _lookup_category(name: str) -> type[Warning]:
    module_name, _, qualname = name.partition(":")
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if isinstance(found, type) and issubclass(found, Warning):
        return found
    return UserWarning
