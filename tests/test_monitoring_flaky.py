"""Unit and property tests of flaky scores: certain flakiness on one commit, flip
rates over a window, outages left out."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from testfleet.monitoring.flaky import Observation, outages, score, scores


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
