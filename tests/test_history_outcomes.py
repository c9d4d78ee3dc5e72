"""A test's outcome from its reports, and its result from its phases (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.history.outcomes import Phases, ReportOutcome, When, decide
from testfleet.model import TestResult


@pytest.mark.parametrize(
    ("when", "outcome", "wasxfail", "expected"),
    [
        ("setup", "passed", False, None),
        ("setup", "failed", False, "error"),
        ("setup", "failed", True, "error"),
        ("setup", "skipped", False, "skipped"),
        ("setup", "skipped", True, "xfailed"),
        ("call", "passed", False, "passed"),
        ("call", "failed", False, "failed"),
        ("call", "skipped", False, "skipped"),
        ("call", "skipped", True, "xfailed"),
        ("call", "passed", True, "xpassed"),
        ("teardown", "passed", False, None),
        ("teardown", "skipped", False, None),
        ("teardown", "failed", False, "error"),
    ],
)
def test_decide(when: When, outcome: ReportOutcome, wasxfail: bool, expected: str | None) -> None:
    """Each report decides the outcome pytest's summary would count, or none."""
    assert decide(when, outcome, wasxfail=wasxfail) == expected


def test_a_test_with_no_deciding_report_passed() -> None:
    """Reports that decide nothing (a passing setup and teardown) leave the test passed."""
    phases = Phases()
    phases.add("setup", "passed", 0.5, run_started=0.0)
    phases.add("teardown", "passed", 0.25, run_started=0.0)
    assert phases.result("t::x", None) == TestResult("t::x", "passed", setup=0.5, teardown=0.25)


def test_a_rerun_phase_keeps_its_last_report() -> None:
    """A phase reported twice (a retried test) counts its last report's time and outcome."""
    phases = Phases()
    phases.add("call", "failed", 2.0, run_started=10.0, start=11.0)
    phases.add("call", "passed", 1.0, run_started=10.0, start=13.0, attempts=2)
    assert phases.result("t::x", "gw0") == TestResult(
        "t::x", "passed", call=1.0, worker="gw0", start=1.0, attempts=2
    )


def test_a_start_before_the_run_is_floored_at_zero() -> None:
    """A clock that disagrees a little with the run's start gives 0, not a negative start."""
    phases = Phases()
    phases.add("setup", "passed", 0.1, run_started=100.0, start=99.5)
    assert phases.result("t::x", None).start == 0.0


def test_figures_complete_the_result() -> None:
    """What the phases do not know (CPU, category...) comes from the caller, and a
    quarantine the caller knows of counts too."""
    phases = Phases()
    phases.add("call", "passed", 1.0, run_started=0.0)
    result = phases.result("t::x", None, cpu=0.5, category="unit", quarantined=True)
    assert (result.cpu, result.category, result.quarantined) == (0.5, "unit", True)


REPORTS = st.fixed_dictionaries(
    {
        "when": st.sampled_from(["setup", "call", "teardown"]),
        "outcome": st.sampled_from(["passed", "failed", "skipped"]),
        "duration": st.floats(min_value=0, max_value=1e6),
    },
    optional={
        "wasxfail": st.booleans(),
        "start": st.floats(min_value=0, max_value=2e9),
        "attempts": st.integers(1, 5),
        "quarantined": st.sampled_from(["failed", "error"]),
    },
)


def phases_of(reports: list[dict[str, Any]], run_started: float = 0.0) -> Phases:
    phases = Phases()
    for report in reports:
        phases.add(**report, run_started=run_started)
    return phases


def decided(report: dict[str, Any]) -> str | None:
    return report.get("quarantined") or decide(
        report["when"], report["outcome"], wasxfail=report.get("wasxfail", False)
    )


@given(reports=st.lists(REPORTS, max_size=8), data=st.data())
def test_an_error_in_any_phase_makes_the_result_an_error(
    reports: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Property: whatever the other reports and their order, one error makes the test an error."""
    error = data.draw(
        st.sampled_from(
            [
                {"when": "setup", "outcome": "failed", "duration": 0.0},
                {"when": "teardown", "outcome": "failed", "duration": 0.0},
                {"when": "call", "outcome": "skipped", "duration": 0.0, "quarantined": "error"},
            ]
        )
    )
    at = data.draw(st.integers(0, len(reports)))
    shuffled = data.draw(st.permutations([*reports[:at], error, *reports[at:]]))
    assert phases_of(shuffled).result("t::x", None).outcome == "error"


@given(reports=st.lists(REPORTS, max_size=8))
def test_the_result_follows_the_reports_in_their_order(reports: list[dict[str, Any]]) -> None:
    """Property: each phase's time is its last report's; the outcome is "error" if any
    report was one, else the last deciding report's, else "passed"; the test starts with
    its first report that knows when; attempts are the most any report counted."""
    result = phases_of(reports, run_started=1e9).result("t::x", None)

    for when in ("setup", "call", "teardown"):
        durations = [r["duration"] for r in reports if r["when"] == when]
        assert getattr(result, when) == (durations[-1] if durations else 0.0)
    outcomes = [o for o in map(decided, reports) if o is not None]
    expected = "error" if "error" in outcomes else (outcomes[-1] if outcomes else "passed")
    assert result.outcome == expected
    starts = [r["start"] for r in reports if r.get("start", 0.0) > 0]
    assert result.start == (max(0.0, starts[0] - 1e9) if starts else None)
    assert result.attempts == max([1, *(r.get("attempts", 1) for r in reports)])
    assert result.quarantined == any(r.get("quarantined") for r in reports)


@given(
    when=st.sampled_from(["setup", "call", "teardown"]),
    outcome=st.sampled_from(["passed", "failed", "skipped"]),
)
def test_xfail_maps_to_xfailed_or_xpassed_or_an_error(when: When, outcome: ReportOutcome) -> None:
    """Property: an expected failure's report is xfailed when it skipped, xpassed when its
    call ran through, an error when its setup or teardown failed, and nothing else."""
    result = decide(when, outcome, wasxfail=True)
    if outcome == "failed" and when != "call":
        assert result == "error"
    elif outcome == "skipped" and when != "teardown":
        assert result == "xfailed"
    elif when == "call":
        assert result == "xpassed"
    else:
        assert result is None
    plain = decide(when, outcome, wasxfail=False)
    assert plain not in ("xfailed", "xpassed")
