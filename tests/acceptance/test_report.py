"""Acceptance tests of the report: ``--report PATH.json|PATH.html`` on real sessions, and
``testfleet report`` on a recorded history."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., pytest.RunResult]

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(8))
def test_many(n):
    pass

def test_fail():
    assert False

@pytest.mark.skip
def test_skip():
    pass
"""


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def embedded(page: Path) -> Any:
    """The JSON document inside an HTML report."""
    text = page.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="testfleet-data">(.*?)</script>', text)
    assert found is not None
    return json.loads(found.group(1))


def cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "testfleet.cli", *args, timeout=60)


def test_a_json_report_of_a_parallel_run(pytester: pytest.Pytester, run: Run) -> None:
    """--report=PATH.json writes every test with its worker, the lanes, and this run in trends."""
    pytester.makepyfile(test_a=SUITE)

    first = run("--workers=2", "--report=out.json")
    second = run("--workers=2", "--report=out.json")

    assert first.ret == second.ret == pytest.ExitCode.TESTS_FAILED  # the report changes nothing
    second.stdout.fnmatch_lines([f"testfleet: report written to {pytester.path / 'out.json'}"])
    doc = load(pytester.path / "out.json")
    assert doc["schema"] == 1
    assert doc["run"]["status"] == "complete"
    assert doc["run"]["exit_code"] == 1
    assert doc["run"]["outcomes"] == {"passed": 8, "failed": 1, "skipped": 1}
    tests = {t["nodeid"]: t for t in doc["tests"]}
    assert len(tests) == 10
    assert tests["test_a.py::test_fail"]["outcome"] == "failed"
    assert {t["worker"] for t in tests.values()} == {"gw0", "gw1"}
    assert all(t["start"] is not None and t["duration"] >= 0 for t in tests.values())
    assert [w["name"] for w in doc["workers"]] == ["gw0", "gw1"]
    assert sum(w["tests"] for w in doc["workers"]) == 10
    # Written after the history recorded the run: both runs show, this one marked.
    assert [t["current"] for t in doc["trends"]] == [False, True]
    assert doc["run"]["id"] == doc["trends"][-1]["id"] == 2
    assert "Traceback" not in second.stdout.str() + second.stderr.str()


def test_an_html_report_goes_where_asked_parents_made(pytester: pytest.Pytester, run: Run) -> None:
    """--report=dir/PATH.html creates the directory and writes one page holding the run."""
    pytester.makepyfile(test_a=SUITE)

    result = run("--workers=2", "--report=reports/today/out.html")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    page = pytester.path / "reports" / "today" / "out.html"
    result.stdout.fnmatch_lines([f"testfleet: report written to {page}"])
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    doc = embedded(page)
    assert len(doc["tests"]) == 10
    assert [w["name"] for w in doc["workers"]] == ["gw0", "gw1"]
    assert not list(page.parent.glob(".*.tmp"))  # written atomically, nothing left over


