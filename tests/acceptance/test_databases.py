"""Per-worker databases through real pytest sessions, on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from testfleet.resources.databases import lock_key

Run = Callable[..., pytest.RunResult]

#: The local server of tests/conftest.py (trust auth).
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


SEED_SQLITE = """
import pathlib, sqlite3, uuid

def build(url):
    pathlib.Path("setups").mkdir(exist_ok=True)
    pathlib.Path("setups", uuid.uuid4().hex).write_text(url)
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    db.execute("CREATE TABLE rows (owner TEXT)")
    db.execute("INSERT INTO rows VALUES ('seed')")
    db.commit()
    db.close()
"""

SEED_POSTGRES = """
import pathlib, uuid
import psycopg

def build(url):
    pathlib.Path("setups").mkdir(exist_ok=True)
    pathlib.Path("setups", uuid.uuid4().hex).write_text(url)
    with psycopg.connect(url) as db:
        db.execute("CREATE TABLE rows (owner TEXT)")
        db.execute("INSERT INTO rows VALUES ('seed')")
"""

# Each test writes a row of its own worker, then sees only the seed and its worker's rows.
TESTS_SQLITE = """
import os, pathlib, sqlite3, time
import pytest

@pytest.mark.parametrize("n", range(8))
def test_own_copy(worker_database, worker_id, n):
    pathlib.Path(f"copy-{worker_id}-{worker_database.name}").touch()
    db = sqlite3.connect(worker_database.path)
    owners = {row[0] for row in db.execute("SELECT owner FROM rows")}
    assert owners <= {"seed", worker_id}
    assert "seed" in owners
    db.execute("INSERT INTO rows VALUES (?)", (worker_id,))
    db.commit()
    db.close()
    time.sleep(0.05)
"""

TESTS_POSTGRES = """
import os, pathlib, time
import psycopg
import pytest

@pytest.mark.parametrize("n", range(8))
def test_own_copy(worker_database, worker_id, n):
    pathlib.Path(f"copy-{worker_id}-{worker_database.name}").touch()
    with psycopg.connect(worker_database.url) as db:
        owners = {row[0] for row in db.execute("SELECT owner FROM rows")}
        assert owners <= {"seed", worker_id}
        assert "seed" in owners
        db.execute("INSERT INTO rows VALUES (%s)", (worker_id,))
    time.sleep(0.05)
"""


def configure(pytester: pytest.Pytester, url: str, *extra: str, name: str = "main") -> None:
    lines = [f"[tool.testfleet.databases.{name}]", f'url = "{url}"', 'setup = "seed:build"']
    pytester.makefile(".toml", pyproject="\n".join([*lines, *extra]) + "\n")


def setups(pytester: pytest.Pytester) -> int:
    return len(list((pytester.path / "setups").glob("*")))


def copies_seen(pytester: pytest.Pytester) -> dict[str, str]:
    """worker id -> the copy it was given, from the files the tests left."""
    found = {}
    for file in pytester.path.glob("copy-*"):
        worker, _, name = file.name.removeprefix("copy-").partition("-")
        assert found.setdefault(worker, name) == name, "a worker saw two copies"
        file.unlink()
    return found


@pytest.fixture
def pg_base(postgres_admin: Callable[[], Any]) -> Iterator[str]:
    """A database name no other test uses; every database made from it is dropped afterwards."""
    base = f"tfdb_{uuid.uuid4().hex[:10]}"
    yield base
    with postgres_admin() as conn:
        for name in pg_names(postgres_admin, base):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_names(postgres_admin: Callable[[], Any], base: str) -> list[str]:
    with postgres_admin() as conn:
        rows = conn.execute("SELECT datname FROM pg_database").fetchall()
    return sorted(r[0] for r in rows if r[0].startswith(base))


def test_sqlite_workers_get_their_own_copies(pytester: pytest.Pytester, run: Run) -> None:
    """With 2 workers on SQLite each worker has its own seeded copy, built from one template,
    and no copy or template is left after the run."""
    configure(pytester, "sqlite:///data/site.sqlite3")
    pytester.makepyfile(seed=SEED_SQLITE, test_db=TESTS_SQLITE)
    result = run("--workers", "2")
    result.assert_outcomes(passed=8)
    seen = copies_seen(pytester)
    assert sorted(seen) == ["gw0", "gw1"]
    assert len(set(seen.values())) == 2
    assert setups(pytester) == 1
    assert list((pytester.path / "data").glob("*.sqlite3")) == []


def test_sqlite_plain_run_names_the_copy_for_master(pytester: pytest.Pytester, run: Run) -> None:
    """Without workers the single copy is named for ``master`` and dropped at the end."""
    configure(pytester, "sqlite:///data/site.sqlite3")
    pytester.makepyfile(seed=SEED_SQLITE, test_db=TESTS_SQLITE)
    run().assert_outcomes(passed=8)
    ((worker, name),) = copies_seen(pytester).items()
    assert worker == "master"
    assert name.startswith("site_tfc_")
    assert name.endswith("_master")
    assert list((pytester.path / "data").glob("*.sqlite3")) == []


def test_sqlite_template_kept_while_key_files_unchanged(
    pytester: pytest.Pytester, run: Run
) -> None:
    """A keyed template is reused by the next run, and rebuilt once a key file changes."""
    configure(pytester, "sqlite:///data/site.sqlite3", 'key_files = ["schema/*.sql"]')
    pytester.makepyfile(seed=SEED_SQLITE, test_db=TESTS_SQLITE)
    (pytester.path / "schema").mkdir()
    (pytester.path / "schema" / "a.sql").write_text("one")
    run("--workers", "2").assert_outcomes(passed=8)
    run("--workers", "2").assert_outcomes(passed=8)
    assert setups(pytester) == 1
    (pytester.path / "schema" / "a.sql").write_text("two")
    run("--workers", "2").assert_outcomes(passed=8)
    assert setups(pytester) == 2
    kept = [p.name for p in (pytester.path / "data").glob("*.sqlite3")]
    assert len(kept) == 1
    assert "_tfk_" in kept[0]


def test_postgres_workers_get_their_own_copies(
    pytester: pytest.Pytester, run: Run, pg_base: str, postgres_admin: Callable[[], Any]
) -> None:
    """With 2 workers on PostgreSQL each worker has its own seeded clone of one template,
    and the run's copies and template are dropped at its end."""
    configure(pytester, f"{POSTGRES}/{pg_base}")
    pytester.makepyfile(seed=SEED_POSTGRES, test_db=TESTS_POSTGRES)
    run("--workers", "2").assert_outcomes(passed=8)
    seen = copies_seen(pytester)
    assert sorted(seen) == ["gw0", "gw1"]
    assert len(set(seen.values())) == 2
    assert all(len(name.encode()) <= 63 for name in seen.values())
    assert setups(pytester) == 1
    assert pg_names(postgres_admin, pg_base) == []


