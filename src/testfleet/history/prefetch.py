"""Reading the history ahead of a run: the read-ahead process and the reads it does.

A run that plans needs the estimates of its tests before the workers start.
:class:`Prefetch` reads them in a forked child while pytest collects; the
functions below are the reads themselves, which a run (or ``testfleet plan``)
also does in process when it did not read ahead.  Every read raises
:class:`~testfleet.history.HistoryError` when the store cannot be read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from testfleet.history.store import DEFAULT_PATH, HistoryError, open_store

if TYPE_CHECKING:
    from testfleet.history.estimates import Estimates
    from testfleet.model.history import Snapshot, TestResult

#: What ``HistoryStore.recent_results`` returns: node id -> (run id, result), newest first.
Recent = dict[str, list[tuple[int, "TestResult"]]]


class Prefetch:
    """Reads the history's estimates in a forked child while pytest collects.

    Collection keeps one core busy and leaves the other idle; reading and
    estimating a large history takes a noticeable part of a second.  Done in a
    child process started before collection (when the controller has no
    threads, so forking is safe), it costs the run nothing.  The child sends
    the estimates of every test the history knows as JSON; the controller
    extends them to the collected tests.  For a shard, the child reads the
    snapshot of the shard's split (storing it, if it is the first).
    """

    def __init__(self, spec: str | None, rootdir: Path, split: str | None, now: float) -> None:
        """Start the reader of the store ``spec`` names (None: the default under ``rootdir``).

        ``split``: the split whose snapshot to read (taken at ``now`` if it is
        the first), or None for the whole history.
        """
        #: The split whose snapshot is read; None: the whole history.
        self.split = split
        self._fd, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the reader: never returns
            os.close(self._fd)
            _reader_main(spec, rootdir, write, split, now)
        os.close(write)

    def result(self) -> tuple[Estimates, Snapshot | None] | HistoryError:
        """The estimates of the known tests and their snapshot, or why there are none."""
        from testfleet.history.estimates import Estimates
        from testfleet.model.history import Snapshot

        chunks = []
        while chunk := os.read(self._fd, 1 << 16):
            chunks.append(chunk)
        self._close()
        try:
            data = json.loads(b"".join(chunks))
        except ValueError:
            return HistoryError("testfleet history could not be read (the reader process failed)")
        if "error" in data:
            return HistoryError(str(data["error"]))
        known = Estimates(
            per_test=dict(data["per_test"]),
            group_cost=dict(data["group_cost"]),
            new=frozenset(),
            failed_last=frozenset(data["failed_last"]),
        )
        snapshot = data.get("snapshot")
        return known, None if snapshot is None else Snapshot(**snapshot)

    def abandon(self) -> None:
        """End the reader now: the run will not plan (it only reads, so this is safe)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        self._close()

    def _close(self) -> None:
        os.close(self._fd)
        os.waitpid(self._pid, 0)


def _reader_main(
    spec: str | None, rootdir: Path, write: int, split: str | None, now: float
) -> NoReturn:
    """The reader process: estimate every known test, send JSON, exit."""
    try:
        payload: dict[str, object]
        try:
            snapshot = None
            if split is None:
                recent = read_recent(spec, rootdir)
            else:
                recent, snapshot = read_split(spec, rootdir, split, now)
            known = estimate_known(recent)
            payload = {
                "per_test": known.per_test,
                "group_cost": known.group_cost,
                "failed_last": sorted(known.failed_last),
                "snapshot": None if snapshot is None else dataclasses.asdict(snapshot),
            }
        except HistoryError as exc:
            payload = {"error": str(exc)}
        data = memoryview(json.dumps(payload).encode())
        while data:
            data = data[os.write(write, data) :]
    finally:
        os._exit(0)


def estimate_known(recent: Mapping[str, Sequence[tuple[int, TestResult]]]) -> Estimates:
    """Estimates of every test ``recent`` knows, each in its module's group.

    Every reader estimates this way and then extends the estimates to the
    collected tests, so that the shards of a split agree whichever way they
    read (in the prefetch child or not).
    """
    from testfleet.history.estimates import estimate, newest_outcomes

    groups = {nodeid: nodeid.partition("::")[0] for nodeid in recent}
    return estimate(groups, recent, newest_outcomes(recent))


def read_recent(spec: str | None, rootdir: Path) -> Recent:
    """The store's recent results, for reading only.

    With no ``--history`` (``spec`` None) and no default store yet, there is
    nothing to read, and no store is created just to find that out.
    """
    if spec is None and not (rootdir / DEFAULT_PATH).exists():
        return {}
    with open_store(spec, rootdir) as store:
        return store.recent_results()


def read_split(spec: str | None, rootdir: Path, split: str, now: float) -> tuple[Recent, Snapshot]:
    """The recent results in the snapshot of ``split``, stored at ``now`` if it is the first."""
    with open_store(spec, rootdir) as store:
        snapshot = store.snapshot(split, now)
        return store.recent_results(snapshot=snapshot), snapshot
