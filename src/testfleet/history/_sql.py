"""What the SQLite and PostgreSQL stores share: the schema, the migrations and the queries.

A backend supplies a connection through :meth:`SQLStore._transaction`, which
yields a :class:`Transaction` and turns the driver's errors into
:class:`HistoryError`; everything else is written once here, in SQL that both
engines accept.  Statements use ``?`` placeholders; a backend with another
parameter style translates them.

The schema is versioned: ``testfleet_meta`` holds ``schema_version``, and a
backend's migrations are a tuple of functions where the function at index
``i`` takes the schema from version ``i`` to ``i + 1``.  They run in order in
one transaction, together with the update of the version, so a failed
migration leaves the store as it was.  Adding a version is adding one function
to each backend's tuple.

Version 2 numbers runs in the order they are recorded (``recorded``, set when a
run finishes) and keeps the snapshots that shards of one split plan from
(``testfleet_splits``): see :meth:`SQLStore.snapshot`.

Version 3 adds the shared cache's figures to each run (``cache_*`` columns of
``testfleet_runs``, all NULL for a run that did not use the cache).

Version 4 adds what monitoring sees: each result's CPU seconds, peak memory,
attempts (``--retry-failed``) and quarantine; each run's test count, test
seconds, planned wall and peak memory (filled in for the runs already there);
and three tables of a run's details: its processes' and its machine's samples
over time, and its fixtures' set-up times.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol, TypeAlias, TypeVar, cast, get_args

from testfleet.history._details import create_detail_tables, read_details, write_details
from testfleet.history.store import ELSEWHERE, HistoryError
from testfleet.model.history import (
    CacheFigures,
    Outcome,
    RunDetails,
    RunRecord,
    RunStatus,
    Snapshot,
    TestResult,
)

META = "testfleet_meta"
RUNS = "testfleet_runs"
RESULTS = "testfleet_results"
SPLITS = "testfleet_splits"

#: The oldest schema version whose runs and results this code reads as they are
#: (``history merge`` reads sources it may not migrate).
OLDEST_READABLE = 1

_Self = TypeVar("_Self", bound="SQLStore")


class Reader(Protocol):
    """Anything that runs a query with ``?`` placeholders and returns its rows."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        ...


class Transaction(Reader, Protocol):
    """One open transaction of a backend, with ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run one statement once per row of parameters."""
        ...


#: Takes the schema from one version to the next, inside the caller's transaction.
Migration = Callable[[Transaction], None]

#: A run to import: the run and its results, and its details when it has any.
ImportedRun: TypeAlias = (
    tuple[RunRecord, Sequence[TestResult]] | tuple[RunRecord, Sequence[TestResult], RunDetails]
)


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def create_v1(tx: Transaction, *, run_id: str, real: str) -> None:
    """Version 1, the initial schema, with the backend's id and float column types."""
    tx.execute(
        f"""CREATE TABLE {RUNS} (
            run_id {run_id},
            started {real} NOT NULL,
            finished {real},
            workers INTEGER NOT NULL,
            host TEXT NOT NULL,
            git_commit TEXT,
            arguments TEXT NOT NULL,
            exit_code INTEGER,
            status TEXT NOT NULL CHECK (status IN ({_in(get_args(RunStatus))}))
        )"""
    )
    tx.execute(
        f"""CREATE TABLE {RESULTS} (
            run_id BIGINT NOT NULL REFERENCES {RUNS} (run_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            nodeid TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ({_in(get_args(Outcome))})),
            setup_seconds {real} NOT NULL,
            call_seconds {real} NOT NULL,
            teardown_seconds {real} NOT NULL,
            worker TEXT,
            start_offset {real},
            PRIMARY KEY (run_id, seq)
        )"""
    )
    # Estimates look tests up by node id across runs.
    tx.execute(f"CREATE INDEX testfleet_results_nodeid ON {RESULTS} (nodeid, run_id)")


def add_splits_v2(tx: Transaction, *, real: str) -> None:
    """Version 2: the order in which runs were recorded, and the snapshots of splits."""
    tx.execute(f"ALTER TABLE {RUNS} ADD COLUMN recorded BIGINT")
    # Runs recorded before the upgrade keep the order in which they began.
    tx.execute(f"UPDATE {RUNS} SET recorded = run_id WHERE status <> 'crashed'")
    tx.execute(
        f"""CREATE TABLE {SPLITS} (
            split_id TEXT PRIMARY KEY,
            created {real} NOT NULL,
            recorded BIGINT NOT NULL
        )"""
    )


