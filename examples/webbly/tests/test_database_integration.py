"""The SQL wrapper and schema against real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from webbly.db.connection import Database, Dialect, connect
from webbly.db.schema import (
    SCHEMA_VERSION,
    TABLE_NAMES,
    create_schema,
    delete_rows,
    drop_all,
    migrate,
)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = connect(f"sqlite:///{tmp_path / 'db' / 'test.sqlite3'}")
    migrate(database)
    yield database
    database.close()


def add_user(db: Database, name: str) -> int:
    return db.insert(
        "INSERT INTO users (username, email, password_hash, role, created_at)"
        " VALUES (?, ?, 'h', 'author', 't') RETURNING id",
        (name, f"{name}@example.org"),
    )


def test_connect_creates_parent_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "site.sqlite3"
    with connect(f"sqlite:///{target}") as database:
        assert database.dialect is Dialect.SQLITE
        assert database.scalar("SELECT 1") == 1
    assert target.exists()


def test_memory_database() -> None:
    with connect("sqlite://") as database:
        assert migrate(database) == SCHEMA_VERSION


def test_migrate_creates_every_table(db: Database) -> None:
    names = {row["name"] for row in db.fetchall("SELECT name FROM sqlite_master")}
    assert set(TABLE_NAMES) <= names


def test_migrate_is_idempotent(db: Database) -> None:
    assert migrate(db) == SCHEMA_VERSION
    assert migrate(db) == SCHEMA_VERSION
    assert db.scalar("SELECT count(*) FROM schema_version") == 1


def test_drop_all_removes_tables(db: Database) -> None:
    drop_all(db)
    assert db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'") == []


def test_create_schema_makes_the_tables_at_a_url(tmp_path: Path) -> None:
    """testfleet's template setup: every table at the URL, and the connection closed."""
    create_schema(f"sqlite:///{tmp_path / 'template.sqlite3'}")
    raw = sqlite3.connect(tmp_path / "template.sqlite3")
    names = {name for (name,) in raw.execute("SELECT name FROM sqlite_master")}
    raw.close()
    assert set(TABLE_NAMES) <= names


def test_delete_rows_keeps_the_schema_and_restarts_ids(db: Database) -> None:
    """After delete_rows the tables are empty but for schema_version, and ids start at 1."""
    for name in ("ann", "bob"):
        add_user(db, name)
    delete_rows(db)
    assert db.scalar("SELECT count(*) FROM users") == 0
    assert db.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
    assert add_user(db, "cy") == 1


def test_insert_returns_ids_and_fetch_returns_dicts(db: Database) -> None:
    first, second = add_user(db, "ann"), add_user(db, "bob")
    assert second == first + 1
    row = db.fetchone("SELECT username, role FROM users WHERE id = ?", (second,))
    assert row == {"username": "bob", "role": "author"}
    assert db.fetchone("SELECT * FROM users WHERE id = ?", (999,)) is None


def test_execute_returns_rowcount(db: Database) -> None:
    for name in ("a1x", "a2x", "b1x"):
        add_user(db, name)
    assert db.execute("UPDATE users SET role = 'editor' WHERE username LIKE ?", ("a%",)) == 2


def test_transaction_commits(db: Database) -> None:
    with db.transaction():
        add_user(db, "ann")
    assert db.scalar("SELECT count(*) FROM users") == 1


def add_then_fail(db: Database, *, nested: bool) -> None:
    with db.transaction():
        add_user(db, "outer")
        if nested:
            with db.transaction():
                raise ValueError("inner")
        raise ValueError("outer")


def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(ValueError, match="outer"):
        add_then_fail(db, nested=False)
    assert db.scalar("SELECT count(*) FROM users") == 0


def test_nested_transactions_commit_once(db: Database) -> None:
    with db.transaction():
        add_user(db, "outer")
        with db.transaction():
            add_user(db, "inner")
        assert db.scalar("SELECT count(*) FROM users") == 2
    assert db.scalar("SELECT count(*) FROM users") == 2


def test_error_in_nested_block_rolls_back_everything(db: Database) -> None:
    with pytest.raises(ValueError, match="inner"):
        add_then_fail(db, nested=True)
    assert db.scalar("SELECT count(*) FROM users") == 0


def test_caught_error_in_nested_block_keeps_outer_work(db: Database) -> None:
    with db.transaction():
        add_user(db, "outer")
        with pytest.raises(ValueError, match="x"), db.transaction():
            raise ValueError("x")
    assert db.scalar("SELECT count(*) FROM users") == 1


def test_unique_constraint(db: Database) -> None:
    add_user(db, "ann")
    with pytest.raises(sqlite3.IntegrityError):
        add_user(db, "ann")


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO pages (slug, title, state, author_id, current_revision,"
                   " created_at, updated_at) VALUES ('s', 't', 'draft', 42, 1, 't', 't')")


def test_check_constraint_on_state(db: Database) -> None:
    author = add_user(db, "ann")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO pages (slug, title, state, author_id, current_revision,"
                   " created_at, updated_at) VALUES ('s', 't', 'bogus', ?, 1, 't', 't')",
                   (author,))


def test_executemany(db: Database) -> None:
    db.executemany("INSERT INTO tags (name) VALUES (?)", [(f"t{n}",) for n in range(50)])
    db.executemany("INSERT INTO tags (name) VALUES (?)", [])
    assert db.scalar("SELECT count(*) FROM tags") == 50


def test_closed_database_refuses_work(tmp_path: Path) -> None:
    database = connect(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    database.close()
    database.close()
    assert database.closed
    with pytest.raises(RuntimeError, match="closed"):
        database.scalar("SELECT 1")


def test_concurrent_threads_share_one_connection(db: Database) -> None:
    errors: list[BaseException] = []

    def work(prefix: str) -> None:
        try:
            for n in range(40):
                with db.transaction():
                    add_user(db, f"{prefix}{n:03d}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{i}x",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.scalar("SELECT count(*) FROM users") == 160


def test_data_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'persist.sqlite3'}"
    with connect(url) as first:
        migrate(first)
        add_user(first, "ann")
    with connect(url) as second:
        assert second.scalar("SELECT username FROM users") == "ann"
