"""The history plugin: records every run and each test's result, and reads estimates.

Registered when a run asks for testfleet (``--workers``, ``--history``,
``testfleet run``) unless ``--no-history``.  It never changes a run's outcome:
a store that cannot be opened or written costs one warning line and the run
goes on without history.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pytest

from testfleet.model import RunRecord, TestResult
from testfleet.plugins.keys import CACHE_FIGURES, FINISHED_RUN, FLEET
from testfleet.plugins.recorder import RECORDER

if TYPE_CHECKING:
    from testfleet.history import Estimates, HistoryStore
    from testfleet.history.prefetch import Prefetch
    from testfleet.model.history import Snapshot


class HistoryPlugin:
    """Writes the run to the history store at its end; answers estimates from it."""

    def __init__(self, config: pytest.Config, spec: str | None, *, prefetch: bool = False) -> None:
        self._config = config
        self._spec = spec
        #: Read the estimates while pytest collects (a run that will plan).
        self._want_prefetch = prefetch
        self._prefetch: Prefetch | None = None
        self._store: HistoryStore | None = None
        self._run_id: int | None = None
        #: The store failed in this run (and said so): it is not tried again.
        self._failed = False

    # -- reading ---------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self._want_prefetch and not self._failed:
            from testfleet.history.prefetch import Prefetch

            self._prefetch = Prefetch(self._spec, self._config.rootpath, self._split(), time.time())

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
        from testfleet.history.prefetch import estimate_known

        if self._prefetch is not None and self._prefetch.split is None:
            prefetch, self._prefetch = self._prefetch, None
            known = prefetch.result()
            if isinstance(known, HistoryError):
                self._disable(known)
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
        from testfleet.history.prefetch import estimate_known, read_split

        split = self._split()
        if split is None or self._failed:
            raise HistoryError(
                "testfleet history is off for this run; pass --history=PATH to every shard"
            )
        prefetch = self._prefetch
        if prefetch is not None and prefetch.split == split:
            self._prefetch = None
            known = prefetch.result()
            if isinstance(known, HistoryError):
                raise known
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

        if self._store is None and not self._failed:
            try:
                self._store = open_store(self._spec, self._config.rootpath)
            except HistoryError as exc:
                self._disable(exc)
        return self._store

    @property
    def failed(self) -> bool:
        """Whether the store failed in this run (and said so): it is not used again."""
        return self._failed

    def _disable(self, error: Exception) -> None:
        """One warning line; the run goes on without history."""
        if self._failed:
            return  # said once already
        if self._store is not None:
            self._store.close()
        self._store = None
        self._run_id = None
        self._failed = True  # never try again in this run
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        line = f"{error} (this run goes on without history)"
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(line, yellow=True)


def git_commit(config: pytest.Config) -> str | None:
    """The commit checked out in the work tree of the run's rootdir, if any."""
    from testfleet.history.commit import git_commit as commit_of

    return commit_of(config.rootpath)


#: The history plugin, when the run records history.
HISTORY_PLUGIN = pytest.StashKey[HistoryPlugin]()
