"""Reading the history, on SQLite and on the real PostgreSQL server: windows per test,
the snapshots shards split by, upgrades to them, and writers side by side."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testfleet.history import HistoryError, HistoryStore, PostgresStore, SQLiteStore, estimate
from testfleet.history import postgres as postgres_backend
from testfleet.history import sqlite as sqlite_backend
from testfleet.history._sql import RESULT_COLUMNS, RUN_COLUMNS, result_rows, run_row
from testfleet.history.estimates import newest_outcomes
from testfleet.model.history import CacheFigures, RunRecord, TestResult


@pytest.fixture(params=["sqlite", "postgresql"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a new, empty history goes: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "history.db")
        return
    yield request.getfixturevalue("postgres_database")()


def open_at(spec: str, *, version: int | None = None) -> HistoryStore:
    """The store ``spec`` names, with the schema of ``version`` (default: the newest)."""
    if spec.startswith("postgresql://"):
        pg = type("Old", (PostgresStore,), {"migrations": postgres_backend.MIGRATIONS[:version]})
        return pg(spec) if version else PostgresStore(spec)
    lite = type("Old", (SQLiteStore,), {"migrations": sqlite_backend.MIGRATIONS[:version]})
    return lite(Path(spec)) if version else SQLiteStore(Path(spec))


@pytest.fixture
def store(spec: str) -> Iterator[HistoryStore]:
    with open_at(spec) as opened:
        yield opened


def begin(store: HistoryStore, started: float) -> int:
    return store.begin_run(RunRecord(started, None, 2, "ci", None, (), None, "crashed"))


def finish(store: HistoryStore, run_id: int, results: list[TestResult]) -> None:
    store.finish_run(run_id, finished=run_id + 0.5, exit_code=0, status="complete", results=results)


def record(store: HistoryStore, started: float, results: list[TestResult]) -> int:
    run_id = begin(store, started)
    finish(store, run_id, results)
    return run_id


SUITE = [f"t{n // 10}.py::test_{n}" for n in range(50)]


def test_narrow_runs_do_not_push_other_tests_out(store: HistoryStore) -> None:
    """After 3 full runs of 50 tests and 6 runs of one, every test keeps its own newest runs."""
    full = [
        record(store, float(r), [TestResult(t, "passed", call=1.0 + r) for t in SUITE])
        for r in range(3)
    ]
    narrow = [record(store, 10.0 + r, [TestResult(SUITE[0], "passed", call=9.0)]) for r in range(6)]

    recent = store.recent_results(last=5)

    assert sorted(recent) == sorted(SUITE)
    for nodeid in SUITE[1:]:
        assert [run_id for run_id, _ in recent[nodeid]] == full[::-1]
    assert [run_id for run_id, _ in recent[SUITE[0]]] == narrow[:0:-1]
    known = estimate({t: t.partition("::")[0] for t in SUITE}, recent, {})
    assert known.new == frozenset()
    assert known.per_test[SUITE[1]] == 2.0


def test_a_window_counts_runs_not_rows_and_skips_crashed_runs(store: HistoryStore) -> None:
    """A test run twice in one run counts that run once; a run that never finished counts none."""
    first = record(store, 1.0, [TestResult("a", "passed", call=1.0)])
    twice = record(store, 2.0, [TestResult("a", "failed"), TestResult("a", "passed", call=2.0)])
    begin(store, 3.0)

    recent = store.recent_results(last=2)

    assert recent == {
        "a": [
            (twice, TestResult("a", "failed")),
            (twice, TestResult("a", "passed", call=2.0)),
            (first, TestResult("a", "passed", call=1.0)),
        ]
    }
    assert newest_outcomes(store.recent_results(last=1)) == {"a": "passed"}


def test_a_snapshot_is_fixed_by_the_first_shard_of_its_split(store: HistoryStore) -> None:
    """Runs recorded after a split's snapshot, even ones begun before it, stay out of it."""
    before = record(store, 1.0, [TestResult("a", "passed", call=1.0)])
    running = begin(store, 2.0)
    first = store.snapshot("CI_PIPELINE_ID=7", created=3.0)
    finish(store, running, [TestResult("a", "passed", call=5.0), TestResult("b", "passed")])
    record(store, 4.0, [TestResult("a", "passed", call=7.0)])
    store.import_runs([(RunRecord(0.5, 0.6, 1, "old", None, (), 0, "complete"), [])])

    again = store.snapshot("CI_PIPELINE_ID=7", created=9.0)

    assert again == first
    assert store.recent_results(snapshot=again) == {
        "a": [(before, TestResult("a", "passed", call=1.0))]
    }
    assert len(store.recent_results()["a"]) == 3


