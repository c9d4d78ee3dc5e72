"""Acceptance tests of --shard: every test in exactly one shard, whatever the store, empty
shards pass."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from testfleet.history import open_store
from testfleet.model import RunRecord, TestResult
from testfleet.scheduling.shards import SPLIT_VARIABLES

Run = Callable[..., pytest.RunResult]


def selected(result: pytest.RunResult) -> set[str]:
    """Node ids a --collect-only -q run lists."""
    return {line for line in result.stdout.lines if re.match(r"^test_\w+\.py::", line)}


def make_suite(pytester: pytest.Pytester) -> set[str]:
    for module in range(5):
        pytester.makepyfile(
            **{f"test_m{module}": "".join(f"def test_{n}():\n    pass\n" for n in range(7))}
        )
    return {f"test_m{m}.py::test_{n}" for m in range(5) for n in range(7)}


def test_shards_cover_the_suite_exactly_once(pytester: pytest.Pytester, run: Run) -> None:
    """The three shards of a suite are disjoint and together are the whole suite."""
    everything = make_suite(pytester)

    shards = [selected(run("--co", "-q", "--shard", f"{k}/3")) for k in (1, 2, 3)]

    assert set().union(*shards) == everything
    assert sum(map(len, shards)) == len(everything)
    assert all(shards)


def test_a_shard_runs_on_workers_and_says_what_it_holds(
    pytester: pytest.Pytester, run: Run
) -> None:
    """A shard runs its tests (here on workers) and the header says how many it kept."""
    make_suite(pytester)

    result = run("--shard", "2/2", "--workers", "2")

    result.stdout.fnmatch_lines(["testfleet: shard 2/2: * of 35 tests"])
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] + outcomes["deselected"] == 35
    assert result.ret == 0


def test_shard_auto_reads_the_ci_variables(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--shard auto takes GitLab's CI_NODE_INDEX (from 1) and CI_NODE_TOTAL."""
    everything = make_suite(pytester)
    monkeypatch.setenv("CI_NODE_TOTAL", "2")
    monkeypatch.setenv("CI_NODE_INDEX", "1")
    first = selected(run("--co", "-q", "--shard", "auto"))
    second = selected(run("--co", "-q", "--shard", "2/2"))

    assert first == everything - second


def test_an_empty_shard_passes(pytester: pytest.Pytester, run: Run) -> None:
    """More shards than tests: an empty shard exits 0 and says so."""
    pytester.makepyfile(test_a="def test_x():\n    pass\n")

    results = [run("--shard", f"{k}/3") for k in (1, 2, 3)]

    assert [r.ret for r in results] == [0, 0, 0]
    empty = [r for r in results if "is empty" in r.stdout.str()]
    assert len(empty) == 2
    empty[0].stdout.fnmatch_lines(["testfleet: shard */3 is empty (1 tests for 3 shards)*"])


