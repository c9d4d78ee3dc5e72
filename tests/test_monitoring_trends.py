"""Unit and property tests of the trends: each run's figures, the suite's direction, and
the tests that got slower; and of their table and JSON."""

from __future__ import annotations

import json
import math
import random
from datetime import timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.model.history import RunRecord, RunStatus, TestResult
from testfleet.monitoring.trends import (
    Direction,
    SlowerTest,
    Windows,
    direction,
    durations_by_test,
    slope,
    slower_test,
    slower_tests,
    trends,
)
from testfleet.reporting.trends import (
    format_bytes,
    format_direction,
    format_signed_seconds,
    format_test_seconds,
    format_trends,
    to_json,
)

DAY = 24 * 3600.0
#: 2024-01-01 00:00 UTC.
EPOCH = 1_704_067_200.0


def record(
    run_id: int,
    day: float,
    *,
    tests: int = 10,
    wall: float = 60.0,
    test_seconds: float = 100.0,
    workers: int = 2,
    status: RunStatus = "complete",
    exit_code: int = 0,
    peak_rss: int | None = None,
    commit: str | None = "0123456789abcdef",
) -> RunRecord:
    started = EPOCH + day * DAY
    return RunRecord(
        started=started,
        finished=None if status == "crashed" else started + wall,
        workers=workers,
        host="h",
        commit=commit,
        arguments=(),
        exit_code=None if status == "crashed" else exit_code,
        status=status,
        run_id=run_id,
        tests=tests,
        test_seconds=test_seconds,
        peak_rss=peak_rss,
    )


def test_each_run_shows_its_figures_oldest_first_without_crashed_runs() -> None:
    runs = [
        record(3, 2, wall=50, test_seconds=80, workers=2, peak_rss=300 * 2**20),
        record(1, 0),
        record(2, 1, status="crashed"),
    ]
    found = trends(runs, {})
    assert [r.run_id for r in found.runs] == [1, 3]
    newest = found.runs[-1]
    assert (newest.wall, newest.tests, newest.test_seconds, newest.workers) == (50, 10, 80, 2)
    assert newest.efficiency == pytest.approx(80 / (2 * 50))
    assert newest.peak_rss == 300 * 2**20


def test_the_direction_is_the_slope_per_week_over_complete_runs() -> None:
    runs = [record(i, i, tests=100 + 2 * i, wall=60 + i) for i in range(8)]
    runs.append(record(9, 9, tests=3, wall=1, status="interrupted"))  # part of the suite
    found = direction(runs)
    assert (found.runs, found.span) == (8, 7 * DAY)
    assert found.tests_per_week == pytest.approx(14.0)
    assert found.wall_per_week == pytest.approx(7.0)


def test_the_direction_needs_two_runs_at_different_times() -> None:
    assert direction([record(1, 0)]) == Direction(1, 0.0, None, None)
    assert direction([record(1, 0), record(2, 0, tests=99)]) == Direction(2, 0.0, None, None)
    assert direction([]) == Direction(0, 0.0, None, None)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(0, 1), (1, 3), (2, 5)], 2.0),
        ([(0, 5), (10, 5)], 0.0),
        ([(0, 0), (1, 1), (2, 0)], 0.0),
        ([(1, 1)], None),
        ([(1, 1), (1, 5)], None),
    ],
)
def test_slope(points: list[tuple[float, float]], expected: float | None) -> None:
    assert slope(points) == (None if expected is None else pytest.approx(expected))


def test_a_test_got_slower_by_half_again_and_a_tenth_of_a_second() -> None:
    windows = Windows(recent=3, baseline=3)
    # Newest first: three recent runs, then three before them.
    assert slower_test("t", [0.31, 0.30, 0.32, 0.2, 0.2, 0.2], windows) == SlowerTest(
        "t", 0.2, 0.31, 3, 3
    )
    assert slower_test("t", [0.29, 0.29, 0.29, 0.2, 0.2, 0.2], windows) is None  # < 1.5x
    assert slower_test("t", [0.09, 0.09, 0.09, 0.01, 0.01, 0.01], windows) is None  # < +0.1s
    assert slower_test("t", [0.2, 0.2, 0.2, 0.31, 0.30, 0.32], windows) is None  # got faster


def test_the_median_ignores_one_slow_run() -> None:
    assert slower_test("t", [5.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]) is None


