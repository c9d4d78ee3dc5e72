"""testfleet's command-line options: validation, and the runs they choose."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: Tests that fail unless they run in the pytest process itself.
IN_PROCESS = """
    import os

    import pytest

    @pytest.mark.parametrize("n", range(4))
    def test_in_process(n, worker_id, request):
        assert worker_id == "master"
        assert not hasattr(request.config, "workerinput")
        assert "PYTEST_XDIST_WORKER" not in os.environ
"""


def cpus() -> int:
    """The CPUs this process (and so the pytest it starts) may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--workers", "-1"),
        ("--workers", "lots"),
        ("--test-timeout", "0"),
        ("--test-timeout", "soon"),
        ("--worker-restart-limit", "x"),
    ],
)
def test_bad_option_values_are_usage_errors(
    pytester: pytest.Pytester, run: Run, option: str, value: str
) -> None:
    """An invalid value is a usage error (exit code 4) that names the option."""
    pytester.makepyfile(test_x="def test_x(): pass\n")

    result = run(option, value)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*error: argument {option}*"])


def test_collect_only_starts_no_workers(pytester: pytest.Pytester, run: Run) -> None:
    """--collect-only with --workers 2 lists the tests, runs none and starts no workers."""
    pytester.makepyfile(
        test_x="""
            from pathlib import Path

            import pytest

            @pytest.mark.parametrize("n", range(4))
            def test_x(n):
                (Path(__file__).parent / f"ran-{n}").touch()
        """
    )

    result = run("--collect-only", "--workers", "2")

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*<Function test_x[[]0[]]>*", "*4 tests collected*"])
    result.stdout.no_fnmatch_line("testfleet: *")
    assert not list(pytester.path.glob("ran-*"))


@pytest.mark.parametrize("workers", ["0", "1"])
def test_zero_or_one_worker_runs_in_process(
    pytester: pytest.Pytester, run: Run, workers: str
) -> None:
    """--workers 0 and --workers 1 run the tests in the pytest process."""
    pytester.makepyfile(test_x=IN_PROCESS)

    result = run("--workers", workers)

    result.assert_outcomes(passed=4)
    result.stdout.no_fnmatch_line("testfleet: *")


def test_never_more_workers_than_tests(pytester: pytest.Pytester, run: Run) -> None:
    """--workers 8 with two tests starts two workers."""
    pytester.makepyfile(
        test_x="def test_a(worker_id): assert worker_id.startswith('gw')\n"
        "def test_b(worker_id): assert worker_id.startswith('gw')\n"
    )

    result = run("--workers", "8")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["testfleet: 2 workers"])


def test_one_test_runs_in_process(pytester: pytest.Pytester, run: Run) -> None:
    """--workers 2 with a single test runs it in the pytest process."""
    pytester.makepyfile(test_x="def test_only(worker_id): assert worker_id == 'master'\n")

    result = run("--workers", "2")

    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("testfleet: *")


def test_workers_auto_uses_one_per_cpu(pytester: pytest.Pytester, run: Run) -> None:
    """--workers auto starts one worker per usable CPU (never more than there are tests)."""
    pytester.makepyfile(
        test_x="""
            import pytest

            @pytest.mark.parametrize("n", range(12))
            def test_x(n):
                pass
        """
    )

    result = run("--workers", "auto")

    result.assert_outcomes(passed=12)
    expected = min(cpus(), 12)
    if expected > 1:
        result.stdout.fnmatch_lines([f"testfleet: {expected} workers"])
    else:
        result.stdout.no_fnmatch_line("testfleet: *")


def test_pdb_runs_in_process(pytester: pytest.Pytester, run: Run) -> None:
    """--pdb with --workers 2 says so in the header and runs the tests in the pytest process."""
    pytester.makepyfile(test_x=IN_PROCESS)

    result = run("--pdb", "--workers", "2")

    result.stdout.fnmatch_lines(["testfleet: *--pdb*"])
    result.stdout.no_fnmatch_line("testfleet: * workers")
    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.OK
