"""The suite over time: each run's figures, its direction, and the tests that got slower.

Pure (this is the guide's ``ScalabilityMetrics``): recorded runs and per-test
durations in, figures out; no store and no clock.

- Each run shows its date, commit, wall time, tests, the sum of its test
  durations, workers, efficiency (that sum over workers times the wall) and
  peak memory.
- The direction is the least-squares slope of the test count and of the wall
  time against the runs' start times, per week, over the complete runs shown
  (interrupted runs ran part of the suite, so they would bend the line).
- A test got slower when the median of its durations in the ``recent`` newest
  runs that ran it is at least 1.5 times, and at least 0.1 s above, the median
  over the ``baseline`` runs that ran it before those.  Only passing results
  count (a failure's time says little about the test's cost), and a test needs
  ``min_samples`` (3) durations in each window, or all of a window smaller than
  that, before it is judged: one slow run on a busy machine is not a trend.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from testfleet.model.history import RunRecord, RunStatus, TestResult

#: Seconds in a week: the direction is given per week.
WEEK = 7 * 24 * 3600.0
DEFAULT_RECENT = 5
DEFAULT_BASELINE = 20
#: Durations a test needs in each window (or the whole window, when smaller).
DEFAULT_MIN_SAMPLES = 3
#: A test got slower when its recent median is at least this many times the baseline's...
SLOWER_RATIO = 1.5
#: ...and at least this many seconds above it: 2 ms to 3 ms is noise, not a regression.
SLOWER_MARGIN = 0.1


@dataclass(frozen=True)
class RunTrend:
    """One recorded run, as the trends show it."""

    run_id: int | None
    #: Start, as seconds since the epoch.
    started: float
    commit: str | None
    status: RunStatus
    exit_code: int | None
    #: Seconds from start to end; None for a run that did not end.
    wall: float | None
    tests: int | None
    #: The sum of the tests' durations (setup + call + teardown).
    test_seconds: float | None
    workers: int
    #: Test seconds over workers times the wall: how busy the workers were.
    efficiency: float | None
    #: The most memory (RSS, bytes) the run's processes held at once, when monitored.
    peak_rss: int | None


@dataclass(frozen=True)
class Direction:
    """Where the suite is heading: slopes per week over the complete runs shown."""

    #: The complete runs the slopes are drawn from.
    runs: int
    #: Seconds from the first of them to start to the last: a week's slope drawn
    #: from a few minutes of runs says little.
    span: float
    #: Tests added per week (negative: removed); None without two runs at different times.
    tests_per_week: float | None
    #: Seconds of wall time added per week; None likewise.
    wall_per_week: float | None


@dataclass(frozen=True)
class SlowerTest:
    """A test whose recent durations are well above its earlier ones."""

    nodeid: str
    #: Median seconds over the baseline window, and over the recent window.
    baseline: float
    recent: float
    baseline_samples: int
    recent_samples: int

    @property
    def increase(self) -> float:
        """Seconds the median went up."""
        return self.recent - self.baseline

    @property
    def ratio(self) -> float | None:
        """How many times the baseline the recent median is; None for a baseline of 0."""
        return self.recent / self.baseline if self.baseline > 0 else None


@dataclass(frozen=True)
class Windows:
    """How the slower tests are found."""

    recent: int = DEFAULT_RECENT
    baseline: int = DEFAULT_BASELINE
    min_samples: int = DEFAULT_MIN_SAMPLES

    def __post_init__(self) -> None:
        if min(self.recent, self.baseline, self.min_samples) < 1:
            raise ValueError(f"windows and samples must be at least 1, got {self}")

    @property
    def runs(self) -> int:
        """The runs whose results the windows can reach: recent plus baseline."""
        return self.recent + self.baseline


@dataclass(frozen=True)
class Trends:
    """Everything ``testfleet trends`` shows."""

    #: The runs, oldest first.
    runs: tuple[RunTrend, ...]
    direction: Direction
    #: The tests that got slower, by increase, the largest first.
    slower: tuple[SlowerTest, ...]
    windows: Windows


def run_trend(run: RunRecord) -> RunTrend:
    """The figures of one run."""
    return RunTrend(
        run_id=run.run_id,
        started=run.started,
        commit=run.commit,
        status=run.status,
        exit_code=run.exit_code,
        wall=run.wall,
        tests=run.tests,
        test_seconds=run.test_seconds,
        workers=run.workers,
        efficiency=run.efficiency,
        peak_rss=run.peak_rss,
    )


def slope(points: Iterable[tuple[float, float]]) -> float | None:
    """The least-squares slope of ``(x, y)`` points; None with fewer than 2 distinct x."""
    ordered = sorted(points)  # the same sum in any order: order-invariant to the last bit
    if len(ordered) < 2:
        return None
    mean_x = math.fsum(x for x, _ in ordered) / len(ordered)
    mean_y = math.fsum(y for _, y in ordered) / len(ordered)
    spread = math.fsum((x - mean_x) ** 2 for x, _ in ordered)
    if spread <= 0 or ordered[0][0] == ordered[-1][0]:
        return None
    if all(y == ordered[0][1] for _, y in ordered):
        return 0.0  # exactly: a mean off by a rounding would tilt a flat line
    return math.fsum((x - mean_x) * (y - mean_y) for x, y in ordered) / spread


def direction(runs: Iterable[RunRecord]) -> Direction:
    """The slopes of test count and wall time per week over the complete runs."""
    complete = [r for r in runs if r.status == "complete"]
    tests = slope((r.started, float(r.tests)) for r in complete if r.tests is not None)
    walls = slope((r.started, r.wall) for r in complete if r.wall is not None)
    starts = [r.started for r in complete]
    return Direction(
        runs=len(complete),
        span=max(starts) - min(starts) if starts else 0.0,
        tests_per_week=None if tests is None else tests * WEEK,
        wall_per_week=None if walls is None else walls * WEEK,
    )


def durations_by_test(results_by_run: Iterable[Sequence[TestResult]]) -> dict[str, list[float]]:
    """Each test's durations, one per run that it passed in, in the order of the runs given.

    Give the runs newest first, as :func:`slower_tests` wants them.  A test
    recorded twice in one run counts once, with its last passing result.
    """
    durations: dict[str, list[float]] = {}
    for results in results_by_run:
        passed = {r.nodeid: r.duration for r in results if r.outcome == "passed"}
        for nodeid, seconds in passed.items():
            durations.setdefault(nodeid, []).append(seconds)
    return durations


def slower_test(
    nodeid: str, durations: Sequence[float], windows: Windows = Windows()
) -> SlowerTest | None:
    """``nodeid`` if it got slower, judged from its durations newest first; else None."""
    recent = durations[: windows.recent]
    baseline = durations[windows.recent : windows.runs]
    if len(recent) < min(windows.min_samples, windows.recent) or len(baseline) < min(
        windows.min_samples, windows.baseline
    ):
        return None
    now, before = statistics.median(recent), statistics.median(baseline)
    if now >= SLOWER_RATIO * before and now >= before + SLOWER_MARGIN:
        return SlowerTest(nodeid, before, now, len(baseline), len(recent))
    return None


def slower_tests(
    durations: Mapping[str, Sequence[float]], windows: Windows = Windows()
) -> list[SlowerTest]:
    """The tests that got slower, the largest increase first (ties by node id)."""
    found = [s for nodeid, d in durations.items() if (s := slower_test(nodeid, d, windows))]
    return sorted(found, key=lambda s: (-s.increase, s.nodeid))


def trends(
    runs: Iterable[RunRecord],
    durations: Mapping[str, Sequence[float]],
    windows: Windows = Windows(),
) -> Trends:
    """The trends of ``runs`` (any order) and the slower tests among ``durations``.

    ``durations`` holds each test's durations newest first (see
    :func:`durations_by_test`).  Runs still marked crashed are left out.
    """
    shown = sorted(
        (r for r in runs if r.status != "crashed"),
        key=lambda r: (r.started, -1 if r.run_id is None else r.run_id),
    )
    return Trends(
        runs=tuple(run_trend(r) for r in shown),
        direction=direction(shown),
        slower=tuple(slower_tests(durations, windows)),
        windows=windows,
    )
