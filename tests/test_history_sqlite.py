"""The SQLite history store: round trips, crash marking, refusals and migrations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest

from testfleet.history import HistoryError, SQLiteStore, open_store
from testfleet.history._sql import Transaction
from testfleet.history.estimates import newest_outcomes
from testfleet.history.sqlite import MIGRATIONS
from testfleet.model.history import (
    FixtureTiming,
    MachineSample,
    RunDetails,
    RunRecord,
    TestResult,
    WorkerSample,
)

FIX = "pass --history=PATH / --no-history"


def make_run(started: float = 1000.0, **changes: Any) -> RunRecord:
    values: dict[str, Any] = {
        "started": started,
        "finished": None,
        "workers": 4,
        "host": "ci-1",
        "commit": "0123abc",
        "arguments": ("-q", "tests/"),
        "exit_code": None,
        "status": "crashed",
    }
    values.update(changes)
    return RunRecord(**values)


def make_results() -> list[TestResult]:
    return [
        TestResult("t.py::a", "passed", 0.25, 1.5, 0.125, "gw0", 0.0, 1.25, 300 << 20, 2),
        TestResult("t.py::b", "failed", 0.0, 0.5, 0.0, "gw1", 0.03125, quarantined=True),
        TestResult("t.py::c", "skipped", category="unit", resources=("db",)),
    ]


def record(
    store: SQLiteStore,
    started: float,
    results: list[TestResult],
    status: str = "complete",
) -> int:
    run_id = store.begin_run(make_run(started))
    if status != "crashed":
        store.finish_run(
            run_id,
            finished=started + 10,
            exit_code=0,
            status=cast(Any, status),
            results=results,
        )
    return run_id


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".testfleet" / "history.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(path) as opened:
        yield opened


def test_creates_directory_file_wal_and_schema_version(path: Path) -> None:
    """Opening an absent path creates its directory and a WAL database at the newest schema."""
    SQLiteStore(path).close()
    assert query(path, "PRAGMA journal_mode") == [("wal",)]
    assert query(path, "SELECT value FROM testfleet_meta WHERE key = 'schema_version'") == [
        (str(len(MIGRATIONS)),)
    ]
    tables = {name for (name,) in query(path, "SELECT name FROM sqlite_master")}
    assert {"testfleet_runs", "testfleet_results", "testfleet_results_nodeid"} <= tables
    columns = query(path, "SELECT name, type, \"notnull\" FROM pragma_table_info('testfleet_runs')")
    assert [c for c in columns if c[0].startswith("cache_")] == [
        ("cache_hits", "INTEGER", 0),
        ("cache_misses", "INTEGER", 0),
        ("cache_sets", "INTEGER", 0),
        ("cache_evictions", "INTEGER", 0),
        ("cache_saved_seconds", "REAL", 0),
    ]


def test_begin_without_finish_stays_crashed(store: SQLiteStore) -> None:
    """A run that was begun and never finished is stored as crashed, without an end."""
    run_id = store.begin_run(make_run(status="complete", finished=2000.0, exit_code=0))
    assert store.runs() == [make_run(run_id=run_id)]
    assert store.results(run_id) == []


def test_round_trip_of_run_and_results(store: SQLiteStore) -> None:
    """A finished run and its results read back exactly as they were written."""
    run_id = store.begin_run(make_run(commit=None, arguments=("-k", "a and not 'b c'")))
    details = RunDetails(
        workers=(WorkerSample(0.5, "gw0", 99.5, 80 << 20), WorkerSample(0.5, "controller", 1, 2)),
        machine=(MachineSample(0.5, 55.0, 3 << 30, 24 << 30, 5 << 30, 250 << 30, 1.75),),
        fixtures=(FixtureTiming("db", "session", 2, 1.5, 1.0),),
    )
    store.finish_run(
        run_id,
        finished=1012.5,
        exit_code=1,
        status="complete",
        results=make_results(),
        planned=11.0,
        peak_rss=400 << 20,
        details=details,
    )
    [run] = store.runs()
    assert run == make_run(
        commit=None,
        arguments=("-k", "a and not 'b c'"),
        finished=1012.5,
        exit_code=1,
        status="complete",
        run_id=run_id,
        tests=3,
        test_seconds=2.375,
        planned=11.0,
        peak_rss=400 << 20,
    )
    assert run.wall == 12.5
    assert run.efficiency == 2.375 / (4 * 12.5)
    assert store.results(run_id) == make_results()
    assert store.results(run_id)[0].flaky
    assert store.details(run_id) == details
    assert store.details(run_id + 1) == RunDetails()


def test_runs_newest_first_with_limit(store: SQLiteStore) -> None:
    """Runs come newest first by start time, and ``limit`` keeps the newest."""
    ids = [record(store, started, []) for started in (30.0, 10.0, 20.0)]
    assert [r.run_id for r in store.runs()] == [ids[0], ids[2], ids[1]]
    assert [r.started for r in store.runs(limit=2)] == [30.0, 20.0]


def test_finish_is_one_transaction(store: SQLiteStore) -> None:
    """A result that cannot be written leaves none of the run's results and the run crashed."""
    run_id = store.begin_run(make_run())
    bad = TestResult("t.py::d", cast(Any, "exploded"))
    with pytest.raises(HistoryError, match="could not record the results of the run"):
        store.finish_run(
            run_id, finished=1010.0, exit_code=0, status="complete", results=[*make_results(), bad]
        )
    assert store.results(run_id) == []
    assert store.runs()[0].status == "crashed"
    store.finish_run(
        run_id, finished=1010.0, exit_code=0, status="complete", results=make_results()
    )
    assert store.results(run_id) == make_results()