def add_cache_v3(tx: Transaction, *, real: str) -> None:
    """Version 3: the shared cache's figures of each run; NULL where it was not used."""
    for column, kind in zip(CACHE_COLUMNS.split(", "), ("INTEGER",) * 4 + (real,), strict=True):
        tx.execute(f"ALTER TABLE {RUNS} ADD COLUMN {column} {kind}")


def add_details_v4(tx: Transaction, *, real: str) -> None:
    """Version 4: per-test usage, per-run totals, and the tables of a run's details."""
    for column, kind in (
        ("cpu_seconds", real),
        ("peak_rss_bytes", "BIGINT"),
        ("attempts", "INTEGER NOT NULL DEFAULT 1"),
        ("quarantined", "INTEGER NOT NULL DEFAULT 0"),
        ("category", "TEXT"),
        ("resources", "TEXT"),
    ):
        tx.execute(f"ALTER TABLE {RESULTS} ADD COLUMN {column} {kind}")
    for column, kind in (
        ("tests", "INTEGER"),
        ("test_seconds", real),
        ("planned_seconds", real),
        ("peak_rss_bytes", "BIGINT"),
    ):
        tx.execute(f"ALTER TABLE {RUNS} ADD COLUMN {column} {kind}")
    # Trends read these per run: the runs recorded before the upgrade get them too.
    tx.execute(
        f"""UPDATE {RUNS} SET
            tests = (SELECT COUNT(*) FROM {RESULTS} x WHERE x.run_id = {RUNS}.run_id),
            test_seconds = (
                SELECT COALESCE(SUM(x.setup_seconds + x.call_seconds + x.teardown_seconds), 0)
                FROM {RESULTS} x WHERE x.run_id = {RUNS}.run_id
            )
        WHERE finished IS NOT NULL"""
    )
    create_detail_tables(tx, real=real, runs=RUNS)


def schema_version(tx: Transaction, where: str, fix: str | None = None) -> int:
    """The version ``testfleet_meta`` records; the caller checked that the table exists.

    ``fix`` replaces the way out the message offers.
    """
    rows = tx.query(f"SELECT value FROM {META} WHERE key = 'schema_version'")
    try:
        return int(rows[0][0])
    except (IndexError, TypeError, ValueError):
        raise HistoryError(
            f"testfleet history {where} has a {META} table without a valid schema_version; "
            f"{fix or 'move it away or ' + ELSEWHERE}"
        ) from None


def check_version(version: int, known: int, where: str, fix: str | None = None) -> None:
    """Refuse a store written by a newer testfleet; ``fix`` replaces the way out offered."""
    if version > known:
        raise HistoryError(
            f"testfleet history {where} has schema version {version}, newer than this "
            f"testfleet knows ({known}); {fix or 'upgrade testfleet or ' + ELSEWHERE}"
        )