def test_postgres_template_kept_while_key_files_unchanged(
    pytester: pytest.Pytester, run: Run, pg_base: str, postgres_admin: Callable[[], Any]
) -> None:
    """On PostgreSQL a keyed template serves the next run and is replaced when a key file
    changes."""
    configure(pytester, f"{POSTGRES}/{pg_base}", 'key_files = ["schema.sql"]')
    pytester.makepyfile(seed=SEED_POSTGRES, test_db=TESTS_POSTGRES)
    (pytester.path / "schema.sql").write_text("one")
    run("--workers", "2").assert_outcomes(passed=8)
    first = pg_names(postgres_admin, pg_base)
    run().assert_outcomes(passed=8)
    assert setups(pytester) == 1
    assert pg_names(postgres_admin, pg_base) == first
    (pytester.path / "schema.sql").write_text("two")
    run("--workers", "2").assert_outcomes(passed=8)
    assert setups(pytester) == 2
    (kept,) = pg_names(postgres_admin, pg_base)
    assert "_tfk_" in kept
    assert [kept] != first


# In two modules, each kept on one worker by its module fixture, as in test_interrupt.
SLEEPER = """
import os, pathlib, time
import pytest

@pytest.fixture(scope="module")
def module_resource():
    yield

@pytest.mark.parametrize("n", range(3))
def test_hold(n, module_resource, worker_database):
    pathlib.Path(f"ready-{os.getpid()}").touch()
    time.sleep(120)
"""


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def run_lock_held(postgres_admin: Callable[[], Any], tag: str) -> bool:
    key = lock_key(tag)
    with postgres_admin() as conn:
        rows = conn.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchall()
    return bool(rows)