def test_finish_of_unknown_or_finished_run_refused(store: SQLiteStore) -> None:
    """Finishing a run twice, or one that does not exist, raises HistoryError and writes nothing."""
    run_id = record(store, 1000.0, make_results())
    with pytest.raises(HistoryError, match=f"no unfinished run {run_id}"):
        store.finish_run(run_id, finished=1.0, exit_code=0, status="complete", results=[])
    with pytest.raises(HistoryError, match="no unfinished run 99"):
        store.finish_run(99, finished=1.0, exit_code=0, status="complete", results=[])
    assert store.results(run_id) == make_results()


def test_interrupted_status_is_kept(store: SQLiteStore) -> None:
    """An interrupted run is recorded as such, with its exit code."""
    run_id = store.begin_run(make_run())
    store.finish_run(run_id, finished=1001.0, exit_code=2, status="interrupted", results=[])
    [run] = store.runs()
    assert (run.status, run.exit_code) == ("interrupted", 2)


def test_recent_results_skip_crashed_runs_and_keep_the_last_n(store: SQLiteStore) -> None:
    """Each node id gets its results of the ``last`` newest non-crashed runs that ran it."""
    ids = [record(store, float(i), [TestResult("a", "passed", call=float(i))]) for i in range(4)]
    only_b = record(store, 10.0, [TestResult("b", "failed", call=1.0)])
    record(store, 20.0, [TestResult("a", "failed", call=9.0)], status="crashed")
    recent = store.recent_results(last=2)
    assert recent == {
        "a": [
            (ids[3], TestResult("a", "passed", call=3.0)),
            (ids[2], TestResult("a", "passed", call=2.0)),
        ],
        "b": [(only_b, TestResult("b", "failed", call=1.0))],
    }
    assert len(store.recent_results()["a"]) == 4


def test_recent_results_count_runs_not_rows(store: SQLiteStore) -> None:
    """A node id that ran twice in one run counts that run once."""
    first = record(store, 1.0, [TestResult("a", "passed", call=1.0)])
    twice = record(store, 2.0, [TestResult("a", "failed"), TestResult("a", "passed", call=2.0)])
    recent = store.recent_results(last=2)
    assert [run_id for run_id, _ in recent["a"]] == [twice, twice, first]