def migrate(tx: Transaction, migrations: Sequence[Migration], *, has_meta: bool, where: str) -> int:
    """Bring the schema up to ``len(migrations)``; return the version it had."""
    if has_meta:
        version = schema_version(tx, where)
    else:
        tx.execute(f"CREATE TABLE {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        tx.execute(f"INSERT INTO {META} (key, value) VALUES ('schema_version', '0')")
        version = 0
    check_version(version, len(migrations), where)
    for step in migrations[version:]:
        step(tx)
    if version < len(migrations):
        tx.execute(
            f"UPDATE {META} SET value = ? WHERE key = 'schema_version'", (str(len(migrations)),)
        )
    return version


RUN_COLUMNS = "started, finished, workers, host, git_commit, arguments, exit_code, status"
#: The cache's figures of a run (version 3), all NULL when it did not use the cache.
CACHE_COLUMNS = "cache_hits, cache_misses, cache_sets, cache_evictions, cache_saved_seconds"
#: What a version 1 or 2 store gives in place of ``CACHE_COLUMNS``.
NO_CACHE_COLUMNS = "NULL, NULL, NULL, NULL, NULL"
#: The first schema version with ``CACHE_COLUMNS``.
CACHE_VERSION = 3
#: A run's totals (version 4); NULL while it is unfinished.
TOTAL_COLUMNS = "tests, test_seconds, planned_seconds, peak_rss_bytes"
NO_TOTAL_COLUMNS = "NULL, NULL, NULL, NULL"
#: The first schema version with ``TOTAL_COLUMNS``, ``USAGE_COLUMNS`` and the details.
DETAILS_VERSION = 4
#: Every run column after ``run_id``, as :func:`run_from_row` reads them.
ALL_RUN_COLUMNS = f"{RUN_COLUMNS}, {CACHE_COLUMNS}, {TOTAL_COLUMNS}"
RESULT_COLUMNS = (
    "nodeid, outcome, setup_seconds, call_seconds, teardown_seconds, worker, start_offset"
)
#: A result's usage and retries (version 4).
USAGE_COLUMNS = "cpu_seconds, peak_rss_bytes, attempts, quarantined, category, resources"
NO_USAGE_COLUMNS = "NULL, NULL, 1, 0, NULL, NULL"
#: Every result column, as :func:`result_from_row` reads them.
ALL_RESULT_COLUMNS = f"{RESULT_COLUMNS}, {USAGE_COLUMNS}"
#: Inserts one run; its values come from :func:`run_row`.
INSERT_RUN = f"INSERT INTO {RUNS} ({ALL_RUN_COLUMNS}) VALUES ({'?, ' * 16}?)"
_INSERT_RESULT = f"INSERT INTO {RESULTS} (run_id, seq, {ALL_RESULT_COLUMNS}) VALUES ({'?, ' * 14}?)"
# Newest first: by start, and by id among runs that started at the same time.
_NEWEST = "r.started DESC, r.run_id DESC"
_COLUMNS_OF_RES = ", ".join(f"res.{c.strip()}" for c in ALL_RESULT_COLUMNS.split(","))


def recent_sql(*, in_snapshot: bool) -> str:
    """The read of each test's newest runs; parameters: see :meth:`SQLStore.recent_results`.

    A window per test, walked on the index ``(nodeid, run_id)`` so that its
    cost follows the number of tests, not the length of the history: ``tests``
    steps from one node id to the next (one index seek each: a loose index
    scan, which neither engine does by itself), ``oldest`` finds each test's
    ``last``-th newest run that counts (a backward index scan of a few
    entries), and the results are then read from there on.  The plain
    ``ROW_NUMBER() OVER (PARTITION BY nodeid ...)`` window reads every row of
    the history: on 3,000 tests over 900,000 results it took 1.5 to 3 s where
    this takes 0.06 (SQLite) to 0.15 s (PostgreSQL).
    """
    counts = "r.status <> 'crashed'" + (" AND r.recorded <= ?" if in_snapshot else "")
    return f"""
        WITH RECURSIVE tests (nodeid) AS (
            SELECT MIN(nodeid) FROM {RESULTS}
            UNION ALL
            SELECT (SELECT MIN(x.nodeid) FROM {RESULTS} x WHERE x.nodeid > t.nodeid)
            FROM tests t WHERE t.nodeid IS NOT NULL
        ), oldest (nodeid, run_id) AS (
            SELECT t.nodeid, COALESCE((
                SELECT DISTINCT x.run_id FROM {RESULTS} x JOIN {RUNS} r ON r.run_id = x.run_id
                WHERE x.nodeid = t.nodeid AND {counts}
                ORDER BY x.run_id DESC LIMIT 1 OFFSET ?
            ), 0)
            FROM tests t WHERE t.nodeid IS NOT NULL
        )
        SELECT res.run_id, {_COLUMNS_OF_RES} FROM oldest o
        JOIN {RESULTS} res ON res.nodeid = o.nodeid AND res.run_id >= o.run_id
        JOIN {RUNS} r ON r.run_id = res.run_id
        WHERE {counts}
        ORDER BY res.nodeid, res.run_id DESC, res.seq
    """


def cache_row(cache: CacheFigures | None) -> tuple[object, ...]:
    """``cache`` as the values of ``CACHE_COLUMNS``."""
    if cache is None:
        return (None,) * 5
    return (cache.hits, cache.misses, cache.sets, cache.evictions, cache.saved_seconds)


def cache_from_row(row: Sequence[Any]) -> CacheFigures | None:
    """The figures from the values of ``CACHE_COLUMNS``; None when they are NULL."""
    hits, misses, sets, evictions, saved = row
    if hits is None:
        return None
    return CacheFigures(
        hits=int(hits),
        misses=int(misses),
        sets=int(sets),
        evictions=int(evictions),
        saved_seconds=float(saved),
    )


def run_row(run: RunRecord) -> tuple[object, ...]:
    """``run`` as the values of ``ALL_RUN_COLUMNS``."""
    return (
        run.started,
        run.finished,
        run.workers,
        run.host,
        run.commit,
        json.dumps(list(run.arguments)),
        run.exit_code,
        run.status,
        *cache_row(run.cache),
        run.tests,
        run.test_seconds,
        run.planned,
        run.peak_rss,
    )


def result_rows(run_id: int, results: Sequence[TestResult]) -> Iterator[tuple[object, ...]]:
    """``results`` as rows of ``testfleet_results``, numbered in their order."""
    for seq, r in enumerate(results):
        yield (
            run_id,
            seq,
            r.nodeid,
            r.outcome,
            r.setup,
            r.call,
            r.teardown,
            r.worker,
            r.start,
            r.cpu,
            r.peak_rss,
            r.attempts,
            int(r.quarantined),
            r.category,
            ",".join(r.resources) or None,
        )


def run_from_row(row: Sequence[Any]) -> RunRecord:
    """A run from ``run_id`` and the values of ``ALL_RUN_COLUMNS``."""
    run_id, started, finished, workers, host, commit, arguments, exit_code, status = row[:9]
    return RunRecord(
        started=started,
        finished=finished,
        workers=workers,
        host=host,
        commit=commit,
        arguments=tuple(json.loads(arguments)),
        exit_code=exit_code,
        status=cast(RunStatus, status),
        run_id=run_id,
        cache=cache_from_row(row[9:14]),
        tests=_maybe(int, row[14]),
        test_seconds=_maybe(float, row[15]),
        planned=_maybe(float, row[16]),
        peak_rss=_maybe(int, row[17]),
    )


def _maybe(kind: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else kind(value)


def result_from_row(row: Sequence[Any]) -> TestResult:
    """A result from the values of ``ALL_RESULT_COLUMNS``.

    Called for every row a run's estimates read (five runs of every test),
    so it converts in line and passes the fields by position.
    """
    nodeid, outcome, setup, call, teardown, worker, start, cpu, peak = row[:9]
    attempts, quarantined, category, resources = row[9:]
    return TestResult(
        nodeid,
        outcome,
        setup,
        call,
        teardown,
        worker,
        start,
        None if cpu is None else float(cpu),
        None if peak is None else int(peak),
        int(attempts),
        bool(quarantined),
        category,
        tuple(resources.split(",")) if resources else (),
    )


class SQLStore:
    """A :class:`~testfleet.history.store.HistoryStore` over a SQL connection."""

    #: The store as messages name it: a path, or a URL without its password.
    where: str
    #: The process that opened the connection, the only one that may close it.
    _pid: int

    def _transaction(
        self, action: str, *, write: bool = False
    ) -> AbstractContextManager[Transaction]:
        """A transaction that commits on success and rolls back on any error.

        ``write`` takes the write lock at the start, so that waiting for
        another writer happens there, within the backend's timeout.  Driver
        errors leave it as :class:`HistoryError` saying the store could not
        ``action``.
        """
        raise NotImplementedError

    #: An SQL expression for the number of the next recorded run.
    _next_recorded: str

    def _insert_run(self, tx: Transaction, row: Sequence[object]) -> int:
        """Insert one row of ``RUN_COLUMNS`` and return its new id."""
        raise NotImplementedError

    def _lock_recorded(self, tx: Transaction) -> None:
        """Wait for the runs being recorded, and hold off new ones, until ``tx`` ends.

        A write transaction holds off every other writer already (SQLite);
        a backend whose writers run side by side takes a lock here.
        """

    def _close(self) -> None:
        """Close the connection."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection; calling it again, or in a forked child, does nothing."""
        # A worker forked from the controller inherits the connection; closing
        # it there would end the controller's session (PostgreSQL) or
        # checkpoint and remove its WAL behind its back (SQLite).
        if os.getpid() == self._pid:
            self._close()

    def begin_run(self, run: RunRecord) -> int:
        """Insert ``run`` as ``"crashed"`` and unfinished; return the id it got."""
        row = run_row(
            RunRecord(
                started=run.started,
                finished=None,
                workers=run.workers,
                host=run.host,
                commit=run.commit,
                arguments=run.arguments,
                exit_code=None,
                status="crashed",
            )
        )
        with self._transaction("record the start of the run", write=True) as tx:
            return self._insert_run(tx, row)

    def finish_run(
        self,
        run_id: int,
        *,
        finished: float,
        exit_code: int,
        status: RunStatus,
        results: Sequence[TestResult],
        cache: CacheFigures | None = None,
        planned: float | None = None,
        peak_rss: int | None = None,
        details: RunDetails | None = None,
    ) -> None:
        """Record the end of a run, its figures, results and details in one transaction."""
        figures = ", ".join(f"{c} = ?" for c in f"{CACHE_COLUMNS}, {TOTAL_COLUMNS}".split(", "))
        totals = (len(results), sum(r.duration for r in results), planned, peak_rss)
        with self._transaction("record the results of the run", write=True) as tx:
            changed = tx.execute(
                f"UPDATE {RUNS} SET finished = ?, exit_code = ?, status = ?, {figures}, "
                f"recorded = {self._next_recorded} WHERE run_id = ? AND finished IS NULL",
                (finished, exit_code, status, *cache_row(cache), *totals, run_id),
            )
            if changed != 1:
                raise HistoryError(
                    f"testfleet history {self.where} has no unfinished run {run_id}; "
                    "finish a run once, with the id begin_run returned"
                )
            tx.executemany(_INSERT_RESULT, result_rows(run_id, results))
            if details is not None:
                write_details(tx, run_id, details)

    def import_runs(self, runs: Iterable[ImportedRun]) -> int:
        """Insert runs as they are, with their results (and details), under new ids,
        in one transaction.

        Their ``run_id`` is ignored.  Return how many runs were inserted.
        """
        count = 0
        with self._transaction("merge runs", write=True) as tx:
            for run, results, *details in runs:
                run_id = self._insert_run(tx, run_row(run))
                tx.executemany(_INSERT_RESULT, result_rows(run_id, results))
                for found in details:
                    write_details(tx, run_id, found)
                # Recorded now, here: a snapshot taken before does not hold it.
                tx.execute(
                    f"UPDATE {RUNS} SET recorded = {self._next_recorded} "
                    "WHERE run_id = ? AND status <> 'crashed'",
                    (run_id,),
                )
                count += 1
        return count

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """The stored runs, newest first, with ``run_id`` set."""
        sql = f"SELECT run_id, {ALL_RUN_COLUMNS} FROM {RUNS} r ORDER BY {_NEWEST}"
        params: tuple[object, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(0, limit),)
        with self._transaction("read the runs") as tx:
            return [run_from_row(row) for row in tx.query(sql, params)]

    def results(self, run_id: int) -> list[TestResult]:
        """The results of one run, in the order they were written."""
        with self._transaction("read the results of a run") as tx:
            rows = tx.query(
                f"SELECT {ALL_RESULT_COLUMNS} FROM {RESULTS} WHERE run_id = ? ORDER BY seq",
                (run_id,),
            )
        return [result_from_row(row) for row in rows]

    def details(self, run_id: int) -> RunDetails:
        """What monitoring recorded of one run: samples and fixture timings."""
        with self._transaction("read the details of a run") as tx:
            return read_details(tx, run_id)

    def recent_results(
        self, last: int = 5, *, snapshot: Snapshot | None = None
    ) -> dict[str, list[tuple[int, TestResult]]]:
        """Each node id's ``(run_id, result)`` in the ``last`` newest runs that ran it.

        Newest first (the newest run is the one with the highest id: the one
        that began last in this store); a run with several results of a node
        id counts once, its results in the order they were written.  Runs
        still marked ``"crashed"`` are left out, and with ``snapshot`` so are
        the runs recorded after it.  However many runs left a test out (a
        ``-k``, ``--lf`` or one-file run), its own ``last`` runs are read.
        """
        if last < 1:
            raise ValueError(f"last must be at least 1, not {last}")
        params: tuple[object, ...] = (last - 1,)
        if snapshot is not None:
            params = (snapshot.upto, last - 1, snapshot.upto)
        recent: dict[str, list[tuple[int, TestResult]]] = {}
        with self._transaction("read recent results") as tx:
            for row in tx.query(recent_sql(in_snapshot=snapshot is not None), params):
                recent.setdefault(row[1], []).append((row[0], result_from_row(row[1:])))
        return recent

    def snapshot(self, split: str, created: float) -> Snapshot:
        """The snapshot of ``split``: the one stored, else the history as it is now.

        The first shard of a split to ask stores its snapshot (at ``created``);
        every later one, however many runs were recorded in between, gets the
        same.  Concurrent first shards agree: the check and the insert are one
        transaction that no recording run can interleave with.
        """
        select = f"SELECT created, recorded FROM {SPLITS} WHERE split_id = ?"
        with self._transaction("fix the history of the split", write=True) as tx:
            rows = tx.query(select, (split,))
            if not rows:
                self._lock_recorded(tx)
                newest = tx.query(f"SELECT COALESCE(MAX(recorded), 0) FROM {RUNS}")[0][0]
                tx.execute(
                    f"INSERT INTO {SPLITS} (split_id, created, recorded) VALUES (?, ?, ?) "
                    "ON CONFLICT (split_id) DO NOTHING",
                    (split, created, int(newest)),
                )
                rows = tx.query(select, (split,))
        stored, upto = rows[0]
        return Snapshot(split=split, upto=int(upto), created=float(stored))

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
