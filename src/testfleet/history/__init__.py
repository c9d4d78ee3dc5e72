"""The history of runs: where it is stored, and the duration estimates drawn from it.

``open_store`` picks the store ``--history`` names (a SQLite file by default,
PostgreSQL by URL); ``estimate`` turns recent results into per-test and
per-group estimates for the planner; ``merge`` joins the SQLite histories of
several shards.  psycopg is imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from testfleet._lazy import lazy_attributes
from testfleet.history.estimates import Estimates, estimate
from testfleet.history.store import HistoryError, HistoryStore, open_store

if TYPE_CHECKING:
    from testfleet.history.merge import merge
    from testfleet.history.postgres import PostgresStore
    from testfleet.history.sqlite import SQLiteStore

#: Names whose modules load on first use: a run pays for the store it opens only
#: (``open_store`` imports its backend), and none pays for ``merge``.
_LAZY = {
    "merge": "testfleet.history.merge",
    "PostgresStore": "testfleet.history.postgres",
    "SQLiteStore": "testfleet.history.sqlite",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "Estimates",
    "HistoryError",
    "HistoryStore",
    "PostgresStore",
    "SQLiteStore",
    "estimate",
    "merge",
    "open_store",
]