def test_last_outcomes_from_the_newest_non_crashed_run(store: SQLiteStore) -> None:
    """Each node id's last outcome comes from the newest run that ran it and did not crash."""
    record(store, 1.0, [TestResult("a", "failed"), TestResult("b", "passed")])
    record(store, 2.0, [TestResult("a", "passed")])
    record(store, 3.0, [TestResult("a", "error"), TestResult("b", "error")], status="crashed")
    assert newest_outcomes(store.recent_results(last=1)) == {"a": "passed", "b": "passed"}


def test_reopening_keeps_the_history(path: Path) -> None:
    """A store opened again sees the runs written before, and new runs get new ids."""
    with SQLiteStore(path) as store:
        first = record(store, 1.0, make_results())
    with SQLiteStore(path) as store:
        second = record(store, 2.0, [])
        assert [r.run_id for r in store.runs()] == [second, first]
        assert store.results(first) == make_results()


def test_two_stores_on_one_file_take_turns(path: Path) -> None:
    """Two controllers writing the same file both get their runs recorded."""
    with SQLiteStore(path) as one, SQLiteStore(path) as two:
        a = one.begin_run(make_run(1.0))
        b = two.begin_run(make_run(2.0))
        two.finish_run(b, finished=3.0, exit_code=0, status="complete", results=make_results())
        one.finish_run(a, finished=4.0, exit_code=0, status="complete", results=[])
        assert {r.run_id: r.status for r in one.runs()} == {a: "complete", b: "complete"}


def test_empty_file_is_initialised(path: Path) -> None:
    """An empty file (a SQLite database without tables) becomes a history."""
    path.parent.mkdir()
    path.touch()
    with SQLiteStore(path) as store:
        assert store.runs() == []


