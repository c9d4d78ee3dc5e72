"""The default history store: one SQLite file, ``.testfleet/history.db`` under the rootdir.

The file is in WAL mode, so reports and a running suite can read it while a
run writes.  Opening it refuses, before writing anything to it, a file that is
not SQLite, a SQLite database of another program, a schema newer than this
code, and a database another process keeps locked longer than ``timeout``:
:class:`HistoryError` says which and what to do, and the file stays as it was.
The connection is used from one thread only, the controller's.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

from testfleet.history._sql import (
    INSERT_RUN,
    META,
    RUNS,
    Migration,
    SQLStore,
    Transaction,
    add_cache_v3,
    add_details_v4,
    add_splits_v2,
    check_version,
    create_v1,
    migrate,
    schema_version,
)
from testfleet.history.store import ELSEWHERE, HistoryError


def _v1(tx: Transaction) -> None:
    # AUTOINCREMENT: a run id is never reused, even after the newest run is deleted.
    create_v1(tx, run_id="INTEGER PRIMARY KEY AUTOINCREMENT", real="REAL")


def _v2(tx: Transaction) -> None:
    add_splits_v2(tx, real="REAL")


def _v3(tx: Transaction) -> None:
    add_cache_v3(tx, real="REAL")


def _v4(tx: Transaction) -> None:
    add_details_v4(tx, real="REAL")


#: The schema's migrations in order; the one at index ``i`` makes version ``i + 1``.
MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3, _v4)


class _Tx:
    """A :class:`Transaction` on a sqlite3 connection in autocommit mode."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self._conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()


def display(path: Path) -> str:
    """``path`` as messages show it: relative to the current directory when under it."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def problem(
    exc: sqlite3.Error, where: str, action: str, timeout: float, fix: str | None = None
) -> HistoryError:
    """The one-line :class:`HistoryError` for a sqlite3 error; ``fix`` replaces the way out."""
    # Matched on the message: sqlite_errorname only exists from Python 3.11.
    text = str(exc)
    if "not a database" in text:
        what, default = f"is not a SQLite database ({text})", f"move it away or {ELSEWHERE}"
    elif "malformed" in text:
        what, default = f"is damaged ({text})", f"move it away or {ELSEWHERE}"
    elif "locked" in text:
        what = f"is locked by another process (waited {timeout:g}s)"
        default = f"let that process finish or {ELSEWHERE}"
    else:
        what = f"could not {action} ({text})"
        default = f"check the file and its directory or {ELSEWHERE}"
    return HistoryError(f"testfleet history {where} {what}; {fix or default}")


def user_tables(conn: sqlite3.Connection) -> set[str]:
    """The tables of the database, without SQLite's own."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\'"
    ).fetchall()
    return {name for (name,) in rows}


def check_testfleet(
    conn: sqlite3.Connection, where: str, known: int, fix: str | None = None
) -> int | None:
    """Refuse a database that is not a testfleet history or is newer than ``known``.

    Only reads.  Return its schema version, or None for an empty database.
    ``fix`` replaces the way out the messages offer.
    """
    tables = user_tables(conn)
    if META not in tables:
        if not tables:
            return None
        names = ", ".join(sorted(tables)[:3]) + (", ..." if len(tables) > 3 else "")
        raise HistoryError(
            f"testfleet history {where} is a SQLite database of another program "
            f"(tables: {names}); {fix or ELSEWHERE}"
        )
    version = schema_version(_Tx(conn), where, fix)
    check_version(version, known, where, fix)
    return version


class SQLiteStore(SQLStore):
    """A history store in one SQLite file, created with its directory when absent."""

    #: The schema's migrations; a subclass may add some (the tests do).
    migrations: ClassVar[tuple[Migration, ...]] = MIGRATIONS
    # Writers take turns (BEGIN IMMEDIATE), so the highest number is free.
    _next_recorded = f"(SELECT COALESCE(MAX(recorded), 0) + 1 FROM {RUNS})"

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        #: The file.
        self.path = path
        self.where = display(path)
        self._timeout = timeout
        self._pid = os.getpid()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"testfleet history {self.where} cannot be created ({exc.strerror or exc}); "
                f"check the directory or {ELSEWHERE}"
            ) from None
        try:
            self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise problem(exc, self.where, "open it", timeout) from None
        try:
            self._prepare()
        except BaseException:
            self._conn.close()
            raise

    def _prepare(self) -> None:
        known = len(self.migrations)
        try:
            # Refuse what is not ours before anything writes to the file.
            check_testfleet(self._conn, self.where, known)
            # WAL: readers never wait for the writer; NORMAL: in WAL mode a
            # power cut may lose the last run, never corrupt the file.
            self._switch_to_wal(time.monotonic() + self._timeout)
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise problem(exc, self.where, "open it", self._timeout) from None
        with self._transaction("prepare its schema", write=True) as tx:
            # Again under the write lock: another process may have created
            # or migrated the schema since the check above.
            version = check_testfleet(self._conn, self.where, known)
            migrate(tx, self.migrations, has_meta=version is not None, where=self.where)

    def _switch_to_wal(self, deadline: float) -> None:
        """Put the file in WAL mode, again while another process holds it for a moment.

        Processes that open a new file at the same moment (CI shards on one
        shared file) race to switch it; SQLite answers the loser "database is
        locked" at once, without waiting for the busy timeout, so the loser
        tries again until ``deadline``.
        """
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)

    @contextmanager
    def _transaction(self, action: str, *, write: bool = False) -> Iterator[Transaction]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield _Tx(conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise problem(exc, self.where, action, self._timeout) from None
            raise

    def _insert_run(self, tx: Transaction, row: Sequence[object]) -> int:
        tx.execute(INSERT_RUN, row)
        # The last row this connection inserted: the run just written.
        rows = tx.query("SELECT last_insert_rowid()")
        return int(rows[0][0])

    def _close(self) -> None:
        self._conn.close()
