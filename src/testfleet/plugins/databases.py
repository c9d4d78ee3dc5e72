"""Per-worker databases for tests: the ``worker_database`` and ``worker_databases`` fixtures.

:func:`configure_databases` runs in the controller's (or a plain run's)
``pytest_configure``: a bad ``[tool.testfleet.databases]`` is a usage error
before collection.  When databases are configured it registers
:class:`DatabasesPlugin`, which checks after collection, only if a collected
test asks for a copy, that the servers answer, and drops at the very end what
the run left (copies of crashed workers, the run's own template).  Each worker
makes its copies lazily, in its session fixture, and drops them at its end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testfleet.plugins.keys import TESTRUN_UID
from testfleet.resources.database_config import (
    DatabaseConfigError,
    DatabaseSpec,
    load_databases,
    load_setup,
    template_key,
)

if TYPE_CHECKING:
    from testfleet.resources.databases import DatabaseCopy, DatabaseMaker

#: The databases configured for this run, once checked.
DATABASES = pytest.StashKey[list[DatabaseSpec]]()

_FIXTURES = ("worker_database", "worker_databases")


def configure_databases(config: pytest.Config) -> None:
    """Check the database configuration (a usage error if bad) and register the plugin."""
    if DATABASES in config.stash:
        return  # called twice: by plugin.py and by -p testfleet.plugins.databases
    specs = _load(config)
    config.stash[DATABASES] = specs
    if specs and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DatabasesPlugin(config, specs), "testfleet-databases")


def _load(config: pytest.Config) -> list[DatabaseSpec]:
    try:
        specs = load_databases(config.rootpath)
        for spec in specs:
            load_setup(spec)
    except DatabaseConfigError as error:
        raise pytest.UsageError(f"testfleet databases: {error}") from None
    return specs


def pytest_configure(config: pytest.Config) -> None:
    # Only when this module is loaded as a plugin of its own (-p testfleet.plugins.databases).
    if not hasattr(config, "workerinput"):
        configure_databases(config)


class DatabasesPlugin:
    """The controller's side: a check after collection, a clean-up at the end."""

    def __init__(self, config: pytest.Config, specs: list[DatabaseSpec]) -> None:
        self.config = config
        self.specs = specs
        self.used = False
        # Forked workers inherit this object; only the process that made it cleans up.
        self._pid = os.getpid()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
        if not wanted & set(_FIXTURES):
            return
        if "worker_database" in wanted and len(self.specs) > 1:
            raise pytest.UsageError(_several([spec.name for spec in self.specs]))
        # Imported only by a run whose tests ask for a database copy.
        from testfleet.resources.databases import DatabaseError, check_reachable

        for spec in self.specs:
            try:
                check_reachable(spec, self.config.rootpath)
            except DatabaseError as error:
                raise pytest.UsageError(f"testfleet {error}") from None
        # Only now: a server that does not answer has no copies of ours to drop.
        self.used = True

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.used or os.getpid() != self._pid or hasattr(config, "workerinput"):
            return
        from testfleet.resources.databases import DatabaseError, drop_run

        for spec in self.specs:
            try:
                drop_run(spec, config.rootpath, config.stash[TESTRUN_UID])
            except DatabaseError as error:
                # The run is over: say so, without changing its outcome.
                sys.stderr.write(f"testfleet could not drop this run's databases: {error}\n")


def _several(names: list[str]) -> str:
    return (
        f"worker_database needs exactly one configured database, and there are "
        f"{len(names)} ({', '.join(names)}); use worker_databases[NAME] instead"
    )


class WorkerDatabases(Mapping[str, "DatabaseCopy"]):
    """This worker's copies by database name, each made when first asked for."""

    def __init__(self, specs: list[DatabaseSpec], rootdir: Path, run_id: str, worker: str) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._rootdir = rootdir
        self._run_id = run_id
        self._worker = worker
        self._made: dict[str, tuple[DatabaseMaker, DatabaseCopy]] = {}

    def __getitem__(self, name: str) -> DatabaseCopy:
        if name in self._made:
            return self._made[name][1]
        spec = self._specs.get(name)
        if spec is None:
            known = ", ".join(self._specs) or "none"
            raise KeyError(f"no database {name!r} is configured (configured: {known})")
        from testfleet.resources.databases import DatabaseError, DatabaseMaker

        maker = DatabaseMaker(spec, self._rootdir, self._run_id, load_setup(spec))
        try:
            copy = maker.create(self._worker, template_key(spec, self._rootdir))
        except DatabaseError as error:
            maker.close()
            pytest.fail(f"testfleet {error}", pytrace=False)
        self._made[name] = (maker, copy)
        return copy

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def drop_all(self) -> None:
        """Drop the copies made, and release their locks."""
        from testfleet.resources.databases import DatabaseError

        errors = []
        for maker, copy in self._made.values():
            try:
                maker.drop(copy)
            except DatabaseError as error:
                errors.append(str(error))
            finally:
                maker.close()
        self._made.clear()
        if errors:
            pytest.fail("testfleet could not drop a copy: " + "; ".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def worker_databases(
    request: pytest.FixtureRequest, worker_id: str
) -> Iterator[Mapping[str, DatabaseCopy]]:
    """This worker's own copy of each configured database, by name (``.url``, ``.name``)."""
    config = request.config
    specs = config.stash[DATABASES] if DATABASES in config.stash else _load(config)
    # The run id the controller cleans up with, not the testrun_uid fixture:
    # pytest-xdist's fixture of that name may win, with an id of its own.
    run_id = config.stash[TESTRUN_UID]
    copies = WorkerDatabases(specs, config.rootpath, run_id, worker_id)
    yield copies
    copies.drop_all()


@pytest.fixture(scope="session")
def worker_database(worker_databases: Mapping[str, DatabaseCopy]) -> DatabaseCopy:
    """This worker's own copy of the only configured database (``.url``, ``.name``)."""
    names = list(worker_databases)
    if len(names) != 1:
        if not names:
            pytest.fail(
                "worker_database: no database is configured; add "
                "[tool.testfleet.databases.NAME] with url and setup to pyproject.toml",
                pytrace=False,
            )
        pytest.fail(_several(names), pytrace=False)
    return worker_databases[names[0]]
