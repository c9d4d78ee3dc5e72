"""Acceptance tests of --retry-failed and the quarantine, through real pytest sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., pytest.RunResult]

#: Fails on its first run, passes after; says which worker ran it each time.
FLAKY = """
import os
from pathlib import Path

def test_flaky():
    marks = Path(__file__).parent / "runs.txt"
    runs = marks.read_text().split() if marks.exists() else []
    marks.write_text(" ".join([*runs, os.environ["PYTEST_XDIST_WORKER"]]))
    assert runs, "first run fails"
"""

OTHERS = """
import time
import pytest

@pytest.mark.parametrize("n", range(8))
def test_other(n):
    time.sleep(0.05)
"""


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def history(pytester: pytest.Pytester) -> Path:
    return pytester.path / ".testfleet" / "history.db"


def test_a_test_that_passes_when_run_again_is_reported_passed_and_named_flaky(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(test_flaky=FLAKY, test_others=OTHERS)

    result = run("--workers=2", "--retry-failed=2", "-v")

    assert result.ret == 0
    result.stdout.fnmatch_lines(["*test_flaky.py::test_flaky PASSED*", "*9 passed*"])
    result.stdout.fnmatch_lines(
        [
            "testfleet: 1 flaky (failed, then passed when run again):",
            "  test_flaky.py::test_flaky (passed on attempt 2)",
        ]
    )
    workers = (pytester.path / "runs.txt").read_text().split()
    assert len(workers) == 2
    assert workers[0] != workers[1]  # run again on the other worker
    assert rows(
        history(pytester),
        "SELECT outcome, attempts FROM testfleet_results WHERE nodeid LIKE '%test_flaky'",
    ) == [("passed", 2)]


def test_a_test_that_always_fails_is_reported_once_after_its_last_run(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(
        test_broken="def test_broken():\n    assert False, 'broken'\n", test_others=OTHERS
    )

    result = run("--workers=2", "--retry-failed=2")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 failed, 8 passed*"])
    # One failure shown, from its last run: the runs before it are not reported.
    assert result.stdout.str().count("E       AssertionError: broken") == 1
    assert rows(
        history(pytester),
        "SELECT outcome, attempts FROM testfleet_results WHERE nodeid LIKE '%test_broken'",
    ) == [("failed", 3)]


def test_retries_keep_x_from_stopping_on_a_flaky_test(pytester: pytest.Pytester, run: Run) -> None:
    """-x stops at a real failure only: a test that passes when run again does not count."""
    pytester.makepyfile(test_flaky=FLAKY, test_others=OTHERS)

    result = run("--workers=2", "--retry-failed=1", "-x")

    assert result.ret == 0
    result.stdout.fnmatch_lines(["*9 passed*"])


def test_retry_failed_needs_workers(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_flaky=FLAKY)

    result = run("--retry-failed=2")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--retry-failed runs failed tests again*--workers*"])


QUARANTINED = """
import pytest

def test_known_broken():
    assert 1 == 2, "known to be broken"

@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n == 1

def test_fine():
    pass
"""


@pytest.mark.parametrize("workers", ["--workers=2", "--history=h.db"])
def test_a_quarantined_failure_is_reported_but_does_not_fail_the_run(
    pytester: pytest.Pytester, run: Run, workers: str
) -> None:
    pytester.makepyfile(test_q=QUARANTINED)
    pytester.makepyprojecttoml(
        '[tool.testfleet]\nquarantine = ["test_q.py::test_known_broken", "test_q.py::test_param"]\n'
    )

    result = run(workers, "-x", "--junitxml=junit.xml")

    assert result.ret == 0  # -x did not stop at them either
    result.stdout.fnmatch_lines(["*2 passed, 2 quarantined*"])
    result.stdout.fnmatch_lines(
        [
            "testfleet: 3 quarantined, 2 of them failed (quarantined failures do not fail*",
            "  test_q.py::test_known_broken: failed in call: AssertionError: known to be broken*",
        ]
    )
    junit = (pytester.path / "junit.xml").read_text()
    assert 'failures="0"' in junit
    assert "quarantined: AssertionError: known to be broken" in junit
    db = history(pytester) if workers == "--workers=2" else pytester.path / "h.db"
    assert dict(
        rows(db, "SELECT nodeid, outcome || ' ' || quarantined FROM testfleet_results")
    ) == {
        "test_q.py::test_known_broken": "failed 1",
        "test_q.py::test_param[1]": "passed 1",
        "test_q.py::test_param[2]": "failed 1",
        "test_q.py::test_fine": "passed 0",
    }


def test_the_quarantine_can_be_a_file(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_q=QUARANTINED)
    pytester.makefile(
        ".txt", quarantine="# known failures\ntest_q.py::test_known_broken\ntest_q.py::test_param\n"
    )
    pytester.makepyprojecttoml('[tool.testfleet]\nquarantine = "quarantine.txt"\n')

    result = run("--workers=2")

    assert result.ret == 0


@pytest.mark.parametrize(
    ("value", "problem"),
    [("42", "must be a list of node ids"), ('"missing.txt"', "cannot be read")],
)
def test_a_broken_quarantine_setting_is_a_usage_error(
    pytester: pytest.Pytester, run: Run, value: str, problem: str
) -> None:
    pytester.makepyfile(test_q=QUARANTINED)
    pytester.makepyprojecttoml(f"[tool.testfleet]\nquarantine = {value}\n")

    result = run("--workers=2")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*tool.testfleet.quarantine*{problem}*"])