def test_the_next_split_sees_every_run_recorded_before_it(store: HistoryStore) -> None:
    """A later CI run's snapshot holds the runs the shards of earlier ones recorded."""
    store.snapshot("CI_PIPELINE_ID=7", created=1.0)
    shard = record(store, 2.0, [TestResult("a", "passed", call=1.0)])

    later = store.snapshot("CI_PIPELINE_ID=8", created=3.0)

    assert store.recent_results(snapshot=later) == {
        "a": [(shard, TestResult("a", "passed", call=1.0))]
    }


def write_as_version_1(store: Any, run: RunRecord, results: list[TestResult]) -> int:
    """Store a run as testfleet wrote it before schema version 2 (no record number)."""
    with store._transaction("write as version 1", write=True) as tx:
        # Version 1's columns only: the cache's came with version 3.
        tx.execute(
            f"INSERT INTO testfleet_runs ({RUN_COLUMNS}) VALUES ({', '.join('?' * 8)})",
            run_row(run)[:8],
        )
        run_id = int(tx.query("SELECT MAX(run_id) FROM testfleet_runs")[0][0])
        tx.executemany(
            f"INSERT INTO testfleet_results (run_id, seq, {RESULT_COLUMNS}) "
            f"VALUES ({', '.join('?' * 9)})",
            (row[:9] for row in result_rows(run_id, results)),
        )
    return run_id


def test_an_upgraded_history_keeps_its_runs_in_snapshots(spec: str) -> None:
    """Runs recorded under schema version 1 are in the first snapshot after the upgrade."""
    with open_at(spec, version=1) as old:
        kept = write_as_version_1(
            old,
            RunRecord(1.0, 2.0, 1, "ci", None, (), 0, "complete"),
            [TestResult("a", "passed", call=1.0)],
        )
        # A run that died under version 1 is never in a snapshot.
        write_as_version_1(old, RunRecord(2.0, None, 1, "ci", None, (), None, "crashed"), [])

    with open_at(spec) as store:
        snapshot = store.snapshot("BUILD_TAG=jenkins-x-1", created=3.0)
        record(store, 4.0, [TestResult("a", "passed", call=2.0)])

        assert store.recent_results(snapshot=snapshot) == {
            "a": [(kept, TestResult("a", "passed", call=1.0))]
        }


FIGURES = CacheFigures(hits=7, misses=3, sets=3, evictions=1, saved_seconds=2.25)


def test_cache_figures_are_recorded_with_the_run_and_read_back(store: HistoryStore) -> None:
    """A run's cache figures come back from runs(); a run without them reads None."""
    with_cache = begin(store, 1.0)
    store.finish_run(
        with_cache, finished=2.0, exit_code=0, status="complete", results=[], cache=FIGURES
    )
    without = record(store, 3.0, [])
    crashed = begin(store, 4.0)

    figures = {r.run_id: r.cache for r in store.runs()}

    assert figures == {with_cache: FIGURES, without: None, crashed: None}


def test_imported_runs_keep_their_cache_figures(store: HistoryStore) -> None:
    """Runs imported (what history merge does) keep their cache figures, or their lack of them."""
    store.import_runs(
        [
            (RunRecord(1.0, 2.0, 2, "a", None, (), 0, "complete", cache=FIGURES), []),
            (RunRecord(3.0, 4.0, 2, "b", None, (), 0, "complete"), []),
        ]
    )

    assert [(r.host, r.cache) for r in store.runs()] == [("b", None), ("a", FIGURES)]


