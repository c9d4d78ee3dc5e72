"""Acceptance tests of planned runs: categories, priorities, serial categories, failed first."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., pytest.RunResult]

#: Each test appends "start <node id> <time>" and "end <node id> <time>" lines.
CONFTEST = """
import os, time, pytest

LOG = os.path.join(os.path.dirname(__file__), "timeline.log")

@pytest.fixture(autouse=True)
def _timeline(request):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "-")
    with open(LOG, "a") as log:
        log.write(f"start {worker} {request.node.nodeid} {time.monotonic()}\\n")
    yield
    with open(LOG, "a") as log:
        log.write(f"end {worker} {request.node.nodeid} {time.monotonic()}\\n")
"""


def timeline(path: Path) -> list[tuple[str, str, str, float]]:
    lines = (path / "timeline.log").read_text().splitlines()
    return [(kind, worker, nodeid, float(t)) for kind, worker, nodeid, t in map(str.split, lines)]


def intervals(path: Path) -> dict[str, tuple[float, float]]:
    spans: dict[str, list[float]] = {}
    for _kind, _worker, nodeid, moment in timeline(path):
        spans.setdefault(nodeid, []).append(moment)
    return {nodeid: (min(t), max(t)) for nodeid, t in spans.items()}


def test_a_non_parallel_category_never_overlaps_itself(pytester: pytest.Pytester, run: Run) -> None:
    """Tests of a parallel = false category run one at a time while others run beside them."""
    pytester.makepyprojecttoml(
        """
        [tool.testfleet.categories.db]
        patterns = ["test_db_*.py"]
        parallel = false
        priority = 1
        """
    )
    pytester.makeconftest(CONFTEST)
    sleepy = "import time\n" + "".join(f"def test_{n}():\n    time.sleep(0.05)\n" for n in range(4))
    pytester.makepyfile(test_db_one=sleepy, test_db_two=sleepy, test_free=sleepy, test_more=sleepy)

    result = run("--workers", "2")

    result.assert_outcomes(passed=16)
    spans = sorted(v for k, v in intervals(pytester.path).items() if k.startswith("test_db_"))
    assert len(spans) == 8
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, "two tests of the non-parallel category overlapped"
    workers = {w for _, w, nodeid, _ in timeline(pytester.path) if nodeid.startswith("test_db_")}
    assert len(workers) == 1


def test_categories_run_in_priority_order(pytester: pytest.Pytester, run: Run) -> None:
    """With the default categories, every worker starts with unit tests, before functional ones."""
    pytester.makeconftest(CONFTEST)
    body = "".join(f"def test_{n}():\n    pass\n" for n in range(6))
    pytester.makepyfile(
        test_pages_functional=body, test_api_functional=body, test_a_unit=body, test_b_unit=body
    )

    result = run("--workers", "2")

    result.assert_outcomes(passed=24)
    first_of: dict[str, str] = {}
    for kind, worker, nodeid, _ in timeline(pytester.path):
        if kind == "start":
            first_of.setdefault(worker, nodeid)
    assert len(first_of) == 2
    assert all("_unit.py" in nodeid for nodeid in first_of.values())


def test_tests_that_failed_last_time_run_first(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a run with a failure, the failed test's module is among the first handed out."""
    pytester.makeconftest(CONFTEST)
    body = "".join(f"def test_{n}():\n    pass\n" for n in range(5))
    pytester.makepyfile(
        test_a=body,
        test_b=body,
        test_c=body,
        test_z="import os\ndef test_flaky():\n    assert os.environ.get('FIXED')\n",
    )

    first = run("--workers", "2")
    (pytester.path / "timeline.log").unlink()
    monkeypatch.setenv("FIXED", "1")
    second = run("--workers", "2")

    assert first.ret == pytest.ExitCode.TESTS_FAILED
    assert second.ret == pytest.ExitCode.OK
    # Longest first alone would run this one-test module last; failing put it first.
    first_of: dict[str, str] = {}
    for kind, worker, nodeid, _ in timeline(pytester.path):
        if kind == "start":
            first_of.setdefault(worker, nodeid)
    assert "test_z.py::test_flaky" in first_of.values()


def test_a_broken_category_config_is_a_usage_error(pytester: pytest.Pytester, run: Run) -> None:
    """An unknown key in the categories names the key and the allowed ones; exit code 4."""
    pytester.makepyprojecttoml(
        """
        [tool.testfleet.categories.db]
        patterns = ["test_db_*.py"]
        paralel = false
        """
    )
    pytester.makepyfile(test_a="def test_x():\n    pass\ndef test_y():\n    pass\n")

    result = run("--workers", "2")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*tool.testfleet.categories.db.paralel*allowed keys*"])
    assert "Traceback" not in result.stderr.str()
