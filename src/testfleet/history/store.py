"""The history store's interface, its error, and the choice of a store from ``--history``.

A store records each run in two steps so that a run that dies is still
visible: :meth:`HistoryStore.begin_run` inserts it as ``"crashed"``, and
:meth:`HistoryStore.finish_run` writes its end and all its results in one
transaction.  Nothing here reads the clock: the caller passes every timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, TypeVar

from testfleet.model.history import (
    CacheFigures,
    RunDetails,
    RunRecord,
    RunStatus,
    Snapshot,
    TestResult,
)

#: Where the history goes by default, relative to the rootdir.
DEFAULT_PATH = Path(".testfleet", "history.db")

#: The way out that every message offers: another store, or none.  The value is
#: joined to the option: ``--history PATH`` with a space may be taken for a test path.
ELSEWHERE = "pass --history=PATH / --no-history"

_Store = TypeVar("_Store", bound="HistoryStore")


class HistoryError(Exception):
    """The history cannot be used; the message names the problem and the fix in one line.

    The plugin prints it as one warning line and runs on without history, so
    writing history never changes a run's outcome or exit code.
    """


class HistoryStore(Protocol):
    """Runs and their per-test results, newest first.

    Every method raises :class:`HistoryError` (and nothing else) when the
    store fails.
    """

    def begin_run(self, run: RunRecord) -> int:
        """Insert ``run`` as ``"crashed"`` and unfinished; return the id it got.

        Its ``finished``, ``exit_code``, ``status`` and ``run_id`` are ignored:
        until :meth:`finish_run` says otherwise the run counts as one whose
        process died.
        """
        ...

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
        """Record the end of a run and all its results in one transaction.

        ``cache`` is what the shared cache did in the run, when it was used;
        ``planned`` the wall the planner predicted; ``peak_rss`` and
        ``details`` what monitoring saw.  The run's test count and test
        seconds are taken from ``results``.
        """
        ...

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """The stored runs, newest first, with ``run_id`` set."""
        ...

    def results(self, run_id: int) -> list[TestResult]:
        """The results of one run, in the order they were written."""
        ...

    def details(self, run_id: int) -> RunDetails:
        """What monitoring recorded of one run (empty when nothing was)."""
        ...

    def recent_results(
        self, last: int = 5, *, snapshot: Snapshot | None = None
    ) -> dict[str, list[tuple[int, TestResult]]]:
        """Each node id's ``(run_id, result)`` in the ``last`` newest runs that ran it.

        Newest first; runs still marked ``"crashed"`` are left out, and with
        ``snapshot`` so are the runs recorded after it.  The window is per
        test: runs that did not run a test (``-k``, ``--lf``) do not push its
        own results out.  The run id tells which results come from the same run.
        """
        ...

    def snapshot(self, split: str, created: float) -> Snapshot:
        """The history as the first shard of ``split`` read it; stored by that first call."""
        ...

    def import_runs(
        self,
        runs: Iterable[
            tuple[RunRecord, Sequence[TestResult]]
            | tuple[RunRecord, Sequence[TestResult], RunDetails]
        ],
    ) -> int:
        """Insert runs as they are, with their results (and details), under new ids;
        return the count."""
        ...

    def close(self) -> None:
        """Release the connection; calling it again does nothing."""
        ...

    def __enter__(self: _Store) -> _Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def is_postgres_url(spec: str) -> bool:
    """Whether ``--history`` names a PostgreSQL server rather than a file."""
    return spec.startswith(("postgresql://", "postgres://"))


def open_store(spec: str | None, rootdir: Path) -> HistoryStore:
    """Open the store ``--history`` names: a SQLite file by default, PostgreSQL by URL.

    ``None`` means ``rootdir/.testfleet/history.db``.  Any other spec that is
    not a ``postgresql://`` or ``postgres://`` URL is a SQLite file path;
    relative paths are relative to the current directory, as pytest's
    ``--junitxml`` is.
    """
    # Imported here: the plugin imports this module on every run, the
    # backends only when history is on.
    if spec is not None and is_postgres_url(spec):
        from testfleet.history.postgres import PostgresStore

        return PostgresStore(spec)
    from testfleet.history.sqlite import SQLiteStore

    return SQLiteStore(rootdir / DEFAULT_PATH if spec is None else Path(spec))
