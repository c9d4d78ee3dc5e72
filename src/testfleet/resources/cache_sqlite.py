"""The local cache store: one SQLite file every process of one machine reaches.

Workers are forked processes; each opens its own connection (after the fork:
a connection must not cross one), and every operation is one ``BEGIN
IMMEDIATE`` transaction, so a claim, a set and its evictions are atomic across
processes.  The file is in WAL mode so that readers do not block the writer.

Tables: ``entries`` (the values, with their size, build time, when they were
stored and an ever-growing ``used`` stamp that orders them least recently used
first), ``claims`` (keys being built, and by whom) and ``counters`` (one row
per run, so a persistent file counts each run on its own).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from testfleet.resources.cache import CacheConfig, CacheStats, Entry, Owner

#: The schema this code writes; a file with a newer one is refused.
SCHEMA_VERSION = 1

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries ("
    " key TEXT PRIMARY KEY, kind TEXT NOT NULL, data BLOB NOT NULL, size INTEGER NOT NULL,"
    " build_seconds REAL NOT NULL, stored REAL NOT NULL, used INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_used ON entries (used)",
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, pid INTEGER NOT NULL,"
    " token TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (run TEXT PRIMARY KEY,"
    " hits INTEGER NOT NULL DEFAULT 0, misses INTEGER NOT NULL DEFAULT 0,"
    " sets INTEGER NOT NULL DEFAULT 0, evictions INTEGER NOT NULL DEFAULT 0,"
    " saved REAL NOT NULL DEFAULT 0)",
)


class CacheStoreError(RuntimeError):
    """The cache file cannot be used; the message names it and what to do."""


class SqliteStore:
    """A :class:`~testfleet.resources.cache.CacheStore` in one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        config: CacheConfig,
        run: str,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 60.0,
    ) -> None:
        self._path = str(path)
        self._config = config
        self._run = run
        self._clock = clock
        # One connection per process, usable from any thread of it (a test may
        # use the cache from threads): the lock serialises them.
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self._path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._open_when_free(time.monotonic() + busy_timeout)
        except sqlite3.DatabaseError as error:
            raise CacheStoreError(
                f"testfleet cache: cannot use {self._path} ({error}); "
                "delete the file, testfleet makes a new one"
            ) from None

    def _open_when_free(self, deadline: float) -> None:
        """:meth:`_open`, again while another process holds the new file for a moment.

        Processes that open a new file at the same moment race to switch it to
        WAL; SQLite answers the loser "database is locked" at once, without
        waiting for the busy timeout (seen with three forked workers), so the
        loser tries again until ``deadline``.
        """
        while True:
            try:
                self._open()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)

    def _open(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"its schema version {version} is newer than this testfleet's {SCHEMA_VERSION}"
            )
        if self._path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        with self._write() as db:
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if self._config.ttl is not None:
                db.execute(
                    "DELETE FROM entries WHERE stored <= ?", (self._clock() - self._config.ttl,)
                )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close this process's connection."""
        self._db.close()

    def lookup(self, key: str) -> Entry | None:
        with self._write() as db:
            entry = self._live(db, key)
            if entry is None:
                self._count(db, misses=1)
            else:
                self._hit(db, key, entry)
            return entry

    def claim(self, key: str, owner: Owner) -> Entry | Owner:
        with self._write() as db:
            entry = self._live(db, key)
            if entry is not None:
                self._hit(db, key, entry)
                return entry
            row = db.execute("SELECT pid, token FROM claims WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return Owner(int(row[0]), str(row[1]))
            db.execute(
                "INSERT INTO claims (key, pid, token) VALUES (?, ?, ?)",
                (key, owner.pid, owner.token),
            )
            self._count(db, misses=1)
            return owner

    def put(self, key: str, entry: Entry) -> None:
        with self._write() as db:
            db.execute("DELETE FROM claims WHERE key = ?", (key,))
            if len(entry.data) > self._config.max_bytes:
                # Keeping it would evict everything else and then itself: it goes
                # at once (an eviction), with the value it replaces.
                db.execute("DELETE FROM entries WHERE key = ?", (key,))
                self._count(db, sets=1, evictions=1)
                return
            db.execute(
                "INSERT OR REPLACE INTO entries"
                " (key, kind, data, size, build_seconds, stored, used)"
                " VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(used), 0) + 1 FROM entries))",
                (key, entry.kind, entry.data, len(entry.data), entry.build_seconds, self._clock()),
            )
            self._count(db, sets=1, evictions=self._evict(db))

    def release(self, key: str, owner: Owner) -> None:
        with self._write() as db:
            db.execute(
                "DELETE FROM claims WHERE key = ? AND pid = ? AND token = ?",
                (key, owner.pid, owner.token),
            )

    def stats(self) -> CacheStats:
        with self._lock:
            row = self._db.execute(
                "SELECT hits, misses, sets, evictions, saved FROM counters WHERE run = ?",
                (self._run,),
            ).fetchone()
        if row is None:
            return CacheStats()
        return CacheStats(int(row[0]), int(row[1]), int(row[2]), int(row[3]), float(row[4]))

    def forget_run(self) -> None:
        """Drop this run's counters (a persistent file keeps only entries across runs)."""
        with self._write() as db:
            db.execute("DELETE FROM counters WHERE run = ?", (self._run,))

    def _live(self, db: sqlite3.Connection, key: str) -> Entry | None:
        row = db.execute(
            "SELECT kind, data, build_seconds, stored FROM entries WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        ttl = self._config.ttl
        if ttl is not None and self._clock() - float(row[3]) >= ttl:
            # Expired: gone, as if never set (not an eviction: no bound forced it out).
            db.execute("DELETE FROM entries WHERE key = ?", (key,))
            return None
        return Entry(str(row[0]), bytes(row[1]), float(row[2]))

    def _hit(self, db: sqlite3.Connection, key: str, entry: Entry) -> None:
        db.execute(
            "UPDATE entries SET used = (SELECT MAX(used) + 1 FROM entries) WHERE key = ?", (key,)
        )
        self._count(db, hits=1, saved=entry.build_seconds)

    def _evict(self, db: sqlite3.Connection) -> int:
        """Drop least recently used entries until both bounds hold; how many went."""
        evicted = 0
        count, size = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        while count > self._config.max_entries or size > self._config.max_bytes:
            # The newest entry is never the least recently used one here: it
            # fits alone (put checked), so the loop ends before reaching it.
            key, entry_size = db.execute(
                "SELECT key, size FROM entries ORDER BY used LIMIT 1"
            ).fetchone()
            db.execute("DELETE FROM entries WHERE key = ?", (key,))
            count, size, evicted = count - 1, size - entry_size, evicted + 1
        return evicted

    def _count(
        self,
        db: sqlite3.Connection,
        *,
        hits: int = 0,
        misses: int = 0,
        sets: int = 0,
        evictions: int = 0,
        saved: float = 0.0,
    ) -> None:
        db.execute("INSERT OR IGNORE INTO counters (run) VALUES (?)", (self._run,))
        db.execute(
            "UPDATE counters SET hits = hits + ?, misses = misses + ?, sets = sets + ?,"
            " evictions = evictions + ?, saved = saved + ? WHERE run = ?",
            (hits, misses, sets, evictions, saved, self._run),
        )
