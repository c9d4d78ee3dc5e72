"""The PostgreSQL history store, against the real server: each test gets its own database."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, cast

import pytest

from testfleet.history import HistoryError, PostgresStore, open_store
from testfleet.history._sql import Transaction
from testfleet.history.estimates import newest_outcomes
from testfleet.history.postgres import MIGRATIONS
from testfleet.model.history import RunRecord, TestResult
from testfleet.model.urls import redact

SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def url(postgres_database: Callable[..., str]) -> str:
    """The URL of a new, empty database, dropped after the test."""
    return postgres_database()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one statement on its own connection; return its rows, if it has any."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def make_run(started: float = 1000.0, **changes: Any) -> RunRecord:
    values: dict[str, Any] = {
        "started": started,
        "finished": None,
        "workers": 4,
        "host": "ci-1",
        "commit": "0123abc",
        "arguments": ("-q", "tests/", "ünïcode"),
        "exit_code": None,
        "status": "crashed",
    }
    values.update(changes)
    return RunRecord(**values)


RESULTS = [
    TestResult("t.py::a", "passed", 0.25, 1.5, 0.125, "gw0", 0.0),
    TestResult("t.py::b", "failed", 0.0, 0.5, 0.0, "gw1", 1712345678.123456),
    TestResult("t.py::c", "skipped"),
]


def record(store: PostgresStore, started: float, results: list[TestResult], status: str) -> int:
    run_id = store.begin_run(make_run(started))
    if status != "crashed":
        store.finish_run(
            run_id, finished=started + 1, exit_code=0, status=cast(Any, status), results=results
        )
    return run_id


def test_creates_schema_at_the_newest_version(url: str) -> None:
    """A new database gets the testfleet tables and the newest schema version."""
    PostgresStore(url).close()
    assert query(url, "SELECT value FROM testfleet_meta") == [(str(len(MIGRATIONS)),)]
    tables = query(url, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'testfleet%'")
    assert {t for (t,) in tables} == {
        "testfleet_meta",
        "testfleet_runs",
        "testfleet_results",
        "testfleet_splits",
        "testfleet_worker_samples",
        "testfleet_machine_samples",
        "testfleet_fixtures",
    }
    columns = query(
        url,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'testfleet_runs' AND column_name LIKE 'cache%' ORDER BY column_name",
    )
    assert columns == [
        ("cache_evictions", "integer", "YES"),
        ("cache_hits", "integer", "YES"),
        ("cache_misses", "integer", "YES"),
        ("cache_saved_seconds", "double precision", "YES"),
        ("cache_sets", "integer", "YES"),
    ]


def test_round_trip_and_crash_marking(url: str) -> None:
    """A begun run is crashed until finished; then it and its results read back exactly."""
    with PostgresStore(url) as store:
        run_id = store.begin_run(make_run(status="complete", finished=5.0, exit_code=0))
        assert store.runs() == [make_run(run_id=run_id)]
        store.finish_run(run_id, finished=1012.5, exit_code=1, status="complete", results=RESULTS)
        assert store.runs() == [
            make_run(
                finished=1012.5,
                exit_code=1,
                status="complete",
                run_id=run_id,
                tests=len(RESULTS),
                test_seconds=sum(r.duration for r in RESULTS),
            )
        ]
        assert store.results(run_id) == RESULTS


def test_finish_is_one_transaction(url: str) -> None:
    """A result that cannot be written leaves none of the run's results and the run crashed."""
    with PostgresStore(url) as store:
        run_id = store.begin_run(make_run())
        bad = TestResult("t.py::d", cast(Any, "exploded"))
        with pytest.raises(HistoryError, match="could not record the results of the run"):
            store.finish_run(
                run_id, finished=2.0, exit_code=0, status="complete", results=[*RESULTS, bad]
            )
        assert store.results(run_id) == []
        assert store.runs()[0].status == "crashed"
        with pytest.raises(HistoryError, match="no unfinished run 12345"):
            store.finish_run(12345, finished=2.0, exit_code=0, status="complete", results=[])


def test_recent_results_and_last_outcomes(url: str) -> None:
    """Recent results and last outcomes come from the newest runs that did not crash."""
    with PostgresStore(url) as store:
        ids = [
            record(store, float(i), [TestResult("a", "passed", call=float(i))], "complete")
            for i in range(3)
        ]
        record(store, 9.0, [TestResult("a", "failed"), TestResult("b", "passed")], "interrupted")
        record(store, 10.0, [TestResult("a", "error")], "crashed")
        recent = store.recent_results(last=3)
        assert [run_id for run_id, _ in recent["a"]] == [ids[2] + 1, ids[2], ids[1]]
        assert recent["a"][1][1] == TestResult("a", "passed", call=2.0)
        assert list(recent) == ["a", "b"]
        assert newest_outcomes(store.recent_results(last=1)) == {"a": "failed", "b": "passed"}
        assert [r.started for r in store.runs(limit=2)] == [10.0, 9.0]


