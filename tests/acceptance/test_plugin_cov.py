"""pytest-cov under --workers: the lines covered are exactly those of a serial run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_cov")

Run = Callable[..., pytest.RunResult]

WEBBLY = Path(__file__).resolve().parents[2] / "examples" / "webbly"

#: A package whose functions run only in tests (so, under --workers, only in
#: workers), some at session teardown, and one never.
PACKAGE = {
    "shapes/__init__.py": "",
    "shapes/area.py": """
        import math


        def square(side):
            if side < 0:
                raise ValueError("negative side")
            return side * side


        def circle(radius):
            return math.pi * radius * radius


        def never_called():
            return "not covered"
    """,
    "shapes/registry.py": """
        class Registry:
            def __init__(self):
                self.closed = False
                self.names = []

            def add(self, name):
                self.names.append(name)
                return len(self.names)

            def close(self):
                # runs at session teardown: in a worker, when it ends its session
                self.closed = True
                return self.names
    """,
}

TESTS = {
    "conftest.py": """
        import pytest

        from shapes.registry import Registry


        @pytest.fixture(scope="session")
        def registry():
            registry = Registry()
            yield registry
            registry.close()
    """,
    "test_area.py": """
        import pytest

        from shapes import area


        @pytest.mark.parametrize("side", [0, 1, 2, 3])
        def test_square(side):
            assert area.square(side) == side * side


        def test_negative():
            with pytest.raises(ValueError):
                area.square(-1)
    """,
    "test_registry.py": """
        from shapes import area


        def test_add(registry):
            assert registry.add("a") >= 1


        def test_circle(registry):
            registry.add("circle")
            assert area.circle(1) > 3
    """,
}


def write_suite(pytester: pytest.Pytester) -> None:
    """The package and its tests in pytester's directory."""
    for name, source in {**PACKAGE, **TESTS}.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pytester.makepyfile(**{name.removesuffix(".py"): source})


def covered(report: Path) -> dict[str, dict[str, Any]]:
    """Per file of a coverage JSON report: executed and missing lines and branches."""
    data = json.loads(report.read_text())
    return {
        name: {
            "executed": sorted(entry["executed_lines"]),
            "missing": sorted(entry["missing_lines"]),
            "branches": sorted(map(tuple, entry.get("executed_branches", []))),
        }
        for name, entry in data["files"].items()
    }


def totals(report: Path) -> dict[str, Any]:
    """The totals of a coverage JSON report."""
    return dict(json.loads(report.read_text())["totals"])


@pytest.mark.parametrize("branch", [False, True], ids=["lines", "branches"])
def test_workers_cover_what_a_serial_run_covers(
    pytester: pytest.Pytester, run: Run, branch: bool
) -> None:
    """--cov under --workers 2 reports the same lines (and branches) as a serial run."""
    write_suite(pytester)
    options = ["--cov=shapes", "--cov-report=term-missing"]
    if branch:
        options.append("--cov-branch")

    serial = run(*options, "--cov-report=json:serial.json")
    serial.assert_outcomes(passed=7)
    workers = run(*options, "--cov-report=json:workers.json", "--workers", "2")
    workers.assert_outcomes(passed=7)

    workers.stdout.fnmatch_lines(["testfleet: 2 workers"])
    assert covered(pytester.path / "workers.json") == covered(pytester.path / "serial.json")
    assert totals(pytester.path / "workers.json") == totals(pytester.path / "serial.json")
    area = covered(pytester.path / "workers.json")["shapes/area.py"]
    assert area["missing"] == [15]  # never_called's body, and nothing else
    # The report is printed once, by the controller; the workers' data files are combined away.
    assert workers.stdout.str().count("TOTAL ") == 1
    assert sorted(p.name for p in pytester.path.glob(".coverage*")) == [".coverage"]


def test_cov_fail_under_sees_the_workers_lines(pytester: pytest.Pytester, run: Run) -> None:
    """--cov-fail-under passes under --workers when the workers' lines reach it."""
    write_suite(pytester)

    result = run("--cov=shapes", "--cov-fail-under=90", "--workers", "2")

    result.assert_outcomes(passed=7)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["Required test coverage of 90% reached. Total coverage: *"])


def run_webbly(tmp_path: Path, name: str, *options: str) -> Path:
    """Run Webbly's suite with --cov=webbly; the path of its JSON coverage report."""
    report = tmp_path / f"{name}.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(WEBBLY),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-q",
            "--cov=webbly",
            f"--cov-report=json:{report}",
            f"--history={tmp_path / 'history.db'}",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return report


def test_webbly_coverage_is_the_same_under_workers(tmp_path: Path) -> None:
    """On the Webbly suite, --cov under --workers 2 reports exactly the lines a serial run does.

    Left out are Webbly's tests marked ``slow`` and its big-site module: they run the
    code of its other tests at scale (bulk imports of thousands of pages, reindexing,
    a crawl of every page) and took two thirds of the suite's time under coverage.
    What a run under workers could lose is all still here: the seeded site built once
    in the controller before the fork, module fixtures in each worker, functional
    tests serving HTTP from threads, the PostgreSQL copies, the smtp lane and the
    shared cache.
    """
    pytest.importorskip("webbly", reason="pip install -e 'examples/webbly[postgres]'")
    at_scale = ["-m", "not slow", f"--ignore={WEBBLY / 'tests' / 'test_bigsite_integration.py'}"]

    serial = covered(run_webbly(tmp_path, "serial", *at_scale))
    workers = covered(run_webbly(tmp_path, "workers", *at_scale, "--workers", "2"))

    assert workers.keys() == serial.keys()
    differ = {name for name in serial if serial[name] != workers[name]}
    assert not differ, {name: (serial[name], workers[name]) for name in sorted(differ)}


def coverage_command(pytester: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m coverage ARGS`` in pytester's directory."""
    return subprocess.run(
        [sys.executable, "-m", "coverage", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=pytester.path,
    )


def test_coverage_run_in_parallel_mode_combines_to_serial(pytester: pytest.Pytester) -> None:
    """`coverage run --parallel-mode` under --workers leaves data combining to serial's lines."""
    write_suite(pytester)
    pytest_args = ["-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider"]
    reports = {}
    for name, extra in (("serial", []), ("workers", ["--workers", "2"])):
        done = coverage_command(
            pytester, "run", "--parallel-mode", "--source=shapes", *pytest_args, *extra
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "testfleet: coverage" not in done.stdout
        assert coverage_command(pytester, "combine").returncode == 0
        assert coverage_command(pytester, "json", "-o", f"{name}.json").returncode == 0
        reports[name] = covered(pytester.path / f"{name}.json")

    assert reports["workers"] == reports["serial"]


def test_coverage_run_without_parallel_mode_is_named(pytester: pytest.Pytester) -> None:
    """`coverage run` without parallel mode gets a start-up line saying how to measure workers."""
    write_suite(pytester)

    done = coverage_command(
        pytester, "run", "--source=shapes", "-m", "pytest", "-p", "no:randomly", "--workers", "2"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "testfleet: coverage measured by `coverage run` without parallel mode" in done.stdout
