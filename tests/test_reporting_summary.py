"""The lines testfleet adds at the end of a run."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from testfleet.model.history import RunRecord, TestResult
from testfleet.reporting.summary import (
    NAMED,
    flaky_tests,
    format_bytes,
    quarantined_tests,
    run_line,
)


def run(**changes: object) -> RunRecord:
    values: dict[str, object] = {
        "started": 100.0,
        "finished": 118.6,
        "workers": 2,
        "host": "ci",
        "commit": None,
        "arguments": (),
        "exit_code": 0,
        "status": "complete",
        "tests": 10,
        "test_seconds": 34.968,
        "planned": 18.2,
        "peak_rss": 410 << 20,
    }
    values.update(changes)
    return RunRecord(**values)  # type: ignore[arg-type]


def test_the_run_line_names_workers_business_wall_plan_and_peak() -> None:
    assert run_line(run()) == "testfleet: 2 workers, 94 % busy, 18.6s (planned 18.2s), peak 410 MB"


def test_the_run_line_leaves_out_what_it_does_not_know() -> None:
    line = run_line(run(workers=1, planned=None, peak_rss=None, test_seconds=None))
    assert line == "testfleet: 1 worker, 18.6s"


def test_format_bytes() -> None:
    assert format_bytes(410 << 20) == "410 MB"
    assert format_bytes(3 << 29) == "1.5 GB"


def test_flaky_tests_are_named_with_the_attempt_that_passed() -> None:
    results = [
        TestResult("a", "passed", attempts=2),
        TestResult("b", "failed", attempts=3),  # failed every time: not flaky, failed
        TestResult("c", "passed"),
    ]
    assert flaky_tests(results) == [
        "testfleet: 1 flaky (failed, then passed when run again):",
        "  a (passed on attempt 2)",
    ]
    assert flaky_tests(results[1:]) == []


def test_quarantined_tests_count_the_failed_ones() -> None:
    lines = quarantined_tests([("a", "failed in call: boom"), ("b", "passed")])
    assert lines[0].startswith("testfleet: 2 quarantined, 1 of them failed")
    assert lines[1:] == ["  a: failed in call: boom", "  b: passed"]


@given(st.integers(min_value=0, max_value=40))
def test_long_lists_name_a_few_and_count_the_rest(count: int) -> None:
    results = [TestResult(f"t{i}", "passed", attempts=2) for i in range(count)]
    lines = flaky_tests(results)
    if not count:
        assert lines == []
        return
    named = [line for line in lines[1:] if not line.startswith("  ...")]
    assert len(named) == min(count, NAMED)
    assert (len(lines) == len(named) + 2) == (count > NAMED)
