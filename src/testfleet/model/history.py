"""What a run leaves in the history: the run itself and each test's result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

#: How a run ended: it finished, pytest was interrupted (Ctrl-C, a collection
#: error, ``-x``), or the process died before it could say.
RunStatus: TypeAlias = Literal["complete", "interrupted", "crashed"]

#: A test's outcome as pytest's summary names it.
Outcome: TypeAlias = Literal["passed", "failed", "skipped", "error", "xfailed", "xpassed"]


@dataclass(frozen=True)
class CacheFigures:
    """What the shared cache (``fleet_cache``) did in one run, summed over its processes."""

    hits: int
    misses: int
    sets: int
    evictions: int
    #: Build seconds that hits saved.
    saved_seconds: float


@dataclass(frozen=True)
class RunRecord:
    """One run of a suite under testfleet."""

    #: Start, as seconds since the epoch.
    started: float
    #: End, as seconds since the epoch; None while it runs or when it crashed.
    finished: float | None
    #: Worker processes used (1 when the tests ran in process).
    workers: int
    host: str
    #: The git commit checked out in the rootdir, when there is one.
    commit: str | None
    #: The command line arguments of the run.
    arguments: tuple[str, ...]
    #: pytest's exit code; None while it runs or when it crashed.
    exit_code: int | None
    status: RunStatus
    #: The id the store gave the run; None before it was stored.
    run_id: int | None = None
    #: The shared cache's figures, when the run used it; None otherwise.
    cache: CacheFigures | None = None
    #: Tests recorded and the sum of their durations (setup + call + teardown);
    #: None while the run is unfinished.
    tests: int | None = None
    test_seconds: float | None = None
    #: The run phase's wall time the planner predicted; None when it did not plan.
    planned: float | None = None
    #: The most memory (RSS, bytes) the run's processes used together at once,
    #: as far as monitoring saw; None when it was not monitored.
    peak_rss: int | None = None

    @property
    def efficiency(self) -> float | None:
        """How busy the workers were: test seconds over ``workers`` times the wall."""
        wall = self.wall
        if wall is None or wall <= 0 or self.test_seconds is None:
            return None
        return self.test_seconds / (max(1, self.workers) * wall)

    @property
    def wall(self) -> float | None:
        """Seconds from start to end, when the run ended."""
        return None if self.finished is None else self.finished - self.started


@dataclass(frozen=True)
class TestResult:
    """One test's result in one run."""

    __test__ = False  # not a pytest test class, whatever its name says

    nodeid: str
    outcome: Outcome
    #: Seconds spent in setup, call and teardown.
    setup: float = 0.0
    call: float = 0.0
    teardown: float = 0.0
    #: The worker that ran it (``gw0``...), None in process.
    worker: str | None = None
    #: Seconds from the start of the run to the start of the test.
    start: float | None = None
    #: CPU seconds (user and system) the test's process spent on it; None when
    #: not measured.
    cpu: float | None = None
    #: The most memory (RSS, bytes) its process held while it ran; None when
    #: not measured.
    peak_rss: int | None = None
    #: How many times it ran: more than 1 when ``--retry-failed`` ran it again.
    attempts: int = 1
    #: Whether it was quarantined: its failure did not fail the run.
    quarantined: bool = False
    #: The category the planner put it in (``unit``, ``integration``...), when known.
    category: str | None = None
    #: The resources it held (``@pytest.mark.resource``), sorted.
    resources: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        """Setup, call and teardown together: what the test costs a worker."""
        return self.setup + self.call + self.teardown

    @property
    def flaky(self) -> bool:
        """Whether it failed and then passed when it ran again in the same run."""
        return self.attempts > 1 and self.outcome not in ("failed", "error")


@dataclass(frozen=True)
class WorkerSample:
    """One reading of one process of a run: a worker, or ``"controller"``."""

    #: Seconds from the start of the run.
    at: float
    process: str
    #: CPU use since the previous reading, in percent of one core.
    cpu_percent: float
    #: Resident memory, bytes.
    rss: int


@dataclass(frozen=True)
class MachineSample:
    """One reading of the whole machine during a run."""

    #: Seconds from the start of the run.
    at: float
    #: CPU use of all cores since the previous reading, in percent of all of them.
    cpu_percent: float
    memory_used: int
    memory_total: int
    #: Use of the file system that holds the rootdir, bytes.
    disk_used: int
    disk_total: int
    #: The one-minute load average.
    load: float


@dataclass(frozen=True)
class FixtureTiming:
    """The set-ups of one fixture in one run, summed over every process."""

    name: str
    scope: str
    #: How many times it was set up (once per scope instance per process).
    count: int
    #: Seconds spent setting it up, all times together, and the longest once.
    seconds: float
    slowest: float


@dataclass(frozen=True)
class RunDetails:
    """What monitoring saw of a run, beyond its results."""

    workers: tuple[WorkerSample, ...] = ()
    machine: tuple[MachineSample, ...] = ()
    fixtures: tuple[FixtureTiming, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """The history a split of shards plans from: fixed when its first shard read it.

    A run enters the history when it is recorded (finished); recorded runs are
    numbered in that order.  The snapshot holds the runs recorded up to
    ``upto``, which no later run (a shard's own, or any other) can change.
    """

    #: What names the split: the CI run whose shards share it (see ``split_id``).
    split: str
    #: The number of the last run recorded when the first shard read the history.
    upto: int
    #: When the first shard read it, as seconds since the epoch.
    created: float


@dataclass(frozen=True)
class FinishedRun:
    """Everything a run leaves: the run, each test's result, and what monitoring saw.

    The recorder builds it at the end of the session; the history stores it and
    the report shows it.  ``testfleet report`` reads it back from the history.
    """

    run: RunRecord
    results: tuple[TestResult, ...]
    details: RunDetails = RunDetails()