def test_reopening_keeps_history_and_other_tables_are_fine(url: str) -> None:
    """A database with tables of its own is accepted, and a second open sees earlier runs."""
    query(url, "CREATE TABLE app_users (name TEXT)")
    with PostgresStore(url) as store:
        first = record(store, 1.0, RESULTS, "complete")
    with PostgresStore(url) as store:
        second = record(store, 2.0, [], "complete")
        assert [r.run_id for r in store.runs()] == [second, first]


def _add_flaky_column(tx: Transaction) -> None:
    tx.execute("ALTER TABLE testfleet_results ADD COLUMN flaky INTEGER NOT NULL DEFAULT 0")


class _V2Store(PostgresStore):
    migrations = (*MIGRATIONS, _add_flaky_column)


def _broken(tx: Transaction) -> None:
    tx.execute("CREATE TABLE testfleet_extra (x INTEGER)")
    tx.execute("ALTER TABLE testfleet_nowhere ADD COLUMN y INTEGER")


class _BrokenStore(PostgresStore):
    migrations = (*MIGRATIONS, _broken)


def test_migrations_upgrade_roll_back_and_refuse_newer(url: str) -> None:
    """An extra migration upgrades, a failing one rolls back, and a newer schema is refused."""
    with PostgresStore(url) as store:
        run_id = record(store, 1.0, RESULTS, "complete")
    with pytest.raises(HistoryError, match="could not prepare its schema"):
        _BrokenStore(url)
    newest = len(MIGRATIONS)
    assert query(url, "SELECT value FROM testfleet_meta") == [(str(newest),)]
    assert query(url, "SELECT to_regclass('testfleet_extra')") == [(None,)]
    with _V2Store(url) as store:
        assert store.results(run_id) == RESULTS
    assert query(url, "SELECT value FROM testfleet_meta") == [(str(newest + 1),)]
    with pytest.raises(
        HistoryError, match=rf"schema version {newest + 1}, newer than this testfleet knows"
    ):
        PostgresStore(url)


def test_open_store_picks_postgres_for_both_schemes(url: str, tmp_path: Any) -> None:
    """``postgresql://`` and ``postgres://`` URLs open a PostgreSQL store."""
    for spec in (url, url.replace("postgresql://", "postgres://", 1)):
        with open_store(spec, tmp_path) as store:
            assert isinstance(store, PostgresStore)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_is_named_without_password() -> None:
    """A server that cannot be reached gives one line with the URL but not its password."""
    with pytest.raises(HistoryError) as info:
        PostgresStore("postgresql://ci:s3cr%40t@127.0.0.1:1/history?password=other", timeout=1)
    message = str(info.value)
    assert message.startswith("testfleet history postgresql://ci@127.0.0.1:1/history is not")
    assert "start the server or fix the URL, or pass --history=PATH / --no-history" in message
    assert "s3cr" not in message
    assert "other" not in message
    assert "\n" not in message


def test_missing_database_and_unknown_role_are_refused(url: str) -> None:
    """A database that does not exist or a role the server refuses gives HistoryError."""
    with pytest.raises(HistoryError, match='database "nowhere" does not exist'):
        PostgresStore(f"{SERVER}/nowhere")
    name = url.rpartition("/")[2]
    with pytest.raises(HistoryError, match='role "intruder" does not exist'):
        PostgresStore(f"postgresql://intruder:pw@127.0.0.1:5432/{name}")


def test_missing_psycopg_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without psycopg the message says to install the postgres extra."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(HistoryError) as info:
        PostgresStore("postgresql://u:secret@db.example/h")
    assert str(info.value) == (
        "testfleet history postgresql://u@db.example/h needs psycopg 3, which is not "
        "installed: pip install 'testfleet[postgres]', or pass --no-history"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgres://:p@h/db", "postgres://h/db"),
        ("postgresql://h/db?password=x&sslmode=require", "postgresql://h/db?sslmode=require"),
        ("postgresql://u:p:q@h1:1,h2:2/db", "postgresql://u@h1:1,h2:2/db"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("postgresql://[::1/db", "postgresql://(an unreadable URL)"),
    ],
)
def test_redact_drops_passwords(url: str, shown: str) -> None:
    """Messages show the URL without any password, in the user part or as a parameter."""
    assert redact(url) == shown


def test_importing_the_history_does_not_import_psycopg() -> None:
    """The plugin imports cheaply: psycopg is imported only when a store is opened."""
    import subprocess

    code = "import sys, testfleet.history; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
