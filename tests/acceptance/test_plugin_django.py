"""pytest-django under --workers: a real Django project on PostgreSQL, a database per worker."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_django")
pytest.importorskip("django")

#: A small Django project (settings, one app, a migration, 11 tests on the database).
PROJECT = Path(__file__).parent / "djangoproject"


def databases_like(admin: Callable[[], Any], prefix: str) -> set[str]:
    """Names of the server's databases that start with ``prefix``."""
    with admin() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return {name for (name,) in rows}


@pytest.fixture
def library(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    postgres_admin: Callable[[], Any],
) -> Iterator[str]:
    """The Django project in pytester's directory, with a database name no other run uses."""
    shutil.copytree(PROJECT, pytester.path, dirs_exist_ok=True)
    name = f"tf_library_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("LIBRARY_DB_NAME", name)
    seen = pytester.path / "seen"
    seen.mkdir()
    monkeypatch.setenv("LIBRARY_SEEN_DIR", str(seen))
    yield name
    # A failed run may leave its test databases behind: do not let them pile up.
    with postgres_admin() as conn:
        for leftover in databases_like(postgres_admin, f"test_{name}"):
            conn.execute(f'DROP DATABASE IF EXISTS "{leftover}" WITH (FORCE)')


def seen_databases(pytester: pytest.Pytester) -> dict[str, set[str]]:
    """For each worker, the databases its tests ran against."""
    by_worker: dict[str, set[str]] = {}
    for path in (pytester.path / "seen").iterdir():
        worker, database = path.read_text().split()
        by_worker.setdefault(worker, set()).add(database)
    return by_worker


def test_one_test_database_per_worker_dropped_afterwards(
    pytester: pytest.Pytester,
    library: str,
    postgres_admin: Callable[[], Any],
) -> None:
    """Each worker runs its tests on a test_<name>_gwN of its own; all are dropped at the end."""
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider", "--workers", "2", timeout=120
    )

    result.assert_outcomes(passed=11)
    assert seen_databases(pytester) == {
        "gw0": {f"test_{library}_gw0"},
        "gw1": {f"test_{library}_gw1"},
    }
    assert databases_like(postgres_admin, f"test_{library}") == set()


def test_serial_run_uses_one_test_database(
    pytester: pytest.Pytester, library: str, postgres_admin: Callable[[], Any]
) -> None:
    """Without --workers the same project runs on test_<name>, as pytest-django does alone."""
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=11)
    assert seen_databases(pytester) == {"none": {f"test_{library}"}}
    assert databases_like(postgres_admin, f"test_{library}") == set()


def test_failing_test_under_workers_still_drops_databases(
    pytester: pytest.Pytester,
    library: str,
    postgres_admin: Callable[[], Any],
) -> None:
    """A failed test does not keep its worker from tearing its test database down."""
    pytester.makepyfile(
        **{
            "library/books/tests_failing": """
                import pytest
                from library.books.models import Author

                @pytest.mark.django_db
                def test_fails():
                    Author.objects.create(name="x")
                    assert Author.objects.count() == 2
            """
        }
    )
    ini = pytester.path / "pytest.ini"
    ini.write_text(ini.read_text().replace("python_files = tests.py", "python_files = tests*.py"))

    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider", "--workers", "2", timeout=120
    )

    result.assert_outcomes(passed=11, failed=1)
    assert databases_like(postgres_admin, f"test_{library}") == set()
