"""Acceptance tests of --shard: every test in exactly one shard, empty shards pass."""

from __future__ import annotations

import re

import pytest
from conftest import Run


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
