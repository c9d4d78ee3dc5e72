"""Acceptance tests of the history: what a run records, and when it records nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from testfleet.history.prefetch import read_recent

Run = Callable[..., pytest.RunResult]

SUITE = """
import pytest

def test_pass():
    pass

def test_fail():
    assert False

@pytest.mark.skip
def test_skip():
    pass

@pytest.mark.xfail
def test_xfail():
    assert False

@pytest.fixture
def broken():
    raise RuntimeError("setup")

def test_error(broken):
    pass
"""


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_parallel_run_is_recorded_with_every_result(pytester: pytest.Pytester, run: Run) -> None:
    """--workers records the run and each test's outcome, phases and worker in .testfleet."""
    pytester.makepyfile(test_a=SUITE, test_b="def test_other():\n    pass\n")

    result = run("--workers", "2")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    db = pytester.path / ".testfleet" / "history.db"
    assert rows(db, "SELECT status, exit_code, workers FROM testfleet_runs") == [("complete", 1, 2)]
    outcomes = dict(rows(db, "SELECT nodeid, outcome FROM testfleet_results"))
    assert outcomes == {
        "test_a.py::test_pass": "passed",
        "test_a.py::test_fail": "failed",
        "test_a.py::test_skip": "skipped",
        "test_a.py::test_xfail": "xfailed",
        "test_a.py::test_error": "error",
        "test_b.py::test_other": "passed",
    }
    workers = {w for (w,) in rows(db, "SELECT worker FROM testfleet_results")}
    assert workers <= {"gw0", "gw1"}


def test_no_history_records_nothing(pytester: pytest.Pytester, run: Run) -> None:
    """--no-history leaves no history behind."""
    pytester.makepyfile(test_a="def test_x():\n    pass\ndef test_y():\n    pass\n")

    result = run("--workers", "2", "--no-history")

    assert result.ret == 0
    assert not (pytester.path / ".testfleet").exists()


def test_a_plain_pytest_run_records_nothing(pytester: pytest.Pytester, run: Run) -> None:
    """Without testfleet's options, testfleet stays out of the way."""
    pytester.makepyfile(test_a="def test_x():\n    pass\n")

    assert run().ret == 0
    assert not (pytester.path / ".testfleet").exists()


def test_a_corrupt_history_costs_one_line_and_is_left_alone(
    pytester: pytest.Pytester, run: Run
) -> None:
    """A history file that is no database: one warning line, same results, file untouched."""
    pytester.makepyfile(test_a="def test_x():\n    pass\ndef test_y():\n    assert 0\n")
    store = pytester.path / "broken.db"
    garbage = b"this is not a database\x00" * 100
    store.write_bytes(garbage)

    result = run("--workers", "2", "--history", str(store))

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*broken.db is not a SQLite database*without history*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert store.read_bytes() == garbage


def test_a_test_ending_the_run_marks_it_interrupted(pytester: pytest.Pytester, run: Run) -> None:
    """A run that pytest.exit() ends is recorded as interrupted, with its exit code."""
    pytester.makepyfile(
        test_a="import pytest\ndef test_x():\n    pytest.exit('bye', returncode=3)\n"
        "def test_y():\n    pass\n"
    )

    result = run("--workers", "2")

    assert result.ret == 3
    db = pytester.path / ".testfleet" / "history.db"
    assert rows(db, "SELECT status, exit_code FROM testfleet_runs") == [("interrupted", 3)]


def test_estimates_survive_narrow_runs(pytester: pytest.Pytester, run: Run) -> None:
    """After full runs, any number of one-file, -k and --lf runs leave every test's estimate."""
    body = "".join(f"def test_{n}():\n    pass\n" for n in range(9))
    for module in range(4):
        pytester.makepyfile(**{f"test_m{module}": body + "def test_9():\n    pass\n"})
    pytester.makepyfile(test_m4=body + "def test_9():\n    assert 0\n")  # --lf runs it alone
    for _ in range(3):
        assert run("--history=h.db", cache=True).ret == pytest.ExitCode.TESTS_FAILED
    narrow = [["test_m4.py"]] + [["--lf"], ["-k", "test_m4 and test_9"]] * 3
    for args in narrow:
        assert run("--history=h.db", *args, cache=True).ret == pytest.ExitCode.TESTS_FAILED

    recent = read_recent("h.db", pytester.path)

    runs = {nodeid: len(results) for nodeid, results in recent.items()}
    assert len(runs) == 50
    assert all(runs[f"test_m{m}.py::test_{n}"] == 3 for m in range(4) for n in range(10))
    assert all(runs[f"test_m4.py::test_{n}"] == 4 for n in range(9))
    assert runs["test_m4.py::test_9"] == 5


def test_a_lost_test_is_recorded_with_the_time_it_ran(pytester: pytest.Pytester, run: Run) -> None:
    """Tests lost to a worker crash or a timeout are recorded failed, with the time they ran."""
    pytester.makepyfile(
        test_a="""
        import os, time

        def test_crash():
            time.sleep(0.3)
            os._exit(3)

        def test_hang():
            time.sleep(60)

        def test_fine():
            pass
        """
    )

    result = run("--workers", "2", "--test-timeout=0.5", "--history=h.db")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    recorded = {
        nodeid: (outcome, setup + call + teardown)
        for nodeid, outcome, setup, call, teardown in rows(
            pytester.path / "h.db",
            "SELECT nodeid, outcome, setup_seconds, call_seconds, teardown_seconds "
            "FROM testfleet_results",
        )
    }
    # Lower bounds only: the test slept that long before it was lost.
    assert recorded["test_a.py::test_crash"][0] == "failed"
    assert recorded["test_a.py::test_crash"][1] >= 0.3
    assert recorded["test_a.py::test_hang"][0] == "failed"
    assert recorded["test_a.py::test_hang"][1] >= 0.5


@pytest.fixture
def postgres_url(postgres_database: Callable[..., str]) -> str:
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    return postgres_database("testfleet_acc")


def test_history_in_postgresql(pytester: pytest.Pytester, run: Run, postgres_url: str) -> None:
    """--history postgresql://... records the run in that database, and the next run reads it."""
    import psycopg

    pytester.makepyfile(test_a="def test_x():\n    pass\ndef test_y():\n    assert 0\n")

    first = run("--workers", "2", "--history", postgres_url)
    second = run("--workers", "2", "--history", postgres_url)

    assert first.ret == second.ret == pytest.ExitCode.TESTS_FAILED
    with psycopg.connect(postgres_url) as conn:
        runs = conn.execute("SELECT status FROM testfleet_runs").fetchall()
        results = conn.execute("SELECT nodeid, outcome FROM testfleet_results").fetchall()
    assert runs == [("complete",), ("complete",)]
    assert sorted(set(results)) == [
        ("test_a.py::test_x", "passed"),
        ("test_a.py::test_y", "failed"),
    ]
    assert not (pytester.path / ".testfleet").exists()