def test_a_report_without_workers_or_history(pytester: pytest.Pytester, run: Run) -> None:
    """In process and without history the report has one lane and no trends."""
    pytester.makepyfile(test_a=SUITE)

    result = run("--report=out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    doc = load(pytester.path / "out.json")
    assert len(doc["tests"]) == 10
    assert [w["name"] for w in doc["workers"]] == ["main"]
    assert doc["trends"] == []
    assert not (pytester.path / ".testfleet").exists()


def test_no_history_means_no_trends(pytester: pytest.Pytester, run: Run) -> None:
    """--no-history: the report is written, with no trends."""
    pytester.makepyfile(test_a=SUITE)

    result = run("--workers=2", "--no-history", "--report=out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert load(pytester.path / "out.json")["trends"] == []


def test_a_report_needs_an_html_or_json_path(pytester: pytest.Pytester, run: Run) -> None:
    """Any other suffix is a usage error (exit 4) naming what is expected, before any test runs."""
    pytester.makepyfile(test_a=SUITE)

    result = run("--workers=2", "--report=out.txt")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--report: 'out.txt'*expected PATH.html or PATH.json*"])
    assert "Traceback" not in result.stderr.str()


def test_collect_only_writes_no_report_and_says_nothing(
    pytester: pytest.Pytester, run: Run
) -> None:
    """No run, no report: --collect-only writes nothing and prints no line about it."""
    pytester.makepyfile(test_a=SUITE)

    result = run("--workers=2", "--collect-only", "--report=out.html")

    assert result.ret == pytest.ExitCode.OK
    assert not (pytester.path / "out.html").exists()
    assert "testfleet: report" not in result.stdout.str()
    assert "out.html" not in result.stdout.str()


def test_an_unwritable_path_costs_one_line(pytester: pytest.Pytester, run: Run) -> None:
    """A path that cannot be written: one warning line, no report, the run's own exit code."""
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    (pytester.path / "blocker").write_text("a file, not a directory")

    result = run("--workers=2", "--report=blocker/out.html")

    assert result.ret == pytest.ExitCode.OK
    lines = [line for line in result.stdout.lines if "report" in line]
    assert len(lines) == 1
    assert "could not be written to" in lines[0]
    assert "pass --report=PATH" in lines[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_broken_history_still_gives_a_report(pytester: pytest.Pytester, run: Run) -> None:
    """A history that is no database costs one warning line; the report is written without
    trends."""
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    (pytester.path / "broken.db").write_bytes(b"this is not a database\x00" * 100)

    result = run("--workers=2", "--history=broken.db", "--report=out.json")

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*broken.db*", "testfleet: report written to *out.json"])
    assert result.stdout.str().count("broken.db") == 1
    doc = load(pytester.path / "out.json")
    assert doc["trends"] == []
    assert len(doc["tests"]) == 1


def test_testfleet_report_writes_a_recorded_run(pytester: pytest.Pytester, run: Run) -> None:
    """``testfleet report`` writes the newest run, or the one named, from the history."""
    pytester.makepyfile(test_a=SUITE)
    run("--workers=2")
    pytester.makepyfile(test_a="def test_only():\n    pass\n")
    run("--workers=2")

    newest = cli(pytester, "report", "-o", "newest.json")
    first = cli(pytester, "report", "1", "-o", "out/first.html")

    assert newest.ret == first.ret == 0
    newest.stdout.fnmatch_lines(["testfleet: report of run #2 written to newest.json"])
    doc = load(pytester.path / "newest.json")
    assert doc["run"]["id"] == 2
    assert [t["nodeid"] for t in doc["tests"]] == ["test_a.py::test_only"]
    assert [t["id"] for t in doc["trends"]] == [1, 2]
    old = embedded(pytester.path / "out" / "first.html")
    assert old["run"]["id"] == 1
    assert len(old["tests"]) == 10
    assert [w["name"] for w in old["workers"]] == ["gw0", "gw1"]
    assert [t["id"] for t in old["trends"]] == [1]  # what was known then


def test_testfleet_report_says_what_is_missing(pytester: pytest.Pytester, run: Run) -> None:
    """No store, an unknown run, a wrong suffix: one line each on stderr and exit 4."""
    missing = cli(pytester, "report", "-o", "out.html")
    assert missing.ret == 4
    assert len(missing.stderr.lines) == 1
    missing.stderr.fnmatch_lines(["*no history at*--history*"])
    assert not (pytester.path / ".testfleet").exists()

    pytester.makepyfile(test_a="def test_only():\n    pass\n")
    run("--workers=2")
    unknown = cli(pytester, "report", "7", "-o", "out.html")
    assert unknown.ret == 4
    assert unknown.stderr.lines == [
        "testfleet report: no run #7 in the history; its runs are #1 to #1"
    ]
    suffix = cli(pytester, "report", "-o", "out.txt")
    assert suffix.ret == 4
    suffix.stderr.fnmatch_lines(["*expected -o PATH.html or -o PATH.json"])
    assert not (pytester.path / "out.html").exists()


def test_quarantined_and_flaky_tests_show(pytester: pytest.Pytester, run: Run) -> None:
    """The quarantine's tests, run or not, and a test that passed on a retry are in the report."""
    pytester.makepyfile(
        test_a="""
        import pathlib

        def test_fails():
            assert False

        def test_flips():
            mark = pathlib.Path(__file__).with_name("flipped")
            if not mark.exists():
                mark.write_text("once")
                assert False

        def test_ok():
            pass
        """
    )
    pytester.makepyprojecttoml(
        '[tool.testfleet]\nquarantine = ["test_a.py::test_fails", "test_a.py::test_gone"]\n'
    )

    result = run("--workers=2", "--retry-failed=1", "--report=out.json")

    assert result.ret == pytest.ExitCode.OK
    doc = load(pytester.path / "out.json")
    assert doc["quarantined"] == [
        {"nodeid": "test_a.py::test_fails", "outcome": "failed"},
        {"nodeid": "test_a.py::test_gone", "outcome": None},
    ]
    tests = {t["nodeid"]: t for t in doc["tests"]}
    assert tests["test_a.py::test_flips"]["flaky"] is True
    assert tests["test_a.py::test_flips"]["attempts"] == 2
    assert tests["test_a.py::test_fails"]["quarantined"] is True
    assert (doc["run"]["flaky"], doc["run"]["quarantined"]) == (1, 1)


def test_only_the_controller_writes_the_report(pytester: pytest.Pytester, run: Run) -> None:
    """The workers, whose sessions end first, write no report (and build no run) of their own."""
    pytester.makepyfile(test_a=SUITE)
    pytester.makeconftest(
        """
        import os
        from pathlib import Path

        def pytest_unconfigure(config):
            # A worker's session has ended: the controller's has not yet.
            if os.environ.get("PYTEST_XDIST_WORKER") and Path("out.json").exists():
                Path("written-by-" + os.environ["PYTEST_XDIST_WORKER"]).touch()
        """
    )

    result = run("--workers=2", "--report=out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert list(pytester.path.glob("written-by-*")) == []
    assert len(load(pytester.path / "out.json")["tests"]) == 10
