"""Unit tests of the recorder's translation of pytest reports into outcomes and results."""

from __future__ import annotations

import pytest

from testfleet.history.outcomes import Phases
from testfleet.model import TestResult
from testfleet.plugins.recorder import add_report


def report(when: str, outcome: str, **extra: object) -> pytest.TestReport:
    rep = pytest.TestReport("t.py::x", ("t.py", 0, "x"), {}, outcome, None, when)  # type: ignore[arg-type]
    for name, value in extra.items():
        setattr(rep, name, value)
    return rep


def outcome(*reports: pytest.TestReport) -> str:
    """The outcome the recorder records for a test that gave ``reports``."""
    phases = Phases()
    for rep in reports:
        add_report(phases, rep, run_started=0.0)
    return phases.result("t.py::x", None).outcome


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        ([report("setup", "failed")], "error"),
        ([report("setup", "skipped")], "skipped"),
        ([report("setup", "skipped", wasxfail="")], "xfailed"),
        ([report("setup", "passed"), report("call", "passed")], "passed"),
        ([report("call", "failed"), report("teardown", "passed")], "failed"),
        ([report("call", "skipped", wasxfail="why")], "xfailed"),
        ([report("call", "passed", wasxfail="why")], "xpassed"),
        ([report("call", "passed"), report("teardown", "failed")], "error"),
        # A quarantined failure: pytest sees an expected failure; the history, the failure.
        ([report("call", "skipped", wasxfail="q", testfleet_quarantined="failed")], "failed"),
        ([report("setup", "skipped", wasxfail="q", testfleet_quarantined="error")], "error"),
    ],
)
def test_reports_decide_the_outcome_pytest_counts(
    reports: list[pytest.TestReport], expected: str
) -> None:
    """A test's reports give the outcome pytest's summary would count for it."""
    assert outcome(*reports) == expected


def test_a_lost_test_is_recorded_with_the_time_its_failed_report_gives() -> None:
    """A test lost to a crash or timeout costs the duration of the failed report made for it."""
    # As the relay reports a lost test: no setup report, a failed call report
    # that carries how long the test ran, and an empty teardown.
    phases = Phases()
    for rep in (
        report("call", "failed", duration=2.5, start=1005.0),
        report("teardown", "passed", duration=0.0),
    ):
        add_report(phases, rep, run_started=1000.0)

    assert phases.result("t.py::x", "gw1") == TestResult(
        "t.py::x", "failed", setup=0.0, call=2.5, teardown=0.0, worker="gw1", start=5.0
    )


def test_phases_come_from_each_report() -> None:
    """Setup, call and teardown durations add up, and the test starts with its setup."""
    phases = Phases()
    for rep in (
        report("setup", "passed", duration=0.25, start=1001.0),
        report("call", "passed", duration=1.0, start=1001.25),
        report("teardown", "passed", duration=0.125, start=1002.25),
    ):
        add_report(phases, rep, run_started=1000.0)

    result = phases.result("t.py::x", None)
    assert (result.outcome, result.duration, result.start) == ("passed", 1.375, 1.0)


def test_a_report_without_a_start_leaves_the_start_unknown() -> None:
    """A report made up without a start time (start 0) does not claim the test began the run."""
    phases = Phases()
    add_report(phases, report("call", "failed", duration=3.0), run_started=1000.0)

    assert phases.result("t.py::x", None).start is None


def test_the_attempts_and_the_quarantine_ride_on_the_reports() -> None:
    """The relay's attempt count and the quarantine's mark reach the recorded result."""
    phases = Phases()
    add_report(phases, report("call", "failed", testfleet_attempts=3), run_started=0.0)
    add_report(
        phases,
        report("call", "skipped", wasxfail="q", testfleet_quarantined="failed"),
        run_started=0.0,
    )

    result = phases.result("t.py::x", None)
    assert (result.attempts, result.quarantined, result.outcome) == (3, True, "failed")
