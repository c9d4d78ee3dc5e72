"""The history of runs: where it is stored, and the duration estimates drawn from it.

``open_store`` picks the store ``--history`` names (a SQLite file by default,
PostgreSQL by URL); ``estimate`` turns recent results into per-test and
per-group estimates for the planner; ``merge`` joins the SQLite histories of
several shards.  psycopg is imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

from testfleet.history.estimates import Estimates, estimate
from testfleet.history.merge import merge
from testfleet.history.postgres import PostgresStore
from testfleet.history.sqlite import SQLiteStore
from testfleet.history.store import HistoryError, HistoryStore, open_store

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
