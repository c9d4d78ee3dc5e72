"""The report plugin: writes the run's HTML or JSON report (``--report PATH``) at its end.

Registered in the controller only, when ``--report`` asks for it.  It writes
after the history has recorded the run, so that the run shows in its own
trends, and it never changes a run's outcome: a history it cannot read costs
one warning line (the report is written without trends), a path it cannot
write costs one warning line and no report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from testfleet.plugins.keys import FINISHED_RUN, QUARANTINE

if TYPE_CHECKING:
    from testfleet.history import HistoryStore
    from testfleet.model.history import FinishedRun, RunRecord
    from testfleet.monitoring.flaky import FlakyScore

#: What ``--report`` writes, by the path's suffix.
SUFFIXES = (".html", ".json")
#: How the file a report is written to before it is renamed onto its path ends.
PARTIAL = ".tmp"


def register(config: pytest.Config, value: str) -> None:
    """Register the report plugin for ``--report=value``; a bad suffix is a usage error."""
    if Path(value).suffix.lower() not in SUFFIXES:
        raise pytest.UsageError(
            f"--report: {value!r} names neither an HTML nor a JSON file; "
            "expected PATH.html or PATH.json"
        )
    # Relative to the directory pytest was started in, as --junitxml is.
    path = Path(os.path.abspath(value))
    config.pluginmanager.register(ReportPlugin(config, path), "testfleet-report")


class ReportPlugin:
    """Writes the report of the run ``FINISHED_RUN`` holds, once the session has finished."""

    def __init__(self, config: pytest.Config, path: Path) -> None:
        self._config = config
        #: Where the report goes (absolute).
        self.path = path
        #: Set once the report is written.
        self.written = False
        self._warnings: list[str] = []

    # The innermost wrapper (trylast): its code after ``yield`` runs once every
    # plain sessionfinish has run (the recorder's, and the history's trylast one
    # that stores the run) and before the terminal reporter's wrapper prints the
    # summary that says where the report went.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        yield
        finished = self._config.stash.get(FINISHED_RUN, None)
        if finished is None:
            return  # no run to report (--collect-only, say): nothing to say either
        runs: Sequence[RunRecord] = ()
        flaky: Sequence[FlakyScore] = ()
        spec = self._history_spec()
        if spec is not None:
            from testfleet.history import HistoryError

            try:
                runs, flaky, finished = read_history(*spec, finished)
            except HistoryError as exc:
                self._warnings.append(f"{exc} (the report is written without trends)")
        try:
            quarantine: frozenset[str] = self._config.stash.get(QUARANTINE, frozenset())
            write_report(
                self.path, finished, runs=runs, flaky=flaky, quarantined=sorted(quarantine)
            )
        except (OSError, ValueError) as exc:
            self._warnings.append(
                f"testfleet: the report could not be written to {self.path} ({reason(exc)}); "
                "pass --report=PATH where you can write"
            )
        else:
            self.written = True

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for line in self._warnings:
            terminalreporter.write_line(line, yellow=True)
        if self.written:
            terminalreporter.write_line(f"testfleet: report written to {self.path}")

    def _history_spec(self) -> tuple[str | None, Path] | None:
        """``(--history, rootdir)`` when this run records history and its store exists."""
        from testfleet.history.store import DEFAULT_PATH
        from testfleet.plugins.history import HISTORY_PLUGIN

        config = self._config
        if config.getoption("testfleet_no_history") or HISTORY_PLUGIN not in config.stash:
            return None
        if config.stash[HISTORY_PLUGIN].failed:
            return None  # it said why already: the report goes without history
        spec: str | None = config.getoption("testfleet_history")
        if spec is None and not (config.rootpath / DEFAULT_PATH).exists():
            return None  # nothing recorded; opening the store would create it
        return spec, config.rootpath


def read_history(
    spec: str | None, rootdir: Path, finished: FinishedRun
) -> tuple[list[RunRecord], list[FlakyScore], FinishedRun]:
    """The store's runs and flaky scores, and ``finished`` with the id the store gave it.

    Raises ``HistoryError``.
    """
    from testfleet.history import open_store

    with open_store(spec, rootdir) as store:
        return history_of(store, finished)


def history_of(
    store: HistoryStore, finished: FinishedRun
) -> tuple[list[RunRecord], list[FlakyScore], FinishedRun]:
    """What the report shows of the history around ``finished``, read from ``store``.

    The recorder builds the run before the history stores it, so it may carry no
    run id yet: the stored run that started at the same moment is this one.
    """
    from testfleet.monitoring.flaky import DEFAULT_WINDOW, observe, scores
    from testfleet.reporting.report import runs_of_recent

    runs = store.runs()
    if finished.run.run_id is None:
        same = [
            r for r in runs if r.run_id is not None and abs(r.started - finished.run.started) < 1e-3
        ]
        if same:
            finished = replace(finished, run=replace(finished.run, run_id=same[0].run_id))
    recent = store.recent_results(last=DEFAULT_WINDOW)  # what a score reads
    observed = observe(runs_of_recent(runs, recent, upto=finished.run.run_id))
    return runs, scores(observed.history, excluded=observed.outages), finished


def write_report(
    path: Path,
    finished: FinishedRun,
    *,
    runs: Sequence[RunRecord] = (),
    flaky: Sequence[FlakyScore] = (),
    quarantined: Sequence[str] = (),
) -> None:
    """Write the report of ``finished`` to ``path`` (HTML or JSON by its suffix), atomically.

    The report is written to a file beside ``path`` and renamed onto it, so that
    a reader never sees half a report; missing parent directories are created.
    Raises ``OSError`` when it cannot be written.
    """
    from testfleet import __version__
    from testfleet.reporting.report import report_document

    document = report_document(
        finished,
        history_runs=runs,
        flaky=flaky,
        quarantined_names=quarantined,
        generator=f"testfleet {__version__}",
    )
    text = render(document, html=path.suffix.lower() == ".html")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}{PARTIAL}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def reason(error: OSError | ValueError) -> str:
    """Why a report could not be written, in a few words."""
    if not isinstance(error, OSError):
        return str(error)
    name = error.filename
    if isinstance(error, (FileExistsError, NotADirectoryError)) and name:
        # mkdir or open met a file where a directory has to be.
        for path in (Path(name), *Path(name).parents):
            if path.exists() and not path.is_dir():
                return f"{path} is a file, not a directory"
    what = error.strerror or str(error)
    if name and Path(name).name.endswith(PARTIAL):
        return f"cannot create a file in {Path(name).parent}: {what}"
    return f"{what}: {name}" if name else what


def render(document: dict[str, Any], *, html: bool) -> str:
    """The report's text: the HTML page, or the JSON document on one line."""
    if html:
        from testfleet.reporting.html import render_html

        return render_html(document)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
