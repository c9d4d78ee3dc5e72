"""pytest-rerunfailures under --workers: reruns happen in the worker and are counted as serial."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("pytest_rerunfailures")

Run = Callable[..., pytest.RunResult]

#: A test that fails on its first attempt only, one that always fails, and
#: passing ones; every attempt is logged with the process and worker it ran in.
SUITE = """
    import os
    from pathlib import Path

    import pytest

    LOG = Path(__file__).parent / "attempts.log"


    def attempt(name):
        with LOG.open("a") as log:
            log.write(f"{name} {os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER', '-')}\\n")
        return sum(1 for line in LOG.read_text().splitlines() if line.startswith(name + " "))


    def test_flaky():
        assert attempt("flaky") > 1


    def test_broken():
        attempt("broken")
        assert False


    @pytest.mark.parametrize("n", range(6))
    def test_fine(n):
        attempt(f"fine{n}")
"""


def attempts(pytester: pytest.Pytester) -> list[tuple[str, int, str]]:
    """(test, pid, worker) of every attempt, then the log is removed for the next run."""
    log = pytester.path / "attempts.log"
    lines = [line.split() for line in log.read_text().splitlines()]
    log.unlink()
    return [(name, int(pid), worker) for name, pid, worker in lines]


def test_reruns_are_counted_as_in_a_serial_run(pytester: pytest.Pytester, run: Run) -> None:
    """--reruns under --workers 2 ends with the outcomes and rerun count of a serial run."""
    pytester.makepyfile(test_flaky=SUITE)

    serial = run("--reruns", "1")
    serial_attempts = attempts(pytester)
    workers = run("--reruns", "1", "--workers", "2")
    worker_attempts = attempts(pytester)

    expected = {"passed": 7, "failed": 1, "rerun": 2}
    assert serial.parseoutcomes() == workers.parseoutcomes() == expected
    workers.stdout.fnmatch_lines(["testfleet: 2 workers", "*1 failed, 7 passed, 2 rerun in *"])
    assert sorted(name for name, _, _ in worker_attempts) == sorted(
        name for name, _, _ in serial_attempts
    )
    # Each test's attempts ran in one worker process, not in the controller.
    for test in ("flaky", "broken"):
        runs = {(pid, worker) for name, pid, worker in worker_attempts if name == test}
        assert len(runs) == 1, runs
        ((_, worker),) = runs
        assert worker in {"gw0", "gw1"}


def test_flaky_marker_and_rerun_summary(pytester: pytest.Pytester, run: Run) -> None:
    """The flaky marker reruns in a worker and -rR lists the rerun as a serial run does."""
    pytester.makepyfile(
        test_marked="""
            from pathlib import Path

            import pytest

            MARK = Path(__file__).parent / "seen"


            @pytest.mark.flaky(reruns=2)
            def test_second_time_lucky():
                first = not MARK.exists()
                MARK.touch()
                assert not first


            def test_plain():
                pass
        """
    )

    result = run("-rR", "--workers", "2")

    assert result.parseoutcomes() == {"passed": 2, "rerun": 1}
    result.stdout.fnmatch_lines(
        ["*rerun test summary info*", "RERUN test_marked.py::test_second_time_lucky"]
    )
