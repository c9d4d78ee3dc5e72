"""Duration estimates: exact numbers for the rules, and property tests."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testfleet.history import Estimates, estimate
from testfleet.history.estimates import MIN_ESTIMATE, median
from testfleet.model.history import Outcome, TestResult

History = dict[str, list[tuple[int, TestResult]]]


def r(nodeid: str, call: float, outcome: Any = "passed", **kw: Any) -> TestResult:
    return TestResult(nodeid, outcome, call=call, **kw)


def runs_of(
    nodeid: str, calls: list[float], outcome: Any = "passed"
) -> list[tuple[int, TestResult]]:
    """Newest first, one run per value."""
    return [(100 - i, r(nodeid, c, outcome)) for i, c in enumerate(calls)]


def test_median_of_odd_and_even_counts() -> None:
    """The median is the middle value, or the mean of the two middle ones."""
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([1e308, 1e308]) == 1e308


def test_median_of_passing_results_ignores_an_outlier() -> None:
    """A test's estimate is the median of its passing results, so one slow run does not move it."""
    est = estimate({"a": "m"}, {"a": runs_of("a", [1.0, 2.0, 100.0, 3.0, 4.0])}, {})
    assert est.per_test == {"a": 3.0}
    assert est.new == frozenset()


def test_only_the_last_n_passing_results_count() -> None:
    """Passing results older than the ``last`` newest are ignored."""
    history = {"a": runs_of("a", [1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 9.0])}
    assert estimate({"a": "m"}, history, {}, last=3).per_test == {"a": 1.0}
    assert estimate({"a": "m"}, history, {}, last=7).per_test == {"a": 9.0}


def test_failing_results_count_only_when_none_passed() -> None:
    """Failed runs are left out while a passing one exists, and used when none passed."""
    mixed = {"a": [(3, r("a", 50.0, "failed")), (2, r("a", 2.0)), (1, r("a", 4.0, "xpassed"))]}
    assert estimate({"a": "m"}, mixed, {}).per_test == {"a": 3.0}
    failing = {"a": [(3, r("a", 50.0, "failed")), (2, r("a", 10.0, "error"))]}
    assert estimate({"a": "m"}, failing, {}).per_test == {"a": 30.0}


def test_duration_is_setup_call_and_teardown() -> None:
    """A result's duration is the sum of its three phases."""
    history = {"a": [(1, TestResult("a", "passed", setup=0.5, call=1.0, teardown=0.25))]}
    assert estimate({"a": "m"}, history, {}).per_test == {"a": 1.75}


def test_new_test_gets_its_group_median_else_suite_median_else_default() -> None:
    """A new test gets the median of its group, else of all known tests, else the default."""
    groups = {"m1::a": "m1", "m1::b": "m1", "m1::c": "m1", "m1::new": "m1"}
    groups |= {"m2::x": "m2", "m3::new": "m3"}
    history = {
        "m1::a": runs_of("m1::a", [1.0]),
        "m1::b": runs_of("m1::b", [2.0]),
        "m1::c": runs_of("m1::c", [6.0]),
        "m2::x": runs_of("m2::x", [10.0]),
    }
    est = estimate(groups, history, {})
    assert est.per_test["m1::new"] == 2.0
    assert est.per_test["m3::new"] == 4.0  # median of 1, 2, 6, 10
    assert est.new == frozenset({"m1::new", "m3::new"})
    assert estimate({"a": "m"}, {}, {}, default=0.25).per_test == {"a": 0.25}


def test_failed_last_from_last_outcomes() -> None:
    """Tests whose last outcome was failed or error are marked, requested ones only."""
    outcomes: dict[str, Outcome] = {"a": "failed", "b": "error", "c": "passed", "gone": "failed"}
    est = estimate({"a": "m", "b": "m", "c": "m", "d": "m"}, {}, outcomes)
    assert est.failed_last == frozenset({"a", "b"})


def _module_run(run_id: int, first_setup: float, worker: str = "gw0") -> History:
    """One run of module m: a pays the module fixture, b and c are ordinary."""
    return {
        "m::a": [(run_id, TestResult("m::a", "passed", first_setup, 0.5, 0.0, worker, 0.0))],
        "m::b": [(run_id, TestResult("m::b", "passed", 0.1, 0.5, 0.0, worker, 3.0))],
        "m::c": [(run_id, TestResult("m::c", "passed", 0.3, 0.5, 0.0, worker, 4.0))],
    }


GROUP_M = {"m::a": "m", "m::b": "m", "m::c": "m"}


