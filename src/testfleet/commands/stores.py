"""The history as the commands that only read it open it: never created, never empty."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testfleet.history import HistoryStore
    from testfleet.model.history import RunRecord

#: pytest's exit code for a usage error: no history, or one that cannot be read.
USAGE = 4


def open_history(path: str | None, history: str | None) -> HistoryStore:
    """Open the history a reading command names, refusing one that is not there.

    Opening a SQLite store creates it when absent; a command that only reads
    must not leave an empty history behind a typo, so a missing file is a
    :class:`~testfleet.history.HistoryError` saying how to make one.
    """
    from testfleet.history import HistoryError, open_store
    from testfleet.history.sqlite import display
    from testfleet.history.store import DEFAULT_PATH, is_postgres_url

    rootdir = Path(path) if path else Path.cwd()
    if history is None or not is_postgres_url(history):
        file = rootdir / DEFAULT_PATH if history is None else Path(history)
        if not file.is_file():
            raise HistoryError(
                f"testfleet: no history at {display(file)}: run pytest --workers=auto "
                "first (it records every run there), or pass --history=PATH"
            )
    return open_store(history, rootdir)


def finished_runs(store: HistoryStore, count: int) -> list[RunRecord]:
    """The ``count`` newest runs that finished (not ``"crashed"``), newest first."""
    limit = count
    while True:
        runs = store.runs(limit)
        finished = [r for r in runs if r.status != "crashed"]
        if len(finished) >= count or len(runs) < limit:
            return finished[:count]
        limit *= 2  # crashed runs took places: read further back
