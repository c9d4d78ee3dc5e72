"""What every test of testfleet's own suite shares."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from redis_support import RedisServer

try:
    # Imported before any test runs: pytester removes the modules a test
    # imported, and a second import of psycopg raises errors of classes that
    # code holding the first import cannot catch.
    import psycopg
except ImportError:  # the test extra installs it
    psycopg = None

#: The local PostgreSQL server (trust auth, user postgres) that tests use.
POSTGRES = "postgresql://postgres@127.0.0.1:5432"

#: Variables the process running this suite may have set that would change what the
#: pytest sessions a test starts do: CI runs this suite with ``--workers``, whose workers
#: export pytest-xdist's variables and cap the BLAS and OpenMP thread pools.
_INHERITED_VARIABLES = frozenset(
    {
        "PYTEST_ADDOPTS",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_WORKER_COUNT",
        "PYTEST_XDIST_TESTRUNUID",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "BLIS_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "OMP_NUM_THREADS",
    }
)
#: Beginnings of more of them: pytest-cov's and coverage's settings for measuring
#: subprocesses, which would write the sessions under test into this run's coverage.
_INHERITED_PREFIXES = ("COV_CORE_", "COVERAGE_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions a test starts begin from an environment this suite's own runner did not shape.

    A pytester run that inherited ``PYTEST_XDIST_WORKER`` would take itself for a worker
    of another run (its ``worker_id``, its per-worker databases); one that inherited the
    thread caps would not set its own. Session fixtures, such as ``worker_id``, were set
    up before this runs, and the variables come back after the test.
    """
    for name in list(os.environ):
        if name in _INHERITED_VARIABLES or name.startswith(_INHERITED_PREFIXES):
            monkeypatch.delenv(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI (``CI`` set), a skipped test fails: CI must run every test it has.

    Tests skip with a message when a service (PostgreSQL) or an extra (a plugin
    under test) is missing on a developer's machine; CI installs and starts all
    of them, so a skip there means a test silently did not run.
    """
    report = yield
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"
    return report


@pytest.fixture
def postgres_admin() -> Callable[[], Any]:
    """Connects to the local server's ``postgres`` database (skips, saying why, without one)."""
    if psycopg is None:
        pytest.skip("psycopg is not installed: pip install 'testfleet[postgres]'")

    def connect() -> Any:
        try:
            return psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            pytest.skip(
                f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc}): "
                "start it (pg_ctlcluster … start) or install postgresql"
            )

    connect().close()  # without a server, skip now
    return connect


@pytest.fixture
def postgres_database(postgres_admin: Callable[[], Any]) -> Iterator[Callable[..., str]]:
    """Makes new, empty databases ``<prefix>_<random>`` on the local server and returns
    their URLs; drops them after the test, whoever is still connected."""
    made: list[str] = []

    def make(prefix: str = "testfleet_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with postgres_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{POSTGRES}/{name}"

    yield make
    with postgres_admin() as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def open_at_once(tmp_path: Path) -> Callable[[Callable[[Path], object]], int]:
    """Opens each of 60 new files from three forked processes at the same moment with
    the function given; returns how many of those opens failed.

    SQLite lets the process that loses the race to switch a new file to WAL
    fail at once (a few percent of opens), so 180 opens show the race.
    """

    def run(open_file: Callable[[Path], object]) -> int:
        failures = 0
        for trial in range(60):
            path = tmp_path / f"race-{trial}.db"
            children = []
            for _ in range(3):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - runs in the child
                    code = 1
                    try:
                        open_file(path)
                        code = 0
                    finally:
                        os._exit(code)
                children.append(pid)
            for pid in children:
                failures += os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0
        return failures

    return run


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, password "secret", that the test (or the run
    under test) may stop: its port and its process."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    server = RedisServer(tmp_path / "own-redis", password="secret")
    server.workdir.mkdir()
    server.start(timeout=30)
    assert server.process is not None
    try:
        yield server.port, server.process
    finally:
        server.kill()
