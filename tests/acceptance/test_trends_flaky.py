"""Acceptance tests of ``testfleet trends`` and ``testfleet flaky``: the real commands
on real histories (SQLite and PostgreSQL), and on one that pytest sessions recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from testfleet.history import HistoryStore, SQLiteStore, open_store
from testfleet.model.history import Outcome, RunRecord, RunStatus, TestResult

DAY = 24 * 3600.0
#: 2024-01-01 00:00 UTC.
EPOCH = 1_704_067_200.0
COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def run_testfleet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``testfleet`` command in ``cwd``, dates in UTC."""
    return subprocess.run(
        [sys.executable, "-m", "testfleet.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "UTC"},
        check=False,
    )


def record(
    store: HistoryStore,
    day: float,
    results: Sequence[TestResult],
    *,
    wall: float = 60.0,
    commit: str | None = COMMIT,
    status: RunStatus = "complete",
    peak_rss: int | None = None,
) -> int:
    """Record a run that started ``day`` days after 2024-01-01; return its id."""
    started = EPOCH + day * DAY
    run_id = store.begin_run(
        RunRecord(
            started=started,
            finished=None,
            workers=2,
            host="ci",
            commit=commit,
            arguments=("--workers=2",),
            exit_code=None,
            status="crashed",
        )
    )
    if status != "crashed":
        failed = any(r.outcome in ("failed", "error") for r in results)
        store.finish_run(
            run_id,
            finished=started + wall,
            exit_code=1 if failed else 0,
            status=status,
            results=results,
            peak_rss=peak_rss,
        )
    return run_id


def passing(tests: int, slow: float = 0.2) -> list[TestResult]:
    """``tests`` passing tests; ``test_slow`` takes ``slow`` seconds, the others 0.05."""
    return [TestResult("test_a.py::test_slow", "passed", call=slow)] + [
        TestResult(f"test_a.py::test_{i}", "passed", call=0.05) for i in range(tests - 1)
    ]


def grow(store: HistoryStore) -> None:
    """Eight daily runs: the suite grows by 2 tests a day, test_slow got slower at run 6."""
    for day in range(8):
        record(
            store,
            day,
            passing(10 + 2 * day, slow=0.2 if day < 5 else 0.9),
            wall=60.0 + day,
            peak_rss=300 * 2**20,
        )
    record(store, 8.5, passing(3), status="crashed")  # a process that died: never shown


def check_trends(found: subprocess.CompletedProcess[str]) -> None:
    assert found.returncode == 0, found.stderr
    document = json.loads(found.stdout)
    assert [run["tests"] for run in document["runs"]] == [10 + 2 * d for d in range(8)]
    assert document["runs"][0]["date"] == "2024-01-01T00:00:00+00:00"
    assert document["runs"][-1]["peak_rss"] == 300 * 2**20
    assert document["direction"]["tests_per_week"] == pytest.approx(14.0)
    assert document["direction"]["wall_per_week"] == pytest.approx(7.0)
    assert [(s["nodeid"], s["baseline"], s["recent"]) for s in document["slower"]] == [
        ("test_a.py::test_slow", 0.2, 0.9)
    ]


def test_trends_shows_runs_direction_and_slower_tests(tmp_path: Path) -> None:
    """The table shows each finished run oldest first, the direction, and test_slow."""
    with SQLiteStore(tmp_path / ".testfleet" / "history.db") as store:
        grow(store)

    found = run_testfleet("trends", "--recent", "3", "--baseline", "3", cwd=tmp_path)

    assert found.returncode == 0, found.stderr
    assert found.stderr == ""
    lines = found.stdout.splitlines()
    assert lines[0].split() == [
        "run", "date", "commit", "result", "tests", "wall", "test", "time", "workers",
        "efficiency", "peak", "memory",
    ]  # fmt: skip
    assert lines[1].split() == [
        "1", "2024-01-01", "00:00", "a1b2c3d", "passed", "10", "1m", "00s", "0.7s", "2", "1%",
        "300", "MiB",
    ]  # fmt: skip
    assert len(lines[1:9]) == 8
    assert lines[8].split()[:6] == ["8", "2024-01-08", "00:00", "a1b2c3d", "passed", "24"]
    assert lines[10] == (
        "Direction over 8 complete runs in 7.0 days: +14.0 tests a week, wall +7.0s a week."
    )
    assert lines[12:] == [
        "Tests that got slower (median of each test's last 3 passing runs vs the 3 before them):",
        "",
        "test                  before    now         change",
        "test_a.py::test_slow   0.20s  0.90s  +0.70s (4.5x)",
    ]


def test_trends_json_and_a_project_path(tmp_path: Path) -> None:
    """--json gives the same figures to machines; PATH names the project."""
    project = tmp_path / "project"
    with SQLiteStore(project / ".testfleet" / "history.db") as store:
        grow(store)

    check_trends(run_testfleet("trends", "project", "--json", cwd=tmp_path))
    shown = json.loads(
        run_testfleet("trends", "project", "--json", "--last", "2", cwd=tmp_path).stdout
    )
    assert [run["run_id"] for run in shown["runs"]] == [7, 8]
    # The windows reach further back than the runs shown.
    assert [s["nodeid"] for s in shown["slower"]] == ["test_a.py::test_slow"]


def test_trends_on_postgresql(postgres_database: Callable[..., str], tmp_path: Path) -> None:
    """A PostgreSQL history gives the same trends as a SQLite one."""
    url = postgres_database()
    with open_store(url, tmp_path) as store:
        grow(store)

    check_trends(run_testfleet("trends", f"--history={url}", "--json", cwd=tmp_path))
    flaky = run_testfleet("flaky", f"--history={url}", cwd=tmp_path)
    assert (flaky.returncode, flaky.stdout) == (0, "No flaky tests in the last 8 runs.\n")


def results(**outcomes: Outcome) -> list[TestResult]:
    return [TestResult(f"test_b.py::{name}", outcome) for name, outcome in outcomes.items()]


def test_flaky_lists_each_flaky_test_with_its_evidence(tmp_path: Path) -> None:
    """Certain ones (one commit, or a retry that passed) first, then by flip rate; outages
    and crashed runs are left out."""
    history = tmp_path / "h.db"
    with SQLiteStore(history) as store:
        flips = "pfpfpppp"
        for i, flip in enumerate(flips):
            record(
                store,
                i,
                results(
                    test_flips="passed" if flip == "p" else "failed",
                    test_one_commit="passed",
                    test_steady="passed",
                    test_down="passed",
                ),
                commit=f"c{i}",
            )
        record(store, 8, results(test_one_commit="passed", test_steady="passed"), commit="fix")
        record(store, 9, results(test_one_commit="failed", test_steady="passed"), commit="fix")
        record(
            store,
            10,
            [TestResult("test_b.py::test_retried", "passed", attempts=2)],
            commit="fix",
        )
        # An outage: everything failed; left out, so test_down and test_steady stay steady.
        record(store, 11, results(test_steady="failed", test_down="failed"), commit="x")
        record(store, 12, results(test_steady="failed"), status="crashed", commit="x")

    found = run_testfleet("flaky", "--history=h.db", cwd=tmp_path)

    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [
        "test                        score  certain  samples  flips  evidence",
        "test_b.py::test_one_commit   1.00  yes           10      1  passed and failed on "
        "commit fix (runs #9 passed, #10 failed)",
        "test_b.py::test_retried      1.00  yes            2      1  failed, then passed when "
        "run again, in run #11 on commit fix",
        "test_b.py::test_flips        0.57  no             8      4  4 flips between pass and "
        "fail in its last 8 results",
        "",
        "3 flaky tests (2 for certain) in the last 12 runs; 1 run where most tests failed "
        "left out (#12).",
    ]
    document = json.loads(run_testfleet("flaky", "--history=h.db", "--json", cwd=tmp_path).stdout)
    assert (document["runs"], document["outages"]) == (12, [12])
    assert [(f["nodeid"], f["certain"], f["score"]) for f in document["flaky"]] == [
        ("test_b.py::test_one_commit", True, 1.0),
        ("test_b.py::test_retried", True, 1.0),
        ("test_b.py::test_flips", False, 0.571),
    ]


@pytest.mark.parametrize("command", ["trends", "flaky"])
def test_no_history_is_one_line_and_creates_nothing(tmp_path: Path, command: str) -> None:
    """Without a history the command says where it looked and how to make one; exit 4."""
    found = run_testfleet(command, cwd=tmp_path)
    assert found.returncode == 4
    assert found.stdout == ""
    assert found.stderr == (
        "testfleet: no history at .testfleet/history.db: run pytest --workers=auto first "
        "(it records every run there), or pass --history=PATH\n"
    )
    assert not (tmp_path / ".testfleet").exists()

    named = run_testfleet(command, "--history=elsewhere/h.db", cwd=tmp_path)
    assert named.returncode == 4
    assert named.stderr.startswith("testfleet: no history at elsewhere/h.db: ")
    assert len(named.stderr.splitlines()) == 1
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("command", ["trends", "flaky"])
def test_a_corrupt_history_is_one_line(tmp_path: Path, command: str) -> None:
    """A file of garbage is named in one line, without a traceback; exit 4; left as it was."""
    garbage = bytes(range(256)) * 64
    (tmp_path / "h.db").write_bytes(garbage)

    found = run_testfleet(command, "--history=h.db", cwd=tmp_path)

    assert found.returncode == 4
    assert found.stdout == ""
    [line] = found.stderr.splitlines()
    assert line.startswith("testfleet history h.db is not a SQLite database")
    assert (tmp_path / "h.db").read_bytes() == garbage


FLAKY_SUITE = """
from pathlib import Path

def test_steady():
    pass

def test_flag():
    # Fails on the first run, passes on the next: a flag file remembers.
    flag = Path(__file__).with_name("ran-once")
    first = not flag.exists()
    flag.touch()
    assert not first
"""


def test_flaky_finds_a_test_that_failed_and_passed_in_real_runs(pytester: pytest.Pytester) -> None:
    """Two real runs on one commit, a test failing in the first only: flaky for certain."""
    # The commit the history records is read from .git; a detached HEAD holds it.
    (pytester.path / ".git").mkdir()
    (pytester.path / ".git" / "HEAD").write_text(COMMIT + "\n")
    pytester.makepyfile(test_c=FLAKY_SUITE)
    for expected in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.OK):
        ran = pytester.runpytest_subprocess(
            "--workers=2", "--history=h.db", "-p", "no:cacheprovider", "-p", "no:randomly"
        )
        assert ran.ret == expected

    found = run_testfleet("flaky", "--history=h.db", cwd=pytester.path)

    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[1].split()[:3] == ["test_c.py::test_flag", "1.00", "yes"]
    assert lines[1].endswith(
        f"passed and failed on commit {COMMIT[:12]} (runs #2 passed, #1 failed)"
    )
    assert lines[-1] == "1 flaky test (1 for certain) in the last 2 runs."
    trends = json.loads(
        run_testfleet("trends", "--history=h.db", "--json", cwd=pytester.path).stdout
    )
    assert [(r["tests"], r["exit_code"], r["commit"]) for r in trends["runs"]] == [
        (2, 1, COMMIT),
        (2, 0, COMMIT),
    ]
