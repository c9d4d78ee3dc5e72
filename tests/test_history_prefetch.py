"""Reading the history ahead of a run: the reads, and the reader process that does them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.history import HistoryError, SQLiteStore, estimate
from testfleet.history.estimates import newest_outcomes
from testfleet.history.prefetch import Prefetch, estimate_known, read_recent, read_split
from testfleet.model.history import RunRecord, TestResult


def record(store: SQLiteStore, started: float, results: list[TestResult]) -> int:
    run_id = store.begin_run(RunRecord(started, None, 2, "ci", None, (), None, "crashed"))
    store.finish_run(
        run_id, finished=started + 0.5, exit_code=0, status="complete", results=results
    )
    return run_id


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A SQLite history of three runs of two modules, the newest with a failure."""
    path = tmp_path / "h.db"
    with SQLiteStore(path) as store:
        for n in range(3):
            record(
                store,
                float(n),
                [
                    TestResult("a.py::x", "failed" if n == 2 else "passed", call=1.0 + n),
                    TestResult("a.py::y", "passed", call=0.5, start=0.1),
                    TestResult("b.py::z", "passed", call=2.0),
                ],
            )
    return path


def test_no_default_store_reads_nothing_and_creates_none(tmp_path: Path) -> None:
    """Without --history and without a default store yet, there is nothing to read."""
    assert read_recent(None, tmp_path) == {}
    assert not (tmp_path / ".testfleet").exists()


def test_read_recent_reads_the_store(history: Path) -> None:
    """The read-ahead reads what the store's recent_results holds."""
    with SQLiteStore(history) as store:
        expected = store.recent_results()
    assert read_recent(str(history), history.parent) == expected
    assert set(expected) == {"a.py::x", "a.py::y", "b.py::z"}


def test_an_unreadable_store_raises_history_error(tmp_path: Path) -> None:
    """A file that is not a history is a HistoryError, not a crash."""
    (tmp_path / "h.db").write_text("not a database" * 100)
    with pytest.raises(HistoryError):
        read_recent(str(tmp_path / "h.db"), tmp_path)


def test_the_reader_process_estimates_as_the_run_would(history: Path) -> None:
    """The forked reader sends the estimates that estimating in process gives."""
    prefetch = Prefetch(str(history), history.parent, None, now=100.0)
    result = prefetch.result()

    assert not isinstance(result, HistoryError)
    known, snapshot = result
    assert snapshot is None
    expected = estimate_known(read_recent(str(history), history.parent))
    assert (known.per_test, known.group_cost) == (expected.per_test, expected.group_cost)
    assert known.failed_last == expected.failed_last == {"a.py::x"}


def test_the_reader_of_a_split_reads_its_snapshot(history: Path) -> None:
    """For a shard, the reader stores the split's snapshot; a later read gets the same one."""
    prefetch = Prefetch(str(history), history.parent, "split-1", now=100.0)
    result = prefetch.result()

    assert not isinstance(result, HistoryError)
    known, snapshot = result
    assert snapshot is not None
    recent, again = read_split(str(history), history.parent, "split-1", now=200.0)
    assert again == snapshot
    assert known.per_test == estimate_known(recent).per_test


def test_the_reader_reports_an_unreadable_store(tmp_path: Path) -> None:
    """A store the reader cannot read comes back as the HistoryError that says why."""
    (tmp_path / "h.db").write_text("not a database" * 100)
    result = Prefetch(str(tmp_path / "h.db"), tmp_path, None, now=0.0).result()

    assert isinstance(result, HistoryError)
    with pytest.raises(HistoryError) as raised:
        read_recent(str(tmp_path / "h.db"), tmp_path)
    assert str(result) == str(raised.value)


def test_an_abandoned_reader_is_ended_and_reaped(history: Path) -> None:
    """Abandoning the reader (a run that will not plan) leaves no child behind."""
    import os

    prefetch = Prefetch(str(history), history.parent, None, now=0.0)
    prefetch.abandon()

    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_newest_outcomes_from_recent_results() -> None:
    """The newest run's outcome counts; within it, the last result (a rerun) wins."""
    recent = {
        "a": [
            (9, TestResult("a", "failed")),
            (9, TestResult("a", "passed")),
            (3, TestResult("a", "failed")),
        ],
        "b": [(7, TestResult("b", "error")), (3, TestResult("b", "passed"))],
    }
    assert newest_outcomes(recent) == {"a": "passed", "b": "error"}


OUTCOMES = st.sampled_from(["passed", "failed", "skipped", "xfailed", "xpassed", "error"])
RESULTS = st.builds(
    TestResult,
    nodeid=st.just(""),
    outcome=OUTCOMES,
    call=st.floats(min_value=0, max_value=100),
)


@st.composite
def recents(draw: st.DrawFn) -> dict[str, list[tuple[int, TestResult]]]:
    """Recent results as a store returns them: newest run first, each run's results in order."""
    nodeids = draw(
        st.lists(st.sampled_from(["a.py::x", "a.py::y", "b.py::z", "c.py::k::t"]), unique=True)
    )
    recent = {}
    for nodeid in nodeids:
        runs = draw(st.lists(st.integers(1, 20), min_size=1, max_size=5, unique=True))
        recent[nodeid] = [
            (run_id, result)
            for run_id in sorted(runs, reverse=True)
            for result in draw(st.lists(RESULTS, min_size=1, max_size=3))
        ]
    return recent


@given(recent=recents())
def test_estimate_known_covers_each_known_test_in_its_module(
    recent: dict[str, list[tuple[int, TestResult]]],
) -> None:
    """Property: every known test is estimated in its module's group, and it failed last
    exactly when its newest run's last result failed or errored."""
    known = estimate_known(recent)

    assert known.per_test.keys() == recent.keys()
    assert known.new == frozenset()
    assert known.group_cost.keys() == {n.partition("::")[0] for n in recent}
    assert known.failed_last == {
        n
        for n, results in recent.items()
        if [r for run_id, r in results if run_id == results[0][0]][-1].outcome
        in ("failed", "error")
    }
    groups = {n: n.partition("::")[0] for n in recent}
    assert known == estimate(groups, recent, newest_outcomes(recent))
