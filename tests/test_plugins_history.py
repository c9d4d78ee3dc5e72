"""Unit tests of the recorder's translation of pytest reports into outcomes and results."""

from __future__ import annotations

import pytest

from testfleet.model import TestResult
from testfleet.plugins.recorder import Phases, outcome_of


def report(when: str, outcome: str, **extra: object) -> pytest.TestReport:
    rep = pytest.TestReport("t.py::x", ("t.py", 0, "x"), {}, outcome, None, when)  # type: ignore[arg-type]
    for name, value in extra.items():
        setattr(rep, name, value)
    return rep


@pytest.mark.parametrize(
    ("when", "outcome", "extra", "expected"),
    [
        ("setup", "passed", {}, None),
        ("setup", "failed", {}, "error"),
        ("setup", "skipped", {}, "skipped"),
        ("setup", "skipped", {"wasxfail": ""}, "xfailed"),
        ("call", "passed", {}, "passed"),
        ("call", "failed", {}, "failed"),
        ("call", "skipped", {"wasxfail": "why"}, "xfailed"),
        ("call", "passed", {"wasxfail": "why"}, "xpassed"),
        ("teardown", "passed", {}, None),
        ("teardown", "failed", {}, "error"),
    ],
)
def test_outcome_of(
    when: str, outcome: str, extra: dict[str, object], expected: str | None
) -> None:
    """Each report decides the outcome pytest's summary would count, or none."""
    assert outcome_of(report(when, outcome, **extra)) == expected


def test_a_lost_test_is_recorded_with_the_time_its_failed_report_gives() -> None:
    """A test lost to a crash or timeout costs the duration of the failed report made for it."""
    # As the relay reports a lost test: no setup report, a failed call report
    # that carries how long the test ran, and an empty teardown.
    phases = Phases()
    for rep in (
        report("call", "failed", duration=2.5, start=1005.0),
        report("teardown", "passed", duration=0.0),
    ):
        phases.add(rep, run_started=1000.0)

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
        phases.add(rep, run_started=1000.0)

    result = phases.result("t.py::x", None)
    assert (result.outcome, result.duration, result.start) == ("passed", 1.375, 1.0)


def test_a_report_without_a_start_leaves_the_start_unknown() -> None:
    """A report made up without a start time (start 0) does not claim the test began the run."""
    phases = Phases()
    phases.add(report("call", "failed", duration=3.0), run_started=1000.0)

    assert phases.result("t.py::x", None).start is None
