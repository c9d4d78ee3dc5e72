"""Unit and property tests of flaky scores: certain flakiness on one commit, flip
rates over a window, outages left out."""

from __future__ import annotations

import itertools
import json
import random

from hypothesis import given
from hypothesis import strategies as st

from testfleet.model.history import RunRecord, RunStatus, TestResult
from testfleet.monitoring.flaky import FlakyScore, Observation, observe, outages, score, scores
from testfleet.reporting.flaky import format_flaky
from testfleet.reporting.flaky import to_json as flaky_json


def run_of(outcomes: str, commit: str | None = None, start: int = 1) -> list[Observation]:
    """``"ppfp"`` -> passed, passed, failed, passed in runs start, start+1, ..."""
    names = {"p": "passed", "f": "failed", "e": "error", "s": "skipped", "x": "xfailed"}
    return [
        Observation(start + i, commit if commit is not None else f"c{start + i}", names[c])  # type: ignore[arg-type]
        for i, c in enumerate(outcomes)
    ]


def test_passing_and_failing_on_one_commit_is_flaky_for_certain() -> None:
    found = score("t", [*run_of("p", "abc", 1), *run_of("f", "abc", 2)])
    assert found is not None
    assert found.certain
    assert found.score == 1.0
    assert found.evidence == "passed and failed on commit abc (runs #1 passed, #2 failed)"


def test_a_test_that_only_passes_or_only_fails_is_not_flaky() -> None:
    assert score("t", run_of("p" * 30)) is None
    assert score("t", run_of("f" * 30)) is None
    assert score("t", run_of("ppppp" + "fffff")) is not None  # one flip: it broke


def test_the_flip_rate_needs_enough_samples() -> None:
    assert score("t", run_of("pfpf")) is None
    found = score("t", run_of("pfpfp"))
    assert found is not None
    assert (found.samples, found.flips, found.score) == (5, 4, 1.0)
    assert not found.certain
    assert found.evidence == "4 flips between pass and fail in its last 5 results"


def test_only_the_window_counts() -> None:
    history = run_of("pfpfpfpfpf" + "p" * 20)
    assert score("t", history) is None  # the flips are older than the last 20
    found = score("t", history, window=25)
    assert found is not None
    assert found.flips == 5


def test_skips_and_expected_failures_do_not_count() -> None:
    found = score("t", run_of("psxfsxpxf"), min_samples=3)
    assert found is not None
    assert (found.samples, found.flips) == (4, 3)


def test_outage_runs_are_left_out() -> None:
    runs = {1: (1, 100), 2: (80, 100), 3: (0, 100), 4: (51, 100), 5: (50, 100), 6: (0, 0)}
    assert outages(runs) == {2, 4}
    history = run_of("pppfpppfppp")
    assert score("t", history) is not None
    assert score("t", history, excluded={4, 8}) is None


def test_scores_put_certain_ones_first() -> None:
    history = {
        "a": run_of("pfpfpfp"),
        "b": [*run_of("p", "k", 1), *run_of("f", "k", 2), *run_of("ppppp", start=3)],
        "c": run_of("ppppppp"),
        "d": run_of("ppfpppp"),
    }
    assert [s.nodeid for s in scores(history)] == ["b", "a", "d"]


@given(st.lists(st.sampled_from("pfsxe"), max_size=40), st.integers(1, 30), st.integers(1, 10))
def test_a_score_is_a_rate_and_never_claims_more_than_it_saw(
    outcomes: list[str], window: int, min_samples: int
) -> None:
    history = run_of("".join(outcomes))  # every run on a commit of its own
    found = score("t", history, window=window, min_samples=min_samples)
    counted = [c for c in outcomes if c in "pfe"][-window:]
    if found is None:
        flips = sum(1 for a, b in itertools.pairwise(counted) if (a == "p") != (b == "p"))
        assert len(counted) < min_samples or flips == 0
        return
    assert not found.certain
    assert 0 < found.score <= 1
    assert found.samples == len(counted)
    assert found.flips <= found.samples - 1


# -- from recorded runs --------------------------------------------------------------


def recorded(
    run_id: int, results: list[TestResult], *, commit: str = "abc", status: RunStatus = "complete"
) -> tuple[RunRecord, list[TestResult]]:
    run = RunRecord(
        started=1000.0 + run_id,
        finished=None if status == "crashed" else 1001.0 + run_id,
        workers=2,
        host="h",
        commit=commit,
        arguments=(),
        exit_code=None if status == "crashed" else 0,
        status=status,
        run_id=run_id,
    )
    return run, results


def test_observe_turns_runs_into_observations_oldest_first() -> None:
    observed = observe(
        [
            recorded(2, [TestResult("t", "failed")], commit="c2"),
            recorded(1, [TestResult("t", "passed"), TestResult("u", "skipped")], commit="c1"),
            recorded(3, [TestResult("t", "passed")], status="crashed"),
        ]
    )
    assert observed.history == {
        "t": [Observation(1, "c1", "passed"), Observation(2, "c2", "failed")],
        "u": [Observation(1, "c1", "skipped")],
    }
    assert (observed.runs, observed.outages) == (2, frozenset({2}))