def test_garbage_file_refused_and_left_untouched(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that is not SQLite gives one line naming it and the fix, and keeps its bytes."""
    monkeypatch.chdir(path.parent.parent)
    path.parent.mkdir()
    garbage = bytes(range(256)) * 16
    path.write_bytes(garbage)
    with pytest.raises(HistoryError) as info:
        SQLiteStore(path.relative_to(path.parent.parent))
    assert str(info.value) == (
        "testfleet history .testfleet/history.db is not a SQLite database "
        f"(file is not a database); move it away or {FIX}"
    )
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.db"]


def test_foreign_database_refused_and_left_untouched(path: Path) -> None:
    """A SQLite database of another program is refused without a change to its bytes."""
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ada')")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match=r"of another program \(tables: users\); pass --history"):
        SQLiteStore(path)
    assert path.read_bytes() == before
    assert query(path, "PRAGMA journal_mode") == [("delete",)]


def test_newer_schema_refused_and_left_untouched(path: Path) -> None:
    """A history written by a newer testfleet is refused and stays as it was."""
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE testfleet_meta SET value = '7' WHERE key = 'schema_version'")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="schema version 7, newer than this testfleet knows"):
        SQLiteStore(path)
    assert path.read_bytes() == before


def test_invalid_schema_version_refused(path: Path) -> None:
    """A testfleet_meta without a readable schema_version is refused."""
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM testfleet_meta")
    with pytest.raises(HistoryError, match="without a valid schema_version"):
        SQLiteStore(path)


def test_locked_database_refused_after_timeout(path: Path) -> None:
    """A database another connection keeps locked is refused once ``timeout`` has passed."""
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(HistoryError, match=r"is locked by another process \(waited 0.05s\)"):
            SQLiteStore(path, timeout=0.05)
        other.execute("ROLLBACK")
    with SQLiteStore(path, timeout=0.05) as store:
        assert store.runs() == []


def test_new_database_locked_by_its_creator_refused(path: Path) -> None:
    """A database being created by another process, still locked, is refused and not written."""
    path.parent.mkdir()
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("CREATE TABLE testfleet_meta (key TEXT PRIMARY KEY, value TEXT)")
        with pytest.raises(HistoryError, match="is locked by another process"):
            SQLiteStore(path, timeout=0.05)
        other.execute("ROLLBACK")


def test_lock_while_running_raises_history_error(path: Path) -> None:
    """Writing while another connection holds the lock raises HistoryError, not sqlite3's error."""
    with SQLiteStore(path, timeout=0.05) as store:
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN EXCLUSIVE")
            with pytest.raises(HistoryError, match="is locked by another process"):
                store.begin_run(make_run())
            other.execute("ROLLBACK")
        assert store.runs() == []


def test_directory_in_the_way_refused(path: Path) -> None:
    """A directory where the file should be gives HistoryError."""
    path.mkdir(parents=True)
    with pytest.raises(HistoryError, match="could not open it"):
        SQLiteStore(path)


def _add_flaky_column(tx: Transaction) -> None:
    tx.execute("ALTER TABLE testfleet_results ADD COLUMN flaky INTEGER NOT NULL DEFAULT 0")


class _V2Store(SQLiteStore):
    migrations = (*MIGRATIONS, _add_flaky_column)


NEWEST = len(MIGRATIONS)


def test_extra_migration_upgrades_an_existing_history(path: Path) -> None:
    """A history opened by code with one more migration is upgraded, its data kept."""
    with SQLiteStore(path) as store:
        run_id = record(store, 1.0, make_results())
    with _V2Store(path) as store:
        assert store.results(run_id) == make_results()
    assert query(path, "SELECT value FROM testfleet_meta") == [(str(NEWEST + 1),)]
    assert query(path, "SELECT DISTINCT flaky FROM testfleet_results") == [(0,)]
    with pytest.raises(
        HistoryError,
        match=rf"schema version {NEWEST + 1}, newer than this testfleet knows \({NEWEST}\)",
    ):
        SQLiteStore(path)


def test_new_history_runs_every_migration(path: Path) -> None:
    """A new file is brought to the newest version through every migration in order."""
    _V2Store(path).close()
    assert query(path, "SELECT value FROM testfleet_meta") == [(str(NEWEST + 1),)]
    columns = [row[1] for row in query(path, "PRAGMA table_info(testfleet_results)")]
    assert columns[-1] == "flaky"


def _broken(tx: Transaction) -> None:
    tx.execute("CREATE TABLE testfleet_extra (x INTEGER)")
    tx.execute("ALTER TABLE testfleet_nowhere ADD COLUMN y INTEGER")


class _BrokenStore(SQLiteStore):
    migrations = (*MIGRATIONS, _broken)


def test_failed_migration_rolls_back(path: Path) -> None:
    """A migration that fails leaves the schema and its version as they were."""
    SQLiteStore(path).close()
    with pytest.raises(HistoryError, match="could not prepare its schema"):
        _BrokenStore(path)
    assert query(path, "SELECT value FROM testfleet_meta") == [(str(NEWEST),)]
    assert query(path, "SELECT name FROM sqlite_master WHERE name = 'testfleet_extra'") == []


def test_open_store_default_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No spec means rootdir/.testfleet/history.db; a relative path is relative to the cwd."""
    rootdir, cwd = tmp_path / "root", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with open_store(None, rootdir) as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == rootdir / ".testfleet" / "history.db"
    with open_store("out/h.db", rootdir) as store:
        assert isinstance(store, SQLiteStore)
    assert (cwd / "out" / "h.db").is_file()


def test_messages_are_one_line(path: Path) -> None:
    """Every refusal is a single line."""
    path.parent.mkdir()
    path.write_bytes(b"x" * 4096)
    with pytest.raises(HistoryError) as info:
        SQLiteStore(path)
    assert "\n" not in str(info.value)


def test_a_forked_child_does_not_close_the_connection(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``close`` in another process than the one that opened the store leaves it open."""

    real = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real + 1)
    store.close()
    monkeypatch.undo()
    assert store.runs() == []


def test_processes_opening_a_new_file_at_once_all_open_it(
    open_at_once: Callable[[Callable[[Path], object]], int],
) -> None:
    """Shards that open one new history file at the same moment all open it: the loser of
    the race to switch it to WAL tries again instead of reporting it locked."""
    assert open_at_once(lambda path: SQLiteStore(path).close()) == 0
