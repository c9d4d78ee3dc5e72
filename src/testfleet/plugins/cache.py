"""The ``fleet_cache`` fixture: a cache every worker of the run shares.

Registered in every run (``testfleet.plugin`` names this module in its
``pytest_plugins``), it costs nothing until a test asks for ``fleet_cache``:
sqlite3 and the cache's code are imported then.  The configuration is read at
configure time, in the controller, so that a bad one stops the run at once
(usage error, exit code 4); forked workers inherit it.

Where the store lives: with ``url``, on that Redis server (redis-py is imported
then, and only then), in the namespace of the fleet run when this process is a
node of one, else of this run, else with ``persist = true`` in the namespace
every run shares.  Without ``url``: with ``persist = true``,
``.testfleet/cache.db`` under the rootdir; otherwise a file in the run's base
temporary directory, which the controller creates before it forks (each
worker's own basetemp is a directory below it), so every process of the run
reaches the same file and the next run starts empty.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testfleet.plugins.keys import CACHE_FIGURES, FLEET

if TYPE_CHECKING:
    from testfleet.resources.cache import CacheConfig, CacheStats, ScalableCache
    from testfleet.resources.cache_redis import RedisStore
    from testfleet.resources.cache_sqlite import SqliteStore

#: The run's cache configuration, read once by the controller; None: the defaults.
CACHE_CONFIG = pytest.StashKey["CacheConfig | None"]()

#: The run's totals, or the message of a store that could not be read, for the summary.
_TOTALS = pytest.StashKey["CacheStats | str | None"]()

#: The store's file name in the run's base temporary directory.
RUN_FILE = "testfleet-cache.db"
#: The file holding the id of the run's counters, in the run's base temporary directory.
RUN_KEY_FILE = "testfleet-cache.run"
#: The persistent store, relative to the rootdir.
PERSISTENT_FILE = Path(".testfleet", "cache.db")


def pytest_configure(config: pytest.Config) -> None:
    if CACHE_CONFIG not in config.stash:
        config.stash[CACHE_CONFIG] = read_cache_config(config.rootpath)


def read_cache_config(rootdir: Path) -> CacheConfig | None:
    """``testfleet.toml``'s ``[cache]`` if it has one, else ``pyproject.toml``'s
    ``[tool.testfleet.cache]``, else None (the defaults); a bad one is a usage error."""
    for path, keys in (
        (rootdir / "testfleet.toml", ("cache",)),
        (rootdir / "pyproject.toml", ("tool", "testfleet", "cache")),
    ):
        # Most runs configure no cache: a file that never says "cache" is not
        # parsed, so a plain pytest run pays no TOML parse for this plugin.
        if not path.is_file() or "cache" not in path.read_text(encoding="utf-8", errors="replace"):
            continue
        from testfleet.categories.config import CategoryConfigError, read_toml
        from testfleet.resources.cache import CacheConfigError, parse_cache_config

        try:
            table: object = read_toml(path)
            for key in keys:
                if not isinstance(table, dict) or key not in table:
                    break
                table = table[key]
            else:
                return parse_cache_config(table, str(path), ".".join(keys))
        except (CacheConfigError, CategoryConfigError) as exc:
            raise pytest.UsageError(f"testfleet: {exc}") from None
    # None rather than CacheConfig(): a run that never uses the cache does not
    # import its code.
    return None


def _config_of(config: pytest.Config) -> CacheConfig:
    if CACHE_CONFIG not in config.stash:
        config.stash[CACHE_CONFIG] = read_cache_config(config.rootpath)
    found = config.stash[CACHE_CONFIG]
    if found is None:
        from testfleet.resources.cache import CacheConfig

        found = CacheConfig()
    return found


def _persists(config: pytest.Config) -> bool:
    found = config.stash.get(CACHE_CONFIG, None)
    return found is not None and found.persist


def _run_dir(config: pytest.Config, *, create: bool) -> Path | None:
    """The run's base temporary directory, which every process of the run reaches.

    None when ``create`` is false and nothing made it: no test used the cache.
    """
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        raise pytest.UsageError("testfleet: fleet_cache needs pytest's tmpdir plugin")
    if not create:
        # Do not create a base temporary directory just to find it empty.
        basetemp: Path | None = factory._basetemp
        return basetemp
    if hasattr(config, "workerinput"):
        # A worker's basetemp (testfleet's or pytest-xdist's) is
        # <the controller's basetemp>/<worker id>.
        return Path(factory.getbasetemp()).parent
    return Path(factory.getbasetemp())


def _uses_redis(config: pytest.Config) -> bool:
    found = config.stash.get(CACHE_CONFIG, None)
    return found is not None and found.url is not None


def _store_path(config: pytest.Config, run_dir: Path) -> Path:
    if _persists(config):
        return config.rootpath / PERSISTENT_FILE
    return run_dir / RUN_FILE


def _run_key(run_dir: Path) -> str:
    """The id of this run's counters, the same in every process of the run.

    The first process to use the cache writes it in the run's directory (pytest
    empties that directory at the start of each run, even a given --basetemp):
    a controller's own run id would not do, since pytest-xdist's workers get
    another one.
    """
    marker = run_dir / RUN_KEY_FILE
    if not marker.is_file():
        # Written whole, then linked: a reader never sees a half-written key.
        candidate = run_dir / f"{RUN_KEY_FILE}.{os.getpid()}"
        candidate.write_text(uuid.uuid4().hex, encoding="ascii")
        try:
            os.link(candidate, marker)
        except FileExistsError:
            pass  # another process of the run was first: its key is the run's
        finally:
            candidate.unlink()
    return marker.read_text(encoding="ascii")


def _open_store(config: pytest.Config, run_dir: Path) -> SqliteStore | RedisStore:
    """The run's store: on the configured Redis server, else the SQLite file."""
    cache_config = _config_of(config)
    run_key = _run_key(run_dir)
    if cache_config.url is not None:
        from testfleet.model.fleet import DEFAULT_KEY_TTL
        from testfleet.resources.cache_redis import RedisStore, keyspace

        fleet = config.stash.get(FLEET, None)
        prefix, run = keyspace(cache_config, run_key, fleet)
        key_ttl = DEFAULT_KEY_TTL if fleet is None else fleet.key_ttl
        return RedisStore(cache_config.url, cache_config, prefix=prefix, run=run, key_ttl=key_ttl)
    from testfleet.resources.cache_sqlite import SqliteStore

    path = _store_path(config, run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(path, cache_config, run_key)


@pytest.fixture(scope="session")
def fleet_cache(request: pytest.FixtureRequest) -> Iterator[ScalableCache]:
    """A cache of bytes, str and JSON values shared by every worker of the run.

    ``get(key, default=None)``, ``set(key, value)``, ``get_or_set(key, build)``
    (built once in the whole run) and ``stats()``.
    """
    from testfleet.resources.cache import ScalableCache, pid_alive
    from testfleet.resources.cache_sqlite import CacheStoreError

    run_dir = _run_dir(request.config, create=True)
    assert run_dir is not None
    problem: str | None = None
    try:
        store = _open_store(request.config, run_dir)
    except CacheStoreError as exc:
        problem = str(exc)
    if problem is not None:
        # Outside the except block: inside, pytest shows the message twice,
        # chained to the error it came from.
        pytest.fail(problem, pytrace=False)
    alive = pid_alive
    if _uses_redis(request.config):
        # Claims may come from other machines: their expiry tells a dead builder.
        from testfleet.resources.cache_redis import holder_alive

        alive = holder_alive
    try:
        yield ScalableCache(store, alive=alive)
    finally:
        store.close()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Sum the run's figures once, before the history (a trylast hook) records the run."""
    config = session.config
    if hasattr(config, "workerinput"):
        return  # the controller speaks for the whole run
    totals = _read_totals(config)
    config.stash[_TOTALS] = totals
    if not isinstance(totals, str) and totals is not None and totals.used:
        from testfleet.model.history import CacheFigures

        config.stash[CACHE_FIGURES] = CacheFigures(
            hits=totals.hits,
            misses=totals.misses,
            sets=totals.sets,
            evictions=totals.evictions,
            saved_seconds=totals.saved_seconds,
        )


def _read_totals(config: pytest.Config) -> CacheStats | str | None:
    """The run's figures; None when no process used the cache; a message when unreadable."""
    run_dir = _run_dir(config, create=False)
    if run_dir is None or not (run_dir / RUN_KEY_FILE).is_file():
        return None  # no process of the run used the cache
    from testfleet.resources.cache_sqlite import CacheStoreError

    try:
        store = _open_store(config, run_dir)
    except CacheStoreError as exc:
        return str(exc)
    try:
        stats = store.stats()
        if _uses_redis(config) and FLEET in config.stash:
            pass  # shared with the fleet's nodes that may still run: it all expires instead
        elif _persists(config):
            store.forget_run()
        elif _uses_redis(config):
            from testfleet.resources.cache_redis import RedisStore

            assert isinstance(store, RedisStore)
            store.drop_namespace()  # the run's own keys go now rather than in a day
    except CacheStoreError as exc:
        return str(exc)
    finally:
        store.close()
    return stats


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    totals = config.stash.get(_TOTALS, None)
    if isinstance(totals, str):
        terminalreporter.write_line(totals)
    elif totals is not None and totals.used:
        from testfleet.resources.cache import format_stats

        terminalreporter.write_line(format_stats(totals))