def test_a_test_that_passed_when_run_again_is_flaky_for_certain() -> None:
    observed = observe(
        [
            recorded(7, [TestResult("t", "passed", attempts=2), TestResult("u", "passed")]),
            recorded(8, [TestResult("t", "passed"), TestResult("u", "passed")]),
        ]
    )
    assert observed.history["t"][:2] == [
        Observation(7, "abc", "failed"),
        Observation(7, "abc", "passed"),
    ]
    assert observed.outages == frozenset()  # it passed in the end: no failure in run 7
    [found] = scores(observed.history, excluded=observed.outages)
    assert found.certain
    assert found.evidence == "failed, then passed when run again, in run #7 on commit abc"


def test_a_test_that_failed_every_attempt_is_one_failure() -> None:
    observed = observe([recorded(1, [TestResult("t", "failed", attempts=3)])])
    assert observed.history == {"t": [Observation(1, "abc", "failed")]}


def test_observe_leaves_outage_runs_out() -> None:
    runs = [
        recorded(i, [TestResult("t", outcome), TestResult("u", "passed")], commit=f"c{i}")
        for i, outcome in enumerate(["passed"] * 5 + ["failed"] + ["passed"] * 5, start=1)
    ]
    # run 6: one of two tests failed, not more than half: not an outage, and t broke once.
    observed = observe(runs)
    assert observed.outages == frozenset()
    assert [s.nodeid for s in scores(observed.history)] == ["t"]
    runs[5] = recorded(6, [TestResult("t", "failed"), TestResult("u", "error")], commit="c6")
    observed = observe(runs)
    assert observed.outages == frozenset({6})
    assert scores(observed.history, excluded=observed.outages) == []


# -- the table and the JSON ------------------------------------------------------------


def test_the_table_of_flaky_tests() -> None:
    found = [
        FlakyScore("test_a.py::test_x", 1.0, True, 6, 2, "passed and failed on commit abc"),
        FlakyScore("test_b.py::test_long_name", 0.25, False, 9, 2, "2 flips in its last 9"),
    ]
    assert format_flaky(found, runs=12, outages={3}).splitlines() == [
        "test                       score  certain  samples  flips  evidence",
        "test_a.py::test_x           1.00  yes            6      2  passed and failed on "
        "commit abc",
        "test_b.py::test_long_name   0.25  no             9      2  2 flips in its last 9",
        "",
        "2 flaky tests (1 for certain) in the last 12 runs; 1 run where most tests failed "
        "left out (#3).",
    ]


def test_no_flaky_tests_is_one_line() -> None:
    assert format_flaky([], runs=1, outages=()) == "No flaky tests in the last 1 run."
    assert format_flaky([], runs=9, outages=range(1, 8)) == (
        "No flaky tests in the last 9 runs; 7 runs where most tests failed left out "
        "(#1, #2, #3, #4, #5 and 2 more)."
    )


def test_the_json_of_flaky_tests() -> None:
    found = [FlakyScore("t", 2 / 3, False, 4, 2, "2 flips")]
    assert json.loads(flaky_json(found, runs=4, outages={2, 1})) == {
        "runs": 4,
        "outages": [1, 2],
        "flaky": [
            {
                "nodeid": "t",
                "score": 0.667,
                "certain": False,
                "samples": 4,
                "flips": 2,
                "evidence": "2 flips",
            }
        ],
    }


results_of_a_run = st.lists(
    st.builds(
        TestResult,
        nodeid=st.sampled_from(["a", "b", "c"]),
        outcome=st.sampled_from(["passed", "failed", "skipped", "error", "xfailed"]),
        attempts=st.integers(1, 3),
    ),
    max_size=6,
)


@given(
    st.lists(
        st.tuples(results_of_a_run, st.sampled_from(["c1", "c2"]), st.booleans()), max_size=12
    ),
    st.randoms(use_true_random=False),
)
def test_observations_count_every_result_and_every_retry(
    runs: list[tuple[list[TestResult], str, bool]], shuffler: random.Random
) -> None:
    given_runs = [
        recorded(i, results, commit=commit, status="crashed" if crashed else "complete")
        for i, (results, commit, crashed) in enumerate(runs, start=1)
    ]
    shuffled = list(given_runs)
    shuffler.shuffle(shuffled)
    observed = observe(shuffled)
    assert observed == observe(given_runs)
    kept = [results for results, _, crashed in runs if not crashed]
    assert observed.runs == len(kept)
    assert sum(map(len, observed.history.values())) == sum(
        len(results) + sum(r.flaky for r in results) for results in kept
    )
    # Failed, then passed when run again: a failure and a pass on one commit.
    retried = {r.nodeid for results in kept for r in results if r.flaky and r.outcome == "passed"}
    flaky = {s.nodeid: s for s in scores(observed.history)}  # no outages left out
    assert all(flaky[nodeid].certain for nodeid in retried)