@pytest.mark.parametrize("value", ["0/2", "3/2", "half", "auto"])
def test_a_bad_shard_is_a_usage_error(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A shard that is not K of N (or auto outside CI) is a usage error naming --shard."""
    pytester.makepyfile(test_a="def test_x():\n    pass\n")
    for name in ("TEST_TOTAL_SHARDS", "CI_NODE_TOTAL", "CIRCLE_NODE_TOTAL"):
        monkeypatch.delenv(name, raising=False)

    result = run("--shard", value)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--shard*"])


# -- one history shared by every shard --------------------------------------

#: Variables that name a CI run (see split_id); cleared so each test sets its own.
_RUN_VARIABLES = {name for names in SPLIT_VARIABLES for name in names}


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Iterator[str]:
    """One history for every shard: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(pytester.path / "shared.db")
        return
    yield request.getfixturevalue("postgres_database")("testfleet_acc")


def in_ci_run(monkeypatch: pytest.MonkeyPatch, run_id: str) -> None:
    """Make the runs under test shards of GitHub Actions run ``run_id``."""
    for name in _RUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", "example/suite")
    monkeypatch.setenv("GITHUB_RUN_ID", run_id)


def weigh(history: str, nodeids: set[str]) -> None:
    """Record an earlier run in which the tests took very different times.

    The shards then record their own runs, in which every test takes almost
    nothing: each one changes the durations the next shard would read.
    """
    results = [
        TestResult(nodeid, "passed", call=float(1 + 7 * (int(nodeid[6]) % 3) + int(nodeid[-1])))
        for nodeid in sorted(nodeids)
    ]
    with open_store(history, Path.cwd()) as store:
        store.import_runs([(RunRecord(1.0, 2.0, 1, "earlier", None, (), 0, "complete"), results)])


def ran(junit: Path) -> list[str]:
    """Node ids of the tests a run's junit XML lists."""
    return [
        f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        for case in ElementTree.parse(junit).getroot().iter("testcase")
    ]


def shard_args(k: int, total: int, history: str) -> list[str]:
    return [f"--shard={k}/{total}", f"--history={history}", f"--junitxml=s{k}.xml"]


def assert_recorded(history: str, runs: int, results: int) -> None:
    """Every run the store holds is complete, and together they hold ``results`` results."""
    with open_store(history, Path.cwd()) as store:
        stored = store.runs()
        assert [r.status for r in stored] == ["complete"] * runs
        assert sum(len(store.results(r.run_id or 0)) for r in stored) == results


def test_shards_one_after_another_on_one_store_run_every_test_once(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch, shared: str
) -> None:
    """Shards run in turn on one store they all record into still run each test exactly once."""
    in_ci_run(monkeypatch, "101")
    everything = make_suite(pytester)
    weigh(shared, everything)

    results = [run(*shard_args(k, 3, shared)) for k in (1, 2, 3)]

    assert [r.ret for r in results] == [0, 0, 0]
    for result in results:
        result.stdout.fnmatch_lines(
            ["testfleet: split 'GITHUB_REPOSITORY=example/suite GITHUB_RUN_ID=101': *"]
        )
    shards = [ran(pytester.path / f"s{k}.xml") for k in (1, 2, 3)]
    assert sorted(nodeid for shard in shards for nodeid in shard) == sorted(everything)
    assert all(shards)
    assert_recorded(shared, runs=4, results=2 * len(everything))


def test_shards_side_by_side_on_one_store_run_every_test_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, shared: str
) -> None:
    """Shards started together on one store run each test exactly once and lose no result."""
    in_ci_run(monkeypatch, "102")
    everything = make_suite(pytester)
    weigh(shared, everything)

    pytest_command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider"]
    shards = [
        subprocess.Popen(
            [*pytest_command, *shard_args(k, 3, shared)],
            cwd=pytester.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in (1, 2, 3)
    ]
    outputs = [shard.communicate(timeout=120)[0] for shard in shards]

    assert [shard.returncode for shard in shards] == [0, 0, 0], outputs
    ran_in = [ran(pytester.path / f"s{k}.xml") for k in (1, 2, 3)]
    assert sorted(nodeid for shard in ran_in for nodeid in shard) == sorted(everything)
    assert_recorded(shared, runs=4, results=2 * len(everything))


def test_the_next_ci_run_splits_by_what_the_shards_recorded(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later CI run's shards split by the durations the earlier run's shards recorded."""
    everything = make_suite(pytester)
    weigh("shared.db", everything)
    in_ci_run(monkeypatch, "201")
    for k in (1, 2):
        done = run(*shard_args(k, 2, "shared.db"))
        done.stdout.fnmatch_lines(["testfleet: split *201'*(up to record #1)"])

    in_ci_run(monkeypatch, "202")
    later = run(*shard_args(1, 2, "shared.db"))

    later.stdout.fnmatch_lines(["testfleet: split *202'*(up to record #3)"])


def test_a_shard_that_cannot_read_its_history_stops(pytester: pytest.Pytester, run: Run) -> None:
    """A shard whose --history cannot be read stops with a usage error instead of guessing."""
    make_suite(pytester)
    (pytester.path / "broken.db").write_bytes(b"not a database\x00" * 100)

    result = run("--shard=1/2", "--history=broken.db")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --shard 1/2 stops: *broken.db is not a SQLite database*--history=PATH*"]
    )