def test_postgres_copies_of_a_killed_run_are_dropped_by_the_next(
    pytester: pytest.Pytester, run: Run, pg_base: str, postgres_admin: Callable[[], Any]
) -> None:
    """A run that is still going keeps its copies while another run passes; once it is killed
    (SIGKILL), the next run drops what it left."""
    configure(pytester, f"{POSTGRES}/{pg_base}")
    pytester.makepyfile(
        seed=SEED_POSTGRES, test_db=TESTS_POSTGRES, test_sleep_a=SLEEPER, test_sleep_b=SLEEPER
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += ["--workers", "2", "test_sleep_a.py", "test_sleep_b.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    process = subprocess.Popen(
        command, cwd=pytester.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    ready = lambda: [int(p.name[6:]) for p in pytester.path.glob("ready-*")]  # noqa: E731
    try:
        assert wait_for(lambda: len(ready()) == 2), "the workers did not start"
        held = pg_names(postgres_admin, pg_base)
        assert len([n for n in held if "_tfc_" in n]) == 2
        run("--workers", "2", "test_db.py").assert_outcomes(passed=8)
        assert pg_names(postgres_admin, pg_base) == held, "a live run's copies were dropped"
    finally:
        for pid in [*ready(), process.pid]:
            os.kill(pid, signal.SIGKILL)
        process.wait()
    assert pg_names(postgres_admin, pg_base) == held
    # The server ends a killed client's session (and its run lock) a moment later.
    tag = next(name for name in held if "_tfc_" in name).split("_tfc_")[1][:12]
    assert wait_for(lambda: not run_lock_held(postgres_admin, tag)), "the run lock stayed"
    run("test_db.py").assert_outcomes(passed=8)
    assert pg_names(postgres_admin, pg_base) == []


def test_sqlite_copies_of_a_killed_run_are_dropped_by_the_next(
    pytester: pytest.Pytester, run: Run
) -> None:
    """SQLite copies left by a SIGKILLed run are removed by the next run that makes copies."""
    configure(pytester, "sqlite:///data/site.sqlite3")
    pytester.makepyfile(
        seed=SEED_SQLITE, test_db=TESTS_SQLITE, test_sleep_a=SLEEPER, test_sleep_b=SLEEPER
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += ["--workers", "2", "test_sleep_a.py", "test_sleep_b.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    process = subprocess.Popen(
        command, cwd=pytester.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    ready = lambda: [int(p.name[6:]) for p in pytester.path.glob("ready-*")]  # noqa: E731
    try:
        assert wait_for(lambda: len(ready()) == 2), "the workers did not start"
    finally:
        for pid in [*ready(), process.pid]:
            os.kill(pid, signal.SIGKILL)
        process.wait()
    assert len(list((pytester.path / "data").glob("*_tfc_*"))) == 2
    run("test_db.py").assert_outcomes(passed=8)
    assert list((pytester.path / "data").glob("*.sqlite3")) == []


def test_unreachable_server_is_a_usage_error(pytester: pytest.Pytester, run: Run) -> None:
    """A server that does not answer stops the run with exit 4 and one error naming the URL,
    without its password."""
    pytest.importorskip("psycopg")
    configure(pytester, "postgresql://app:s3cret@127.0.0.1:1/site")
    pytester.makepyfile(seed=SEED_POSTGRES, test_db=TESTS_POSTGRES)
    result = run("--workers", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: testfleet databases.main: cannot reach the PostgreSQL server at "
            "postgresql://app@127.0.0.1:1/site *"
        ]
    )
    assert "s3cret" not in result.stdout.str() + result.stderr.str()
    assert "could not drop" not in result.stderr.str()  # one error, not two


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['url = "sqlite:///a.db"', 'setup = "seed:build"', "colour = 1"],
            "*main.colour: unknown key*",
        ),
        (
            ['url = "sqlite:///a.db"', 'setup = "missing_mod:build"'],
            "*cannot import 'missing_mod'*",
        ),
        (['url = "mysql://h/a"', 'setup = "seed:build"'], "*unsupported URL scheme 'mysql'*"),
        (['setup = "seed:build"'], "*main.url: missing*"),
        (
            ['url = "sqlite:///${NO_SUCH_VAR_X}"', 'setup = "seed:build"'],
            "*'NO_SUCH_VAR_X' is not set*",
        ),
    ],
)
def test_bad_config_is_a_usage_error(
    pytester: pytest.Pytester, run: Run, lines: list[str], message: str
) -> None:
    """Bad database configuration stops the run before collection with exit 4 naming it."""
    pytester.makefile(".toml", pyproject="\n".join(["[tool.testfleet.databases.main]", *lines]))
    pytester.makepyfile(seed=SEED_SQLITE, test_db=TESTS_SQLITE)
    result = run("--workers", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: testfleet databases: *pyproject.toml: {message}"])


def test_several_databases(pytester: pytest.Pytester, run: Run) -> None:
    """``worker_databases`` gives each configured database; ``worker_database`` with several
    is a usage error naming them."""
    pytester.makefile(
        ".toml",
        pyproject="""
[tool.testfleet.databases.alpha]
url = "sqlite:///data/alpha.db"
setup = "seed:build"
[tool.testfleet.databases.beta]
url = "sqlite:///data/beta.db"
setup = "seed:build"
""",
    )
    pytester.makepyfile(
        seed=SEED_SQLITE,
        test_many="""
def test_both(worker_databases):
    assert sorted(worker_databases) == ["alpha", "beta"]
    assert worker_databases["alpha"].name.startswith("alpha_tfc_")
    assert worker_databases["beta"].path.exists()
""",
    )
    run("--workers", "2").assert_outcomes(passed=1)
    assert setups(pytester) == 2
    pytester.makepyfile(test_one="def test_one(worker_database): pass")
    result = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*worker_database needs exactly one*2 (alpha, beta)*"])
