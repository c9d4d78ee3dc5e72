"""Duration estimates from the history: per test, and per scope group for shared setup.

Pure: data in, data out.  The planner balances workers with these numbers, so
they must be robust (one slow run must not move them) and defined for every
test, including those that never ran.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from testfleet.model.history import Outcome, TestResult

#: No estimate is below this many seconds: the planner divides by estimates.
MIN_ESTIMATE = 1e-6

_PASSING = frozenset({"passed", "xpassed"})
_FAILING = frozenset({"failed", "error"})


@dataclass(frozen=True)
class Estimates:
    """What the history says about the tests of a run."""

    #: Seconds of setup, call and teardown per node id; every requested node id has one.
    per_test: dict[str, float]
    #: Seconds of module/class fixture setup a worker pays once per scope group it runs.
    group_cost: dict[str, float]
    #: Node ids with no history.
    new: frozenset[str]
    #: Node ids whose last outcome was failed or error.
    failed_last: frozenset[str]


def median(values: Iterable[float]) -> float:
    """The median of a non-empty collection, whatever its order."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    # Halves first: the sum of two large floats could overflow.
    return ordered[middle - 1] / 2 + ordered[middle] / 2


def _usable(result: TestResult) -> bool:
    """Whether a result's durations are real ones: finite and not negative."""
    # A sum is finite only if every phase is (inf - inf is nan): one check, not three.
    return (
        math.isfinite(result.setup + result.call + result.teardown)
        and min(result.setup, result.call, result.teardown) >= 0
    )


class _Ran(NamedTuple):
    """One result of a group's test in one run, where it can be found again."""

    start: float
    nodeid: str
    #: Its position in the node id's history.
    position: int
    worker: str | None
    setup: float


def _group_setup(
    groups: Mapping[str, str], history: Mapping[str, Sequence[tuple[int, TestResult]]]
) -> tuple[dict[str, list[float]], dict[tuple[str, int], float]]:
    """Samples of each group's shared setup, and the part of a result that paid it.

    Returns the samples per group and, keyed by (node id, index in its
    history), the sample to take out of that result's duration.
    """
    runs: dict[tuple[int, str], list[_Ran]] = {}
    unordered: set[tuple[int, str]] = set()
    for nodeid, group in groups.items():
        for index, (run_id, result) in enumerate(history.get(nodeid, ())):
            if not _usable(result):
                continue
            if result.start is None or not math.isfinite(result.start):
                unordered.add((run_id, group))
                continue
            runs.setdefault((run_id, group), []).append(
                _Ran(result.start, nodeid, index, result.worker, result.setup)
            )
    samples: dict[str, list[float]] = {}
    paid: dict[tuple[str, int], float] = {}
    for key, members in runs.items():
        if key in unordered:
            continue  # without every start, the first test is unknown
        members.sort()  # by start, then node id and position: a total order
        firsts: dict[str | None, int] = {}
        for at, ran in enumerate(members):
            firsts.setdefault(ran.worker, at)
        paying = set(firsts.values())
        others = [m.setup for at, m in enumerate(members) if at not in paying]
        if not others:
            continue  # nothing to compare with: a group of one pays its own setup
        baseline = median(others)
        for ran in (members[at] for at in firsts.values()):
            sample = max(0.0, ran.setup - baseline)
            samples.setdefault(key[1], []).append(sample)
            paid[(ran.nodeid, ran.position)] = sample
    return samples, paid


