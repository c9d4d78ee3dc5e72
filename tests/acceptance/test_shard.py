"""Acceptance tests of --shard: every test in exactly one shard, empty shards pass."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from conftest import Run

from testfleet.history import HistoryStore, open_store
from testfleet.model import RunRecord, TestResult


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

#: CI variables that name a CI run; cleared so that each test chooses its own.
_RUN_VARIABLES = (
    "TESTFLEET_SPLIT_ID",
    "GITHUB_RUN_ID",
    "CI_PIPELINE_ID",
    "BUILDKITE_BUILD_ID",
    "CIRCLE_WORKFLOW_ID",
    "BUILD_BUILDID",
    "BUILD_TAG",
)


def weigh(store: HistoryStore, nodeids: set[str]) -> None:
    """Record one earlier run in which the tests took very different times."""
    results = [
        TestResult(nodeid, "passed", call=float(1 + 7 * (int(nodeid[6]) % 3) + int(nodeid[-1])))
        for nodeid in sorted(nodeids)
    ]
    run = RunRecord(1.0, 2.0, 1, "earlier", None, (), 0, "complete")
    store.import_runs([(run, results)])


def ran(pytester: pytest.Pytester, junit: str) -> list[str]:
    """Node ids of the tests a run's junit XML lists."""
    root = ElementTree.parse(pytester.path / junit).getroot()
    return [
        f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        for case in root.iter("testcase")
    ]


def run_shards_one_after_another(
    pytester: pytest.Pytester, run: Run, history: str, total: int
) -> list[list[str]]:
    """Run every shard of one split on ``history``; return what each one ran."""
    shards = []
    for k in range(1, total + 1):
        result = run(f"--shard={k}/{total}", f"--history={history}", f"--junitxml=s{k}.xml")
        assert result.ret == 0, result.stdout.str()
        shards.append(ran(pytester, f"s{k}.xml"))
    return shards


def test_shards_on_one_sqlite_file_run_every_test_once(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shards run one after another on one SQLite file, each recording into it, run each test once."""
    for name in _RUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", "example/suite")
    monkeypatch.setenv("GITHUB_RUN_ID", "101")
    everything = make_suite(pytester)
    with open_store("shared.db", pytester.path) as store:
        weigh(store, everything)

    shards = run_shards_one_after_another(pytester, run, "shared.db", 3)

    assert sorted(sum(shards, [])) == sorted(everything)
    with open_store("shared.db", pytester.path) as store:
        assert [r.status for r in store.runs()] == ["complete"] * 4