def test_a_test_needs_three_durations_in_each_window() -> None:
    windows = Windows(recent=3)
    assert slower_test("t", [1.0, 1.0, 1.0, 0.1, 0.1], windows) is None
    assert slower_test("t", [1.0, 1.0, 1.0, 0.1, 0.1, 0.1], windows) is not None
    assert slower_test("t", [1.0, 1.0, 0.1, 0.1, 0.1], windows) is None
    assert slower_test("t", [1.0, 1.0, 0.1, 0.1, 0.1], Windows(recent=2)) is not None
    assert slower_test("t", [1.0, 0.1], Windows(recent=1, baseline=1)) is not None


def test_only_the_windows_count() -> None:
    slow_long_ago = [0.1] * 25 + [9.0] * 10
    assert slower_test("t", slow_long_ago) is None
    assert slower_test("t", [1.0] * 5 + [0.1] * 20 + [9.0] * 10) is not None


def test_slower_tests_by_increase() -> None:
    windows = Windows(recent=1, baseline=1)
    found = slower_tests({"a": [1.0, 0.5], "b": [3.0, 1.0], "c": [1.0, 1.0], "d": [0.5, 0.0]})
    assert found == []  # the default windows need 3 durations each
    found = slower_tests(
        {"a": [1.0, 0.5], "b": [3.0, 1.0], "c": [1.0, 1.0], "d": [0.5, 0.0]}, windows
    )
    assert [(s.nodeid, s.increase) for s in found] == [("b", 2.0), ("a", 0.5), ("d", 0.5)]
    assert found[2].ratio is None


def test_durations_are_of_passing_results_newest_first() -> None:
    newer = [
        TestResult("a", "passed", call=2.0),
        TestResult("b", "failed", call=9.0),
        TestResult("c", "passed", setup=0.5, call=0.25, teardown=0.25),
    ]
    older = [TestResult("a", "passed", call=1.0), TestResult("b", "passed", call=3.0)]
    assert durations_by_test([newer, older]) == {"a": [2.0, 1.0], "b": [3.0], "c": [1.0]}


def test_the_windows_must_hold_something() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Windows(recent=0)


# -- the table and the JSON ------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (300 * 2**20, "300 MiB"),
        (int(1.25 * 2**30), "1.2 GiB"),
        (5 * 2**40, "5.0 TiB"),
        (5000 * 2**40, "5000 TiB"),
    ],
)
def test_format_bytes(count: int, shown: str) -> None:
    assert format_bytes(count) == shown


@pytest.mark.parametrize(("seconds", "shown"), [(0.254, "0.25s"), (9.996, "10.0s"), (75, "1m 15s")])
def test_format_test_seconds(seconds: float, shown: str) -> None:
    assert format_test_seconds(seconds) == shown


@pytest.mark.parametrize(("seconds", "shown"), [(1.5, "+1.5s"), (-123, "-2m 03s"), (0, "+0.0s")])
def test_format_signed_seconds(seconds: float, shown: str) -> None:
    assert format_signed_seconds(seconds) == shown


def test_format_direction() -> None:
    assert format_direction(Direction(8, 3.5 * DAY, 14.0, -7.25)) == (
        "Direction over 8 complete runs in 3.5 days: +14.0 tests a week, wall -7.2s a week."
    )
    assert format_direction(Direction(3, 125, 0.0, 12.0)) == (
        "Direction over 3 complete runs in 2m 05s: +0.0 tests a week, wall +12.0s a week. "
        "Runs less than a day apart say little about a week."
    )
    assert format_direction(Direction(1, 0.0, None, None)) == (
        "Direction: needs 2 complete runs started at different times (1 shown)."
    )


def test_the_table() -> None:
    runs = [
        record(1, 0, tests=10, wall=60, test_seconds=100, workers=2),
        record(2, 7, tests=12, wall=75, test_seconds=120, exit_code=1, peak_rss=300 * 2**20),
        record(3, 8, tests=2, wall=5, test_seconds=9, status="interrupted", commit=None),
    ]
    durations = {"test_a.py::test_slow": [1.0] * 5 + [0.25] * 20, "test_a.py::test_ok": [0.1] * 25}
    text = format_trends(trends(runs, durations), tz=timezone.utc)
    assert text.splitlines() == [
        "run  date              commit   result       tests    wall  test time  workers"
        "  efficiency  peak memory",
        "  1  2024-01-01 00:00  0123456  passed          10  1m 00s     1m 40s        2"
        "         83%            -",
        "  2  2024-01-08 00:00  0123456  failed          12  1m 15s     2m 00s        2"
        "         80%      300 MiB",
        "  3  2024-01-09 00:00  -        interrupted      2    5.0s       9.0s        2"
        "         90%            -",
        "",
        "Direction over 2 complete runs in 7.0 days: +2.0 tests a week, wall +15.0s a week.",
        "",
        "Tests that got slower (median of each test's last 5 passing runs vs the 20 before them):",
        "",
        "test                  before    now         change",
        "test_a.py::test_slow   0.25s  1.00s  +0.75s (4.0x)",
    ]