def test_first_test_of_a_group_pays_the_group_setup() -> None:
    """The first test's extra setup goes to the group's cost, not to its own estimate."""
    est = estimate(GROUP_M, _module_run(1, first_setup=2.0), {})
    assert est.group_cost == {"m": pytest.approx(1.8)}  # 2.0 minus the median of 0.1 and 0.3
    assert est.per_test["m::a"] == pytest.approx(0.7)  # 2.5 minus 1.8
    assert est.per_test["m::b"] == pytest.approx(0.6)


def test_group_cost_is_the_median_over_runs() -> None:
    """The group's cost is the median of its samples in each run."""
    history: History = {n: [] for n in GROUP_M}
    for run_id, setup in [(3, 1.2), (2, 5.2), (1, 2.2)]:
        for nodeid, results in _module_run(run_id, setup).items():
            history[nodeid] += results
    est = estimate(GROUP_M, history, {})
    assert est.group_cost["m"] == pytest.approx(2.0)
    assert est.per_test["m::a"] == pytest.approx(0.7)


def test_the_first_test_is_the_one_that_started_first() -> None:
    """Whichever test started first on the worker pays, whatever the mapping order."""
    history = _module_run(1, first_setup=0.1)
    history["m::c"] = [(1, TestResult("m::c", "passed", 2.1, 0.5, 0.0, "gw0", -1.0))]
    est = estimate(GROUP_M, history, {})
    assert est.group_cost == {"m": pytest.approx(2.0)}
    assert est.per_test["m::c"] == pytest.approx(0.6)


def test_a_split_group_pays_on_each_worker() -> None:
    """A group split over two workers gives a sample for each worker's first test."""
    groups = {f"m::{n}": "m" for n in "abcd"}
    history: History = {
        "m::a": [(1, TestResult("m::a", "passed", 2.2, 1.0, worker="gw0", start=0.0))],
        "m::b": [(1, TestResult("m::b", "passed", 0.2, 1.0, worker="gw0", start=3.0))],
        "m::c": [(1, TestResult("m::c", "passed", 1.2, 1.0, worker="gw1", start=0.0))],
        "m::d": [(1, TestResult("m::d", "passed", 0.2, 1.0, worker="gw1", start=2.0))],
    }
    est = estimate(groups, history, {})
    assert est.group_cost == {"m": pytest.approx(1.5)}  # median of 2.0 and 1.0
    assert est.per_test["m::a"] == pytest.approx(1.2)
    assert est.per_test["m::c"] == pytest.approx(1.2)


def test_sample_is_floored_at_zero() -> None:
    """A first test with less setup than the others gives a sample of 0, not a negative one."""
    est = estimate(GROUP_M, _module_run(1, first_setup=0.0), {})
    assert est.group_cost == {"m": 0.0}
    assert est.per_test["m::a"] == 0.5


def test_no_sample_without_other_tests_or_starts() -> None:
    """A group of one, or a run without starts, gives no sample, so the cost is 0."""
    lone = {"m::a": [(1, TestResult("m::a", "passed", 2.0, 0.5, worker="gw0", start=0.0))]}
    est = estimate({"m::a": "m"}, lone, {})
    assert (est.group_cost, est.per_test) == ({"m": 0.0}, {"m::a": 2.5})
    history = _module_run(1, first_setup=2.0)
    history["m::b"] = [(1, TestResult("m::b", "passed", 0.1, 0.5))]
    assert estimate(GROUP_M, history, {}).group_cost == {"m": 0.0}


def test_unusable_results_are_ignored() -> None:
    """Results with non-finite or negative durations do not count."""
    history = {
        "a": [(3, r("a", math.inf)), (2, r("a", math.nan)), (1, r("a", -1.0)), (0, r("a", 2.0))],
        "b": [(1, r("b", math.nan))],
    }
    est = estimate({"a": "m", "b": "m"}, history, {})
    assert est.per_test == {"a": 2.0, "b": 2.0}
    assert est.new == frozenset({"b"})


def test_estimates_never_reach_zero() -> None:
    """A test whose results all took no time still gets a positive estimate."""
    est = estimate({"a": "m"}, {"a": runs_of("a", [0.0, 0.0])}, {})
    assert est.per_test == {"a": MIN_ESTIMATE}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"last": 0}, "last must be at least 1"), ({"default": 0.0}, "default must be a positive")],
)
def test_invalid_parameters_raise(kwargs: dict[str, Any], message: str) -> None:
    """``last`` below 1 or a non-positive ``default`` is a programming error."""
    with pytest.raises(ValueError, match=message):
        estimate({}, {}, {}, **kwargs)


