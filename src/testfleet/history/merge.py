"""Merge SQLite histories, such as those the shards of one CI run leave, into one file."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from testfleet.history._details import read_details
from testfleet.history._sql import (
    CACHE_COLUMNS,
    CACHE_VERSION,
    DETAILS_VERSION,
    NO_CACHE_COLUMNS,
    NO_TOTAL_COLUMNS,
    NO_USAGE_COLUMNS,
    OLDEST_READABLE,
    RESULT_COLUMNS,
    RESULTS,
    RUN_COLUMNS,
    RUNS,
    TOTAL_COLUMNS,
    USAGE_COLUMNS,
    ImportedRun,
    result_from_row,
    run_from_row,
)
from testfleet.history.sqlite import MIGRATIONS, SQLiteStore, check_testfleet, display, problem
from testfleet.history.store import HistoryError
from testfleet.model.history import RunDetails, RunRecord, TestResult

#: The way out every message about a source offers.
_FIX = "check the paths to merge"


class _Source:
    """A source history, open read-only: merging never changes it."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.where = display(path)
        self._timeout = timeout
        self._version = 0
        if not path.is_file():
            raise HistoryError(f"testfleet history {self.where} does not exist; {_FIX}")
        try:
            self.conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout
            )
        except sqlite3.Error as exc:
            raise problem(exc, self.where, "open it", timeout, _FIX) from None
        try:
            self._check()
        except BaseException:
            self.conn.close()
            raise

    def _check(self) -> None:
        known = len(MIGRATIONS)
        try:
            version = check_testfleet(self.conn, self.where, known, _FIX)
        except sqlite3.Error as exc:
            raise problem(exc, self.where, "read it", self._timeout, _FIX) from None
        if version is None:
            raise HistoryError(
                f"testfleet history {self.where} is an empty database, not a testfleet "
                f"history; {_FIX}"
            )
        if version < OLDEST_READABLE:
            # Read-only, so it cannot be migrated here.
            raise HistoryError(
                f"testfleet history {self.where} has schema version {version}, older than "
                f"this testfleet reads ({OLDEST_READABLE}); migrate it by running pytest "
                "with --history=PATH on it once, then merge"
            )
        self._version = version

    def runs(self) -> list[RunRecord]:
        # An older source has no cache figures: its runs merge without them.
        cache = CACHE_COLUMNS if self._version >= CACHE_VERSION else NO_CACHE_COLUMNS
        totals = TOTAL_COLUMNS if self._version >= DETAILS_VERSION else NO_TOTAL_COLUMNS
        try:
            rows = self.conn.execute(
                f"SELECT run_id, {RUN_COLUMNS}, {cache}, {totals} FROM {RUNS} ORDER BY run_id"
            ).fetchall()
        except sqlite3.Error as exc:
            raise problem(exc, self.where, "read its runs", self._timeout, _FIX) from None
        return [run_from_row(row) for row in rows]

    def results(self, run_id: int) -> list[TestResult]:
        usage = USAGE_COLUMNS if self._version >= DETAILS_VERSION else NO_USAGE_COLUMNS
        try:
            rows = self.conn.execute(
                f"SELECT {RESULT_COLUMNS}, {usage} FROM {RESULTS} WHERE run_id = ? ORDER BY seq",
                (run_id,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise problem(exc, self.where, "read its results", self._timeout, _FIX) from None
        return [result_from_row(row) for row in rows]

    def details(self, run_id: int) -> RunDetails:
        if self._version < DETAILS_VERSION:
            return RunDetails()
        try:
            return read_details(_ReadOnly(self.conn), run_id)
        except sqlite3.Error as exc:
            raise problem(exc, self.where, "read its details", self._timeout, _FIX) from None


class _ReadOnly:
    """Just enough of a transaction to read a source through the shared queries."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def _identity(run: RunRecord) -> RunRecord:
    """A run as it is wherever it is stored: everything but its id."""
    return dataclasses.replace(run, run_id=None)


def _all_runs(sources: Sequence[_Source], seen: set[RunRecord]) -> Iterator[ImportedRun]:
    """Every run of every source not ``seen`` yet, oldest first, so new ids follow time."""
    runs = [(run, source) for source in sources for run in source.runs()]
    runs.sort(key=lambda pair: pair[0].started)  # stable: ties keep source, then id, order
    for run, source in runs:
        if _identity(run) in seen:
            continue
        seen.add(_identity(run))
        assert run.run_id is not None  # read from the store
        yield run, source.results(run.run_id), source.details(run.run_id)


def merge(sources: Sequence[Path], out: Path, *, timeout: float = 5.0) -> int:
    """Append the runs and results of SQLite histories ``sources`` to ``out``; return the count.

    ``out`` is created when absent and appended to when it is a testfleet
    history; runs get new ids there, in the order they started.  All sources
    are checked before anything is written, and everything is written in one
    transaction: a missing, foreign or damaged source raises
    :class:`HistoryError` naming it, and ``out`` stays as it was.  ``out``
    must not be one of the sources.  A run that is already in ``out``, or in an
    earlier source, is merged once: the shards of a CI run all inherit the runs
    of the history they started from.
    """
    for source in sources:
        if _same(source, out):
            raise HistoryError(
                f"testfleet history {display(out)} is both a source and the output of the "
                "merge; write the merge to another file"
            )
    with ExitStack() as stack:
        opened: list[_Source] = []
        for path in sources:
            reader = _Source(path, timeout)
            stack.callback(reader.conn.close)
            opened.append(reader)
        store = stack.enter_context(SQLiteStore(out, timeout=timeout))
        seen = {_identity(run) for run in store.runs()}
        return store.import_runs(_all_runs(opened, seen))
