"""The history plugin: records every run and each test's result, and reads estimates.

Registered when a run asks for testfleet (``--workers``, ``--history``,
``testfleet run``) unless ``--no-history``.  It never changes a run's outcome:
a store that cannot be opened or written costs one warning line and the run
goes on without history.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from testfleet.model import Outcome, RunRecord, TestResult
from testfleet.plugins.keys import CACHE_FIGURES, FINISHED_RUN, FLEET
from testfleet.plugins.recorder import RECORDER

if TYPE_CHECKING:
    from testfleet.history import Estimates, HistoryStore
    from testfleet.model.history import Snapshot


class _Prefetch:
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
        #: The split whose snapshot is read; None: the whole history.
        self.split = split
        self._fd, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the reader: never returns
            os.close(self._fd)
            _prefetch_main(spec, rootdir, write, split, now)
        os.close(write)

    def result(self) -> tuple[Estimates, Snapshot | None] | str:
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
            return "testfleet history could not be read (the reader process failed)"
        if "error" in data:
            return str(data["error"])
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


def _prefetch_main(
    spec: str | None, rootdir: Path, write: int, split: str | None, now: float
) -> NoReturn:
    """The reader process: estimate every known test, send JSON, exit."""
    try:
        from testfleet.history import HistoryError

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
    from testfleet.history import estimate

    groups = {nodeid: nodeid.partition("::")[0] for nodeid in recent}
    return estimate(groups, recent, last_outcomes(recent))


def read_recent(spec: str | None, rootdir: Path) -> dict[str, list[tuple[int, TestResult]]]:
    """The store's recent results, for reading only: raises ``HistoryError``.

    With no ``--history`` and no default store yet, there is nothing to read,
    and no store is created just to find that out.
    """
    from testfleet.history import open_store

    if spec is None and not (rootdir / ".testfleet" / "history.db").exists():
        return {}
    with open_store(spec, rootdir) as store:
        return store.recent_results()


def read_split(
    spec: str | None, rootdir: Path, split: str, now: float
) -> tuple[dict[str, list[tuple[int, TestResult]]], Snapshot]:
    """The recent results in the snapshot of ``split``, stored now if it is the first.

    Raises ``HistoryError``.
    """
    from testfleet.history import open_store

    with open_store(spec, rootdir) as store:
        snapshot = store.snapshot(split, now)
        return store.recent_results(snapshot=snapshot), snapshot


def last_outcomes(recent: Mapping[str, Sequence[tuple[int, TestResult]]]) -> dict[str, Outcome]:
    """Each node id's outcome in its newest run, from what ``recent_results`` read.

    The same answer as the store's ``last_outcomes``, without reading again.
    """
    from testfleet.history.estimates import newest_outcomes

    return newest_outcomes(recent)


class HistoryPlugin:
    """Writes the run to the history store at its end; answers estimates from it."""

    def __init__(self, config: pytest.Config, spec: str | None, *, prefetch: bool = False) -> None:
        self._config = config
        self._spec = spec
        #: Read the estimates while pytest collects (a run that will plan).
        self._want_prefetch = prefetch
        self._prefetch: _Prefetch | None = None
        self._store: HistoryStore | None = None
        self._run_id: int | None = None

    # -- reading ---------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self._want_prefetch and self._spec != "":
            self._prefetch = _Prefetch(
                self._spec, self._config.rootpath, self._split(), time.time()
            )

    def _split(self) -> str | None:
        """The split this run is a shard of, when a ``--history`` weighs it."""
        if self._config.getoption("testfleet_shard") is None or self._spec is None:
            return None
        from testfleet.scheduling.shards import split_id

        return split_id(os.environ, git_commit(self._config))

    def estimates(self, groups: Mapping[str, str]) -> Estimates:
        """Estimates for the node ids in ``groups`` from this store's recent runs."""
        from testfleet.history import HistoryError, estimate
        from testfleet.history.estimates import extend

        if self._prefetch is not None and self._prefetch.split is None:
            prefetch, self._prefetch = self._prefetch, None
            known = prefetch.result()
            if isinstance(known, str):
                self._disable(HistoryError(known))
                return estimate(groups, {}, {})
            return extend(known[0], groups)
        store = self._open()
        if store is not None:
            try:
                return extend(estimate_known(store.recent_results()), groups)
            except HistoryError as exc:
                self._disable(exc)
        return estimate(groups, {}, {})

    def split_estimates(self, groups: Mapping[str, str]) -> tuple[Estimates, Snapshot]:
        """Estimates for a shard: from the snapshot of its split, the same for every shard.

        Raises ``HistoryError`` rather than estimate without the history: a
        shard that guessed could skip or repeat the tests of another.
        """
        from testfleet.history import HistoryError
        from testfleet.history.estimates import extend

        split = self._split()
        if split is None or self._spec == "":
            raise HistoryError(
                "testfleet history is off for this run; pass --history=PATH to every shard"
            )
        prefetch = self._prefetch
        if prefetch is not None and prefetch.split == split:
            self._prefetch = None
            known = prefetch.result()
            if isinstance(known, str):
                raise HistoryError(known)
            estimates, snapshot = known
            assert snapshot is not None  # read for a split
            return extend(estimates, groups), snapshot
        recent, snapshot = read_split(self._spec, self._config.rootpath, split, time.time())
        return extend(estimate_known(recent), groups), snapshot

    # -- recording -------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from testfleet.history import HistoryError
        from testfleet.plugins.fleet import effective_workers

        if FLEET in self._config.stash:
            return  # one node records the whole fleet run at its end (record_fleet_run)
        store = self._open()
        if store is None or session.config.option.collectonly:
            return
        recorder = self._config.stash.get(RECORDER, None)
        run = RunRecord(
            started=recorder.started if recorder is not None else time.time(),
            finished=None,
            workers=effective_workers(self._config, len(session.items)),
            host=socket.gethostname(),
            commit=git_commit(self._config),
            arguments=tuple(self._config.invocation_params.args),
            exit_code=None,
            status="crashed",
        )
        try:
            self._run_id = store.begin_run(run)
        except HistoryError as exc:
            self._disable(exc)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from testfleet.history import HistoryError

        finished = self._config.stash.get(FINISHED_RUN, None)
        if self._store is None or self._run_id is None or finished is None:
            return
        run = finished.run
        try:
            self._store.finish_run(
                self._run_id,
                finished=run.finished or time.time(),
                exit_code=run.exit_code or 0,
                status=run.status,
                results=finished.results,
                cache=run.cache,
                planned=run.planned,
                peak_rss=run.peak_rss,
                details=finished.details,
            )
        except HistoryError as exc:
            self._disable(exc)

    def record_fleet_run(self, run: RunRecord, results: Sequence[TestResult]) -> None:
        """Record a whole fleet run, every node's results, as one run."""
        from testfleet.history import HistoryError

        store = self._open()
        if store is None:
            return
        try:
            run_id = store.begin_run(run)
            store.finish_run(
                run_id,
                finished=run.finished or time.time(),
                exit_code=run.exit_code or 0,
                status=run.status,
                results=results,
                cache=self._config.stash.get(CACHE_FIGURES, None),
            )
        except HistoryError as exc:
            self._disable(exc)

    def pytest_unconfigure(self) -> None:
        if self._prefetch is not None:  # a run that never planned (--collect-only, say)
            self._prefetch.abandon()
            self._prefetch = None
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- the store -------------------------------------------------------------

    def _open(self) -> HistoryStore | None:
        from testfleet.history import HistoryError, open_store

        if self._store is None and self._spec != "":
            try:
                self._store = open_store(self._spec, self._config.rootpath)
            except HistoryError as exc:
                self._disable(exc)
        return self._store

    @property
    def failed(self) -> bool:
        """Whether the store failed in this run (and said so): it is not used again."""
        return self._spec == ""

    def _disable(self, error: Exception) -> None:
        """One warning line; the run goes on without history."""
        if self._spec == "":
            return  # said once already
        if self._store is not None:
            self._store.close()
        self._store = None
        self._run_id = None
        self._spec = ""  # never try again in this run
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        line = f"{error} (this run goes on without history)"
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(line, yellow=True)


def git_commit(config: pytest.Config) -> str | None:
    """The commit checked out in the rootdir's git work tree, read from its files.

    Reading ``.git`` directly costs a fraction of a millisecond, where running
    ``git rev-parse`` would cost a process start on every run.
    """
    for directory in (config.rootpath, *config.rootpath.parents):
        dotgit = directory / ".git"
        if dotgit.exists():
            return _read_head(dotgit)
    return None


def _read_head(dotgit: Path) -> str | None:
    try:
        if dotgit.is_file():  # a worktree or submodule: "gitdir: <path>"
            pointer = dotgit.read_text().strip().removeprefix("gitdir:").strip()
            dotgit = (dotgit.parent / pointer).resolve()
        head = (dotgit / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None  # a detached HEAD holds the commit itself
        ref = head.removeprefix("ref:").strip()
        common = dotgit
        if (dotgit / "commondir").exists():
            common = (dotgit / (dotgit / "commondir").read_text().strip()).resolve()
        for base in (dotgit, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip() or None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                commit, _, name = line.partition(" ")
                if name == ref:
                    return commit
    except OSError:
        return None
    return None  # a branch with no commit yet


#: The history plugin, when the run records history.
HISTORY_PLUGIN = pytest.StashKey[HistoryPlugin]()