def test_a_version_2_history_is_upgraded_to_record_cache_figures(spec: str) -> None:
    """A version 2 history gets the cache's columns on open; its runs read without figures."""
    with open_at(spec, version=2) as old:
        kept = write_as_version_1(
            old,
            RunRecord(1.0, 2.0, 1, "ci", None, (), 0, "complete"),
            [TestResult("a", "passed", call=1.0)],
        )
        sql_store: Any = old
        with sql_store._transaction("number it as version 2 does", write=True) as tx:
            tx.execute("UPDATE testfleet_runs SET recorded = run_id")

    with open_at(spec) as store:
        later = begin(store, 2.0)
        store.finish_run(
            later, finished=3.0, exit_code=0, status="complete", results=[], cache=FIGURES
        )

        assert [(r.run_id, r.cache) for r in store.runs()] == [(later, FIGURES), (kept, None)]
        assert store.results(kept) == [TestResult("a", "passed", call=1.0)]


def test_a_history_of_a_newer_version_is_refused(spec: str) -> None:
    """A store written by a testfleet with one more migration than this one is refused on open."""
    with open_at(spec) as store:
        record(store, 1.0, [])
        sql_store: Any = store
        with sql_store._transaction("pretend a newer testfleet wrote it", write=True) as tx:
            tx.execute("UPDATE testfleet_meta SET value = '5' WHERE key = 'schema_version'")

    with pytest.raises(
        HistoryError, match=r"schema version 5, newer than this testfleet knows \(4\)"
    ):
        open_at(spec)


#: One writer: RUNS runs of RESULTS results each, recorded as fast as it can,
#: with a snapshot of one shared split between them.
WRITER = """
import sys
from pathlib import Path
from testfleet.history import open_store
from testfleet.model.history import RunRecord, TestResult

spec, name = sys.argv[1], sys.argv[2]
upto = set()
with open_store(spec, Path.cwd()) as store:
    for n in range({runs}):
        run_id = store.begin_run(RunRecord(float(n), None, 1, name, None, (), None, "crashed"))
        results = [TestResult(f"{{name}}::t{{i}}", "passed", call=0.5) for i in range({results})]
        store.finish_run(run_id, finished=n + 1.0, exit_code=0, status="complete", results=results)
        upto.add(store.snapshot("TESTFLEET_SPLIT_ID=shared", created=float(n)).upto)
print(*upto)
"""


def test_writers_side_by_side_lose_nothing(spec: str, tmp_path: Path) -> None:
    """Four processes recording into one store at once: every run and result is there."""
    script = WRITER.format(runs=5, results=300)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, spec, f"w{n}"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [w.communicate(timeout=120) for w in writers]

    assert [w.returncode for w in writers] == [0] * 4, [err for _, err in outputs]
    assert len({out.strip() for out, _ in outputs}) == 1  # one snapshot for everyone
    with open_at(spec) as store:
        runs = store.runs()
        assert [r.status for r in runs] == ["complete"] * 20
        assert all(len(store.results(r.run_id or 0)) == 300 for r in runs)


def test_a_version_3_history_is_upgraded_with_totals_for_its_runs(spec: str) -> None:
    """Upgrading to version 4 counts the tests and test seconds of the runs already there."""
    with open_at(spec, version=3) as old:
        kept = write_as_version_1(
            old,
            RunRecord(1.0, 2.0, 1, "ci", None, (), 0, "complete"),
            [TestResult("a", "passed", setup=0.5, call=1.0), TestResult("b", "failed", call=2.0)],
        )
        crashed = write_as_version_1(
            old, RunRecord(3.0, None, 1, "ci", None, (), None, "crashed"), []
        )

    with open_at(spec) as store:
        totals = {r.run_id: (r.tests, r.test_seconds) for r in store.runs()}
        assert totals == {kept: (2, 3.5), crashed: (None, None)}
        assert [r.attempts for r in store.results(kept)] == [1, 1]
