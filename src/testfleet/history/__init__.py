"""The history of runs: where it is stored, and the duration estimates drawn from it.

``open_store`` picks the store ``--history`` names (a SQLite file by default,
PostgreSQL by URL); ``estimate`` turns recent results into per-test and
per-group estimates for the planner; ``merge`` joins the SQLite histories of
several shards.  psycopg is imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        # Importing a submodule binds its name here (``merge`` the module);
        # bind the function instead, as the eager import did.
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
