"""Flaky scores from a test's recorded results.

A test that both passed and failed on the same commit is flaky for certain:
nothing in the code changed between the two.  Otherwise a test scores by how
often its result flipped between pass and fail over its last results (the
window, 20 by default), once it has enough of them (5) to say.  Runs in which
most tests failed are left out: an outage (a database down, a broken
checkout) is not flakiness.  Skips and expected failures say nothing about
flakiness and are not counted.

:func:`observe` turns recorded runs and their results into what
:func:`scores` takes: a test that failed and then passed when it ran again in
one run (``attempts > 1``) counts as a failure and a pass in that run, so it is
flaky for certain; runs the process never finished (``"crashed"``) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from testfleet.model import Outcome
from testfleet.model.history import RunRecord, TestResult

#: Results that count as a pass, and as a failure; the others are not counted.
_PASSED: frozenset[str] = frozenset({"passed", "xpassed"})
_FAILED: frozenset[str] = frozenset({"failed", "error"})

DEFAULT_WINDOW = 20
DEFAULT_MIN_SAMPLES = 5
#: A run in which more than this share of its tests failed is an outage.
DEFAULT_OUTAGE_SHARE = 0.5


@dataclass(frozen=True, slots=True)  # slots: a read of 200 runs holds many of them
class Observation:
    """One recorded result of a test."""

    #: The run it was recorded in; runs are numbered in the order they were recorded.
    run: int
    commit: str | None
    outcome: Outcome


@dataclass(frozen=True)
class FlakyScore:
    """How flaky a test looks, and why."""

    nodeid: str
    #: 1.0 for a test flaky for certain; else the flip rate over the window.
    score: float
    #: Passed and failed on one commit.
    certain: bool
    #: Pass/fail results counted (outages, skips and xfails left out).
    samples: int
    #: Changes between pass and fail among them, in recorded order.
    flips: int
    #: The evidence in words.
    evidence: str


@dataclass(frozen=True)
class Observed:
    """Recorded runs as :func:`scores` reads them."""

    #: Each test's observations, in the order of the runs.
    history: dict[str, list[Observation]]
    #: The outage runs, to be left out.
    outages: frozenset[int]
    #: The runs observed (crashed ones not counted).
    runs: int


def observe(runs: Iterable[tuple[RunRecord, Sequence[TestResult]]]) -> Observed:
    """Each test's observations in ``runs`` (each with its results), and the outages.

    A run is numbered by its ``run_id``, which the store gives in the order
    runs begin.  A result that passed after ``attempts > 1`` is a failure and
    then a pass in its run.  Crashed runs are left out.
    """
    history: dict[str, list[Observation]] = {}
    failures: dict[int, tuple[int, int]] = {}
    observed = 0
    # One run at a time, in any order, so that a caller can read the results of
    # hundreds of runs lazily; the observations are put in run order at the end.
    for run, results in runs:
        if run.status == "crashed":
            continue
        observed += 1
        number = _run_id(run)
        failures[number] = (sum(1 for r in results if r.outcome in _FAILED), len(results))
        for result in results:
            seen = history.setdefault(result.nodeid, [])
            if result.flaky:
                seen.append(Observation(number, run.commit, "failed"))
            seen.append(Observation(number, run.commit, result.outcome))
    for seen in history.values():
        seen.sort(key=lambda o: o.run)  # stable: a retried test's failure stays first
    return Observed(history, frozenset(outages(failures)), observed)


def _run_id(run: RunRecord) -> int:
    if run.run_id is None:
        raise ValueError(f"a run read from the store has an id: {run!r}")
    return run.run_id


def outages(runs: Mapping[int, tuple[int, int]], share: float = DEFAULT_OUTAGE_SHARE) -> set[int]:
    """The runs in which more than ``share`` of the tests failed.

    ``runs`` maps a run to (tests failed or erroring, tests with a result).
    """
    return {run for run, (failed, total) in runs.items() if total and failed / total > share}


def score(
    nodeid: str,
    observations: Sequence[Observation],
    *,
    excluded: Iterable[int] = (),
    window: int = DEFAULT_WINDOW,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> FlakyScore | None:
    """The flaky score of one test, or None when its results show no flakiness."""
    left_out = set(excluded)
    counted = sorted(
        (o for o in observations if o.run not in left_out and o.outcome in _PASSED | _FAILED),
        key=lambda o: o.run,
    )
    by_commit: dict[str, tuple[list[int], list[int]]] = {}
    for o in counted:
        if o.commit:
            passes, fails = by_commit.setdefault(o.commit, ([], []))
            (passes if o.outcome in _PASSED else fails).append(o.run)
    recent = counted[-window:]
    flips = sum(1 for a, b in pairwise(recent) if (a.outcome in _PASSED) != (b.outcome in _PASSED))
    for commit, (passes, fails) in sorted(
        by_commit.items(), key=lambda kv: -max(kv[1][0] + kv[1][1])
    ):
        if passes and fails:
            retried = sorted(set(passes) & set(fails))
            evidence = (
                f"failed, then passed when run again, in run{'s' * (len(retried) > 1)} "
                f"{_runs(retried)} on commit {commit[:12]}"
                if retried
                else f"passed and failed on commit {commit[:12]} "
                f"(runs {_runs(passes)} passed, {_runs(fails)} failed)"
            )
            return FlakyScore(
                nodeid, 1.0, certain=True, samples=len(recent), flips=flips, evidence=evidence
            )
    if len(recent) < min_samples or not flips:
        return None
    rate = flips / (len(recent) - 1)
    return FlakyScore(
        nodeid,
        rate,
        certain=False,
        samples=len(recent),
        flips=flips,
        evidence=f"{flips} flips between pass and fail in its last {len(recent)} results",
    )


def scores(
    history: Mapping[str, Sequence[Observation]],
    *,
    excluded: Iterable[int] = (),
    window: int = DEFAULT_WINDOW,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> list[FlakyScore]:
    """Every test that looks flaky, most flaky first (certain ones, then by score)."""
    left_out = set(excluded)
    found = [
        s
        for nodeid, observations in history.items()
        if (
            s := score(
                nodeid, observations, excluded=left_out, window=window, min_samples=min_samples
            )
        )
    ]
    return sorted(found, key=lambda s: (not s.certain, -s.score, -s.flips, s.nodeid))


def _runs(runs: Sequence[int]) -> str:
    shown = ", ".join(f"#{r}" for r in runs[:3])
    return shown + (f" and {len(runs) - 3} more" if len(runs) > 3 else "")