# --- properties -------------------------------------------------------------

durations = st.floats(min_value=0.0, max_value=1e4)
anything = st.floats(allow_nan=True, allow_infinity=True)
ALL_OUTCOMES: list[Outcome] = ["passed", "failed", "skipped", "error", "xfailed", "xpassed"]
outcomes = st.sampled_from(ALL_OUTCOMES)


@st.composite
def suites(
    draw: st.DrawFn, values: st.SearchStrategy[float] = durations
) -> tuple[dict[str, str], History, dict[str, Outcome]]:
    """Groups, a history of up to 6 runs over them, and last outcomes."""
    names = draw(st.lists(st.sampled_from("abcdefgh"), min_size=0, max_size=8, unique=True))
    groups = {f"m{draw(st.integers(0, 2))}.py::{n}": "" for n in names}
    groups = {nodeid: nodeid.partition("::")[0] for nodeid in groups}
    history: History = {}
    for run_id in range(draw(st.integers(0, 6)), 0, -1):
        for nodeid in groups:
            if draw(st.booleans()):
                result = TestResult(
                    nodeid,
                    draw(outcomes),
                    draw(values),
                    draw(values),
                    draw(values),
                    draw(st.sampled_from(["gw0", "gw1"])),
                    draw(st.one_of(st.none(), durations)),
                )
                history.setdefault(nodeid, []).append((run_id, result))
    last = {n: draw(outcomes) for n in groups if draw(st.booleans())}
    return groups, history, last


@settings(max_examples=300, deadline=None)
@given(suite=st.one_of(suites(), suites(anything)), last=st.integers(1, 6))
def test_every_requested_test_gets_a_positive_finite_estimate(
    suite: tuple[dict[str, str], History, dict[str, Outcome]], last: int
) -> None:
    """Whatever the history holds, each requested node id gets a positive, finite estimate."""
    groups, history, outcomes_ = suite
    est = estimate(groups, history, outcomes_, last=last)
    assert est.per_test.keys() == groups.keys()
    assert all(math.isfinite(v) and v > 0 for v in est.per_test.values())
    assert all(math.isfinite(v) and v >= 0 for v in est.group_cost.values())
    assert est.new <= groups.keys()
    assert est.failed_last <= groups.keys()


@settings(max_examples=300, deadline=None)
@given(
    others=st.lists(st.floats(0.01, 10.0), min_size=4, max_size=4),
    outlier=st.floats(0.0, 1e6),
    position=st.integers(0, 4),
)
def test_one_outlier_stays_within_the_range_of_the_others(
    others: list[float], outlier: float, position: int
) -> None:
    """With five passing results, one outlier cannot pull the estimate outside the other four."""
    calls = [*others]
    calls.insert(position, outlier)
    value = estimate({"a": "m"}, {"a": runs_of("a", calls)}, {}).per_test["a"]
    assert min(others) <= value <= max(others)


@settings(max_examples=200, deadline=None)
@given(suite=suites(), seed=st.integers(0, 2**32))
def test_estimates_do_not_depend_on_mapping_order(
    suite: tuple[dict[str, str], History, dict[str, Outcome]], seed: int
) -> None:
    """Reordering the keys of the input mappings gives the same estimates."""
    groups, history, last = suite
    rng = random.Random(seed)

    def shuffled(mapping: dict[str, Any]) -> dict[str, Any]:
        keys = list(mapping)
        rng.shuffle(keys)
        return {k: mapping[k] for k in keys}

    expected: Estimates = estimate(groups, history, last)
    assert estimate(shuffled(groups), shuffled(history), shuffled(last)) == expected


def test_extend_fills_new_tests_like_estimate() -> None:
    """Extending estimates of known tests to a collected suite gives what estimate would."""
    from testfleet.history.estimates import extend

    history = {
        "m.py::a": [(1, TestResult("m.py::a", "passed", 0.0, 1.0, 0.0))],
        "m.py::b": [(1, TestResult("m.py::b", "failed", 0.0, 3.0, 0.0))],
        "n.py::c": [(1, TestResult("n.py::c", "passed", 0.0, 5.0, 0.0))],
    }
    outcomes = {"m.py::a": "passed", "m.py::b": "failed", "n.py::c": "passed"}
    collected = {"m.py::a": "m.py", "m.py::b": "m.py", "m.py::new": "m.py", "o.py::d": "o.py"}
    known = estimate({n: n.partition("::")[0] for n in history}, history, outcomes)
    assert extend(known, collected) == estimate(collected, history, outcomes)
