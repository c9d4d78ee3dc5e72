"""A thin, thread-safe wrapper over a sqlite3 or psycopg connection.

Repositories write SQL once with ``?`` placeholders; for PostgreSQL the
wrapper rewrites them to psycopg's ``%s`` style. psycopg is imported only
when a PostgreSQL URL is opened, so it stays an optional dependency.
"""

from __future__ import annotations

import enum
import functools
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webbly.errors import ConfigError

Params = Sequence[Any]
Row = dict[str, Any]


class Dialect(str, enum.Enum):
    """The SQL engine behind a :class:`Database`."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"


@dataclass(frozen=True)
class DatabaseTarget:
    """What a database URL points at: an engine and a path or connection string."""

    dialect: Dialect
    location: str

    @property
    def is_memory(self) -> bool:
        """Whether this is an in-memory SQLite database."""
        return self.dialect is Dialect.SQLITE and self.location == ":memory:"


def parse_database_url(url: str) -> DatabaseTarget:
    """Understand ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``sqlite://`` (memory)
    and ``postgresql://user@host:port/name`` (``postgres://`` too)."""
    url = url.strip()
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:") :]
        if rest in ("", "//", "///:memory:", "//:memory:"):
            return DatabaseTarget(Dialect.SQLITE, ":memory:")
        if not rest.startswith("///") or len(rest) == 3:
            raise ConfigError(f"SQLite URLs look like sqlite:///path/to/file.db, got {url!r}")
        return DatabaseTarget(Dialect.SQLITE, rest[3:])
    if url.startswith(("postgresql://", "postgres://")):
        if url.rstrip("/").count("/") < 3:
            raise ConfigError(f"PostgreSQL URL {url!r} names no database")
        return DatabaseTarget(Dialect.POSTGRES, url)
    raise ConfigError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """Rewrite ``?`` placeholders to ``%s`` and escape literal ``%``, outside quotes."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class Database:
    """One connection, serialised by a lock so a threaded server can share it.

    ``transaction()`` nests: only the outermost block issues BEGIN and COMMIT
    (or ROLLBACK when an exception escapes).
    """

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self._raw = raw
        self.dialect = dialect
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def _sql(self, sql: str) -> str:
        return to_pyformat(sql) if self.dialect is Dialect.POSTGRES else sql

    def _run(self, sql: str, params: Params) -> Any:
        if self._closed:
            raise RuntimeError("database is closed")
        return self._raw.execute(self._sql(sql), tuple(params))

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        with self._lock:
            cursor = self._run(sql, params)
            count = int(cursor.rowcount)
            cursor.close()
            return count

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each parameter row, inside one transaction."""
        batch = [tuple(row) for row in rows]
        if not batch:
            return
        with self.transaction():
            if self.dialect is Dialect.POSTGRES:
                with self._raw.cursor() as cursor:
                    cursor.executemany(self._sql(sql), batch)
            else:
                self._raw.executemany(sql, batch).close()

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT ending in ``RETURNING id``; return the new id."""
        row = self.fetchone(sql, params)
        if row is None:
            raise RuntimeError("INSERT ... RETURNING id returned no row")
        return int(row["id"])

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """First row of a query as a dict, or None."""
        with self._lock:
            cursor = self._run(sql, params)
            row = cursor.fetchone()
            cursor.close()
            return None if row is None else dict(row)

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """All rows of a query as dicts."""
        with self._lock:
            cursor = self._run(sql, params)
            rows = cursor.fetchall()
            cursor.close()
            return [dict(row) for row in rows]

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.fetchone(sql, params)
        return None if row is None else next(iter(row.values()))

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Group statements; commit at the end of the outermost block."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._run("BEGIN", ()).close()
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._run("ROLLBACK", ()).close()
                raise
            self._depth -= 1
            if outermost:
                self._run("COMMIT", ()).close()

    def close(self) -> None:
        """Close the connection; further use raises RuntimeError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._raw.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(url: str) -> Database:
    """Open the database a URL names (see :func:`parse_database_url`)."""
    target = parse_database_url(url)
    if target.dialect is Dialect.SQLITE:
        return _connect_sqlite(target.location)
    return _connect_postgres(target.location)


def _connect_sqlite(location: str) -> Database:
    if location != ":memory:":
        Path(location).parent.mkdir(parents=True, exist_ok=True)
    raw = sqlite3.connect(location, isolation_level=None, check_same_thread=False)
    raw.row_factory = sqlite3.Row
    raw.execute("PRAGMA foreign_keys = ON")
    if location != ":memory:":
        # WAL lets readers run during writes; with synchronous=NORMAL a commit does not
        # wait for the disk (a crash can lose the last commits, never corrupt the file).
        raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = NORMAL")
    return Database(raw, Dialect.SQLITE)


def _connect_postgres(dsn: str) -> Database:
    try:
        import psycopg
        from psycopg.rows import dict_row
    except ImportError:
        raise ConfigError(
            "PostgreSQL needs psycopg 3: pip install 'webbly[postgres]'"
        ) from None
    try:
        raw = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        raise ConfigError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc
    return Database(raw, Dialect.POSTGRES)