def estimate(
    groups: Mapping[str, str],
    history: Mapping[str, Sequence[tuple[int, TestResult]]],
    last_outcomes: Mapping[str, Outcome],
    *,
    last: int = 5,
    default: float = 0.1,
) -> Estimates:
    """Estimate each test of ``groups`` and the shared setup of each group.

    ``groups`` maps every node id to estimate to its scope group (its module
    path); ``history`` maps node ids to ``(run_id, result)`` pairs, newest
    first, as :meth:`HistoryStore.recent_results` returns them; the run id
    tells which results ran together.

    *Group cost.*  In each run, the first test of a group on a worker (the
    smallest ``start``) pays the group's module and class fixture setup.  Its
    sample is its setup minus the median setup of the group's other tests in
    that run, floored at 0; the group's cost is the median of its samples over
    runs (and workers, when a run split the group).  A run where the group ran
    one test, or where a start is missing, gives no sample.  Groups without
    samples cost 0.

    *Per test.*  A first test's sample is taken out of its duration, so its
    estimate is its own work.  The estimate is the median duration (setup,
    call and teardown) of its ``last`` newest passing results (passed or
    xpassed); failing ones stop early or hang, so they count only when none
    passed, as the median of its ``last`` newest results of any outcome.  A
    test without results is *new*: the median estimate of the known tests of
    its group, else of all known tests, else ``default``.  Results with
    non-finite or negative durations are ignored; no estimate is below
    ``MIN_ESTIMATE``.
    """
    if last < 1:
        raise ValueError(f"last must be at least 1, not {last}")
    if not (math.isfinite(default) and default > 0):
        raise ValueError(f"default must be a positive number of seconds, not {default}")
    samples, paid = _group_setup(groups, history)
    known: dict[str, float] = {}
    for nodeid in groups:
        durations: list[tuple[bool, float]] = [
            (result.outcome in _PASSING, max(0.0, result.duration - paid.get((nodeid, i), 0.0)))
            for i, (_run_id, result) in enumerate(history.get(nodeid, ()))
            if _usable(result)
        ]
        if not durations:
            continue
        passing = [d for ok, d in durations if ok][:last]
        chosen = passing or [d for _ok, d in durations[:last]]
        known[nodeid] = max(MIN_ESTIMATE, median(chosen))
    by_group: dict[str, list[float]] = {}
    for nodeid, value in known.items():
        by_group.setdefault(groups[nodeid], []).append(value)
    everything = median(known.values()) if known else max(MIN_ESTIMATE, default)
    per_test: dict[str, float] = {}
    for nodeid, group in groups.items():
        if nodeid in known:
            per_test[nodeid] = known[nodeid]
        elif group in by_group:
            per_test[nodeid] = median(by_group[group])
        else:
            per_test[nodeid] = everything
    return Estimates(
        per_test=per_test,
        group_cost={
            group: median(samples[group]) if group in samples else 0.0
            for group in sorted(set(groups.values()))
        },
        new=frozenset(groups.keys() - known.keys()),
        failed_last=frozenset(n for n in groups if last_outcomes.get(n) in _FAILING),
    )


def extend(known: Estimates, groups: Mapping[str, str], *, default: float = 0.1) -> Estimates:
    """Estimates for the node ids of ``groups`` from estimates made for others.

    ``known`` holds the tests the history knows (estimated with their own
    groups); a test of ``groups`` it lacks is new and takes, as in
    :func:`estimate`, the median of its group's known tests, else of all known
    tests, else ``default``.
    """
    by_group: dict[str, list[float]] = {}
    for nodeid, group in groups.items():
        if nodeid in known.per_test:
            by_group.setdefault(group, []).append(known.per_test[nodeid])
    # "The suite" is the collected tests the history knows, as in estimate().
    collected_known = [known.per_test[n] for n in groups if n in known.per_test]
    everything = median(collected_known) if collected_known else max(MIN_ESTIMATE, default)
    per_test = {
        nodeid: known.per_test[nodeid]
        if nodeid in known.per_test
        else median(by_group[group])
        if group in by_group
        else everything
        for nodeid, group in groups.items()
    }
    return Estimates(
        per_test=per_test,
        group_cost={group: known.group_cost.get(group, 0.0) for group in set(groups.values())},
        new=frozenset(groups.keys() - known.per_test.keys()),
        failed_last=frozenset(n for n in groups if n in known.failed_last),
    )


def newest_outcomes(
    recent: Mapping[str, Sequence[tuple[int, TestResult]]],
) -> dict[str, Outcome]:
    """Each node id's outcome in its newest run, from what ``recent_results`` read.

    Within that run the last result counts (a rerun's, say).
    """
    outcomes: dict[str, Outcome] = {}
    for nodeid, results in recent.items():
        newest = results[0][0]
        for run_id, result in results:
            if run_id != newest:
                break
            outcomes[nodeid] = result.outcome
    return outcomes
