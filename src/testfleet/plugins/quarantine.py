"""The quarantine plugin: a quarantined test runs, and its failure does not fail the run.

A failed report of a quarantined test is turned, in the process that ran it,
into what pytest knows as an expected failure (outcome ``skipped`` with
``wasxfail``), so that neither the exit code, ``-x`` nor ``--maxfail`` count
it and JUnit XML shows it as skipped with the reason; it keeps its traceback,
and the terminal shows it as ``QUARANTINED`` (``Q``) and names it at the end
with its error.  The history records it as failed, marked quarantined.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from testfleet.categories.quarantine import is_quarantined
from testfleet.plugins.keys import QUARANTINE

#: The attribute a quarantined failure carries: "failed" or "error".
MARK = "testfleet_quarantined"


def register(config: pytest.Config) -> None:
    """Read the quarantine (a broken setting is a usage error) and register the plugin."""
    from testfleet.categories import CategoryConfigError
    from testfleet.categories.quarantine import load_quarantine

    try:
        names = load_quarantine(config.rootpath)
    except CategoryConfigError as exc:
        raise pytest.UsageError(f"testfleet: {exc}") from None
    if names:
        config.stash[QUARANTINE] = names
        config.pluginmanager.register(QuarantinePlugin(names), "testfleet-quarantine")


class QuarantinePlugin:
    """Reports a quarantined test's failure without failing the run."""

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names
        #: Node id -> what happened to it, in the order they reported (controller).
        self._seen: dict[str, str] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed and is_quarantined(item.nodeid, self._names):
            setattr(report, MARK, "failed" if report.when == "call" else "error")
            crash = getattr(report.longrepr, "reprcrash", None)
            message = getattr(crash, "message", None) or report.when
            report.outcome = "skipped"
            report.wasxfail = f"quarantined: {message.splitlines()[0] if message else ''}"
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        if getattr(report, MARK, None):
            return "quarantined", "Q", ("QUARANTINED", {"yellow": True})
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not is_quarantined(report.nodeid, self._names):
            return
        marked = getattr(report, MARK, None)
        if marked:
            reason = str(getattr(report, "wasxfail", "")).removeprefix("quarantined: ")
            self._seen[report.nodeid] = f"{marked} in {report.when}: {reason}"
        elif report.when == "call" or report.nodeid not in self._seen:
            self._seen.setdefault(report.nodeid, report.outcome)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        from testfleet.reporting.summary import quarantined_tests

        for line in quarantined_tests(list(self._seen.items())):
            terminalreporter.write_line(line, yellow=True)
