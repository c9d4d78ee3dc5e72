"""The plugins a suite already uses, kept working when tests run on forked workers.

Workers are forked after the controller has configured pytest, so every
plugin object exists once per process: the ones registered in the controller's
``pytest_configure`` (terminal reporter, junitxml, pytest-html, ...) were made
before ``config.workerinput`` existed and are inherited by each worker as
controller objects.  The reporting hooks of a running test are relayed to the
controller, but a worker ends its session on its own, so whatever a plugin
does *once* at the end of a session (print a summary, write a report file)
must be silenced in the workers, and whatever a worker measured (coverage)
must be saved before it exits.

Everything here is cheap and safe: a plugin that is not installed or not
active is simply not there (nothing is imported that the run has not
imported already), and no function raises.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pluggy import HookImpl

#: Hooks that end a session: a worker skips them for the plugins whose
#: end-of-session work belongs to the controller alone.
_SESSION_END_HOOKS = frozenset(
    {"pytest_sessionfinish", "pytest_terminal_summary", "pytest_unconfigure"}
)

#: Registered names of plugins that print or write once per run.
_CONTROLLER_ONLY_NAMES = (
    "terminalreporter",  # the summary
    "terminalprogress-plugin",  # the terminal's progress bar escape codes
    "pastebin",  # --pastebin uploads the session log at unconfigure
    # testfleet's own: recording the run, choosing the shard, driving the workers,
    # gathering the run's figures, writing the report
    "testfleet-history",
    "testfleet-shard",
    "testfleet-fleet",
    "testfleet-recorder",
    "testfleet-report",
)

#: How long the controller waits for a plugin's server thread to end.
_THREAD_JOIN = 2.0


def prepare_worker(config: pytest.Config) -> None:
    """Silence, in a freshly forked worker, the plugins whose work happens once.

    The terminal reporter stays registered (pytest-timeout and ``--pdb`` write
    through it while a test runs), but its end-of-session hooks, and those of
    junitxml's ``LogXML``, pytest-html's report and pastebin, are skipped in the
    worker: the controller prints the summary and writes every file, from the
    reports it has been relayed.  Called after ``config.workerinput`` is set and
    before any test runs.
    """
    with contextlib.suppress(Exception):
        silenced = _controller_only_plugins(config)
        if silenced:
            _skip_session_end(config, silenced)
    with contextlib.suppress(Exception):
        _share_metadata(config)


def finish_worker(config: pytest.Config) -> None:
    """Save, in the worker about to exit, what must outlive it: coverage data.

    Coverage measurement started in the controller (pytest-cov's ``--cov``, or
    ``coverage run`` in parallel mode) keeps running in each forked worker.  Its
    data file notices the fork (coverage's ``CoverageData._start_using``) and
    takes a suffix of its own (host, pid, random), so saving here leaves one
    file per worker beside the controller's; pytest-cov's ``Central`` engine
    combines every ``.coverage.*`` file of that directory at the end of the
    controller's run loop, after the workers have exited.  Called after
    ``pytest_unconfigure``, right before the worker exits.
    """
    del config  # coverage keeps its own state; the argument is for what comes next
    with contextlib.suppress(Exception):
        _save_coverage()


def startup_notes(config: pytest.Config) -> list[str]:
    """One line for each active plugin that cannot work under ``--workers``."""
    notes: list[str] = []
    with contextlib.suppress(Exception):
        note = _coverage_note()
        if note:
            notes.append(note)
    return notes


def prepare_controller(config: pytest.Config) -> None:
    """Quiet, in the controller before the first fork, threads plugins started.

    pytest-rerunfailures starts a socket server thread in ``pytest_configure``
    whenever pytest-xdist is installed, so that xdist workers can share rerun
    counts.  Forked workers need none of it (each runs its reruns itself, as
    a serial run does), and a process must not fork while other threads run:
    the server is stopped and rerunfailures is given the in-process status it
    uses without xdist.
    """
    with contextlib.suppress(Exception):
        _stop_rerunfailures_server(config)


def node_down_excluded(config: pytest.Config) -> list[object]:
    """Plugins that must not receive ``pytest_testnodedown`` from testfleet.

    pytest-cov implements the hook for xdist's ``DistMaster`` engine; under
    testfleet it runs its ``Central`` engine (which has no ``testnodedown`` and
    needs none: it combines the workers' data files itself).
    """
    excluded: list[object] = []
    with contextlib.suppress(Exception):
        cov = config.pluginmanager.get_plugin("_cov")
        engine = getattr(cov, "cov_controller", None)
        if cov is not None and not hasattr(engine, "testnodedown"):
            excluded.append(cov)
    return excluded


# -- workers -----------------------------------------------------------------


def _controller_only_plugins(config: pytest.Config) -> list[object]:
    pm = config.pluginmanager
    found = [pm.get_plugin(name) for name in _CONTROLLER_ONLY_NAMES]
    from _pytest.junitxml import xml_key

    found.append(config.stash.get(xml_key, None))
    html = sys.modules.get("pytest_html.basereport")
    if html is not None:
        found.extend(p for p in pm.get_plugins() if isinstance(p, html.BaseReport))
    return [plugin for plugin in found if plugin is not None]


def _skip_session_end(config: pytest.Config, plugins: Sequence[object]) -> None:
    """Drop the end-of-session hook implementations of ``plugins`` in this process.

    Wrapping ``PluginManager._inner_hookexec`` (as the worker's recorder does)
    leaves the plugins registered, so a test can still reach them, while their
    ``pytest_sessionfinish``/``pytest_terminal_summary``/``pytest_unconfigure``
    never run here.
    """
    pm = config.pluginmanager
    inner = pm._inner_hookexec
    silenced = {id(plugin) for plugin in plugins}

    def hookexec(
        hook_name: str,
        hook_impls: Sequence[HookImpl],
        caller_kwargs: Mapping[str, object],
        firstresult: bool,
    ) -> object:
        __tracebackhide__ = True  # a test's traceback shows its code, not this
        if hook_name in _SESSION_END_HOOKS:
            hook_impls = [impl for impl in hook_impls if id(impl.plugin) not in silenced]
        return inner(hook_name, hook_impls, caller_kwargs, firstresult)

    pm._inner_hookexec = hookexec


def _share_metadata(config: pytest.Config) -> None:
    # pytest-metadata hands its data to the controller through workeroutput, but
    # only at configure time, when a testfleet worker does not exist yet; its
    # pytest_testnodedown reads the key unconditionally.
    module = sys.modules.get("pytest_metadata.plugin")
    output = getattr(config, "workeroutput", None)
    if module is None or output is None:
        return
    metadata = config.stash.get(module.metadata_key, None)
    if metadata is not None:
        output.setdefault("metadata", metadata)


def _save_coverage() -> None:
    module = sys.modules.get("coverage")
    if module is None:
        return
    instances: list[Any] = list(getattr(module.Coverage, "_instances", ()))
    current = module.Coverage.current()
    if current is not None and current not in instances:
        instances.append(current)
    for cov in reversed(instances):
        with contextlib.suppress(Exception):
            cov.stop()
            if _writes_own_file(cov):
                with warnings.catch_warnings():
                    # "module was never imported" and the like describe the
                    # worker's share only; the controller reports on the whole.
                    warnings.simplefilter("ignore")
                    cov.save()


def _writes_own_file(cov: Any) -> bool:
    """Whether ``cov`` gives each process a data file of its own (parallel mode).

    Without a suffix every process writes one file, and a forked worker would
    erase the controller's data on its first write: such data is not saved
    from a worker (``startup_notes`` says so).
    """
    return bool(cov._data_suffix_specified or cov.config.parallel)


# -- the controller ------------------------------------------------------------


def _coverage_note() -> str | None:
    module = sys.modules.get("coverage")
    if module is None:
        return None
    cov = module.Coverage.current()
    if cov is None or _writes_own_file(cov):
        return None
    return (
        "testfleet: coverage measured by `coverage run` without parallel mode misses "
        "what the workers run; set `parallel = true` under [run] and run "
        "`coverage combine`, or use pytest-cov's --cov"
    )


def _stop_rerunfailures_server(config: pytest.Config) -> None:
    module = sys.modules.get("pytest_rerunfailures")
    db = getattr(config, "failures_db", None)
    if module is None or not isinstance(db, module.ServerStatusDB):
        return
    servers = [t for t in threading.enumerate() if _runs_method_of(t, db)]
    previous = threading.excepthook

    def excepthook(args: threading.ExceptHookArgs) -> None:
        # The server's accept() fails once its socket is shut down: that is
        # how it ends, not an error worth a traceback.
        if args.thread not in servers:
            previous(args)

    threading.excepthook = excepthook
    try:
        with contextlib.suppress(OSError):
            db.sock.shutdown(socket.SHUT_RDWR)
        db.sock.close()
        for thread in servers:
            thread.join(_THREAD_JOIN)
    finally:
        threading.excepthook = previous
    config.failures_db = module.StatusDB()  # type: ignore[attr-defined]


def _runs_method_of(thread: threading.Thread, owner: object) -> bool:
    target = getattr(thread, "_target", None)
    return getattr(target, "__self__", None) is owner