def test_the_table_without_runs_or_slower_tests() -> None:
    assert format_trends(trends([], {})) == "No finished runs in the history yet."
    text = format_trends(trends([record(1, 0)], {}), tz=timezone.utc)
    assert text.endswith(
        "Direction: needs 2 complete runs started at different times (1 shown).\n"
        "No test got slower (median of each test's last 5 passing runs vs the 20 before them)."
    )


def test_the_json() -> None:
    runs = [record(1, 0, peak_rss=2**20), record(2, 7, tests=12, wall=30.0004)]
    document = json.loads(to_json(trends(runs, {"t": [1.0] * 5 + [0.25] * 20})))
    assert document["runs"][0] == {
        "run_id": 1,
        "started": EPOCH,
        "date": "2024-01-01T00:00:00+00:00",
        "commit": "0123456789abcdef",
        "status": "complete",
        "exit_code": 0,
        "wall": 60.0,
        "tests": 10,
        "test_seconds": 100.0,
        "workers": 2,
        "efficiency": 0.833,
        "peak_rss": 2**20,
    }
    assert document["runs"][1]["wall"] == 30.0
    assert document["direction"] == {
        "runs": 2,
        "span": 7 * DAY,
        "tests_per_week": 2.0,
        "wall_per_week": -30.0,
    }
    assert document["slower"] == [
        {
            "nodeid": "t",
            "baseline": 0.25,
            "recent": 1.0,
            "increase": 0.75,
            "ratio": 4.0,
            "baseline_samples": 20,
            "recent_samples": 5,
        }
    ]
    assert document["windows"] == {"recent": 5, "baseline": 20, "min_samples": 3}


# -- properties ---------------------------------------------------------------------------

durations = st.floats(0, 1e4, allow_nan=False)


@given(st.lists(durations, min_size=1, max_size=30))
def test_a_test_never_got_slower_than_itself(samples: list[float]) -> None:
    windows = Windows(recent=len(samples), baseline=len(samples))
    assert slower_test("t", samples + samples, windows) is None


@given(
    st.lists(st.floats(0, 1e9, allow_nan=False), min_size=2, max_size=30),
    st.floats(-1e6, 1e6, allow_nan=False),
)
def test_the_slope_of_a_constant_is_zero(xs: list[float], y: float) -> None:
    times = [EPOCH + x for x in xs]  # times as the history has them: seconds since the epoch
    assert slope((t, y) for t in times) == (0.0 if len(set(times)) > 1 else None)


@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=30, unique=True),
    st.integers(-1000, 1000),
    st.integers(-(10**6), 10**6),
)
def test_the_slope_of_a_line_is_its_slope(xs: list[int], rise: int, offset: int) -> None:
    found = slope((EPOCH + x, offset + rise * x) for x in xs)
    assert found == pytest.approx(rise, abs=1e-6)


@given(
    st.lists(
        st.tuples(st.floats(0, 365), st.integers(0, 5000), st.floats(0.1, 1e4)),
        max_size=20,
    ),
    st.randoms(use_true_random=False),
)
def test_the_trends_do_not_depend_on_the_order_of_the_runs(
    figures: list[tuple[float, int, float]], shuffler: random.Random
) -> None:
    runs = [record(i, day, tests=n, wall=wall) for i, (day, n, wall) in enumerate(figures)]
    shuffled = list(runs)
    shuffler.shuffle(shuffled)
    assert trends(shuffled, {}) == trends(runs, {})


@given(
    st.lists(durations, min_size=3, max_size=10),
    st.lists(durations, min_size=3, max_size=20),
)
def test_a_slower_test_is_slower_by_the_rule(recent: list[float], baseline: list[float]) -> None:
    windows = Windows(recent=len(recent), baseline=len(baseline))
    found = slower_test("t", recent + baseline, windows)
    if found is None:
        return
    assert found.increase >= 0.1 - 1e-9
    assert found.recent >= 1.5 * found.baseline
    assert (found.recent_samples, found.baseline_samples) == (len(recent), len(baseline))
    assert all(math.isfinite(v) for v in (found.recent, found.baseline))


@given(st.lists(durations, min_size=3, max_size=20), st.floats(0.1, 100))
def test_every_duration_up_by_half_and_more_is_slower(baseline: list[float], add: float) -> None:
    recent = [1.5 * d + 0.1 + add for d in baseline]
    windows = Windows(recent=len(recent), baseline=len(baseline))
    assert slower_test("t", recent + baseline, windows) is not None
