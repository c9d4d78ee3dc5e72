"""-x and --maxfail stop a --workers run as they stop a serial one; fixtures are still torn down."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: Logs each test's worker, and each module fixture teardown, as marker files.
#: Each test takes a moment, in its call or in its teardown (``SLOW_PHASE``), so
#: a stop reaches the workers long before they run out of tests.
CONFTEST = """
    import time
    from pathlib import Path

    import pytest

    HERE = Path(__file__).parent
    SLOW_PHASE = "{slow_phase}"

    @pytest.fixture(scope="module", autouse=True)
    def module_resource(request, worker_id):
        yield
        (HERE / f"teardown-{{request.module.__name__}}-{{worker_id}}").touch()

    @pytest.fixture(autouse=True)
    def record_test(request, worker_id):
        (HERE / "ran").mkdir(exist_ok=True)
        (HERE / "ran" / f"{{request.module.__name__}}-{{worker_id}}").touch()
        if SLOW_PHASE == "call":
            time.sleep(0.05)
        yield
        if SLOW_PHASE == "teardown":
            time.sleep(0.05)
"""

FAILING = "def test_fails():\n    assert False\n"

PASSES = """
import pytest

@pytest.mark.parametrize("n", range(20))
def test_pass(n):
    pass
"""


def make_suite(pytester: pytest.Pytester, slow_phase: str, failures: int = 1) -> None:
    """Module test_a starts with ``failures`` failing tests; it and test_b have 20 passing ones."""
    pytester.makeconftest(CONFTEST.format(slow_phase=slow_phase))
    failing = "".join(FAILING.replace("fails", f"fails_{n}") for n in range(failures))
    pytester.makepyfile(test_a=failing + PASSES, test_b=PASSES)


def ran_modules(pytester: pytest.Pytester) -> set[str]:
    """'<module>-<worker>' for every module a worker ran tests of."""
    return {path.name for path in (pytester.path / "ran").iterdir()}


def torn_down_modules(pytester: pytest.Pytester) -> set[str]:
    """'<module>-<worker>' for every module fixture a worker tore down."""
    return {path.name.removeprefix("teardown-") for path in pytester.path.glob("teardown-*")}


def test_exitfirst_stops_with_exit_code_1(pytester: pytest.Pytester, run: Run) -> None:
    """-x stops the run after the first failure: exit code 1 and pytest's 'stopping after' line."""
    make_suite(pytester, slow_phase="call")

    result = run("-x", "--workers", "2")

    result.stdout.fnmatch_lines(["testfleet: 2 workers", "*! stopping after * failures !*"])
    result.stdout.no_fnmatch_line("*Interrupted*")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert outcomes.get("passed", 0) < 20  # the workers stopped long before the end
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_exitfirst_tears_fixtures_down_in_every_worker(pytester: pytest.Pytester, run: Run) -> None:
    """When -x stops the run, every worker tears down the module fixtures of the tests it ran."""
    make_suite(pytester, slow_phase="teardown")

    result = run("-x", "--workers", "2")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert {name.rsplit("-", 1)[1] for name in ran_modules(pytester)} == {"gw0", "gw1"}
    assert torn_down_modules(pytester) == ran_modules(pytester)


def test_exitfirst_reports_no_spurious_errors(pytester: pytest.Pytester, run: Run) -> None:
    """Stopping the workers adds no error to the tests they ran, and counts one failure."""
    make_suite(pytester, slow_phase="teardown")

    # Without pytest-benchmark, whose report hook turned such a fault into a worker crash.
    result = run("-x", "--workers", "2", "-p", "no:benchmark")

    result.stdout.fnmatch_lines(["*! stopping after 1 failures !*"])
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert "errors" not in outcomes
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_maxfail_stops_after_that_many_failures(pytester: pytest.Pytester, run: Run) -> None:
    """--maxfail=2 stops the run once two tests failed, with exit code 1."""
    make_suite(pytester, slow_phase="call", failures=3)

    result = run("--maxfail=2", "--workers", "2")

    result.stdout.fnmatch_lines(["*! stopping after * failures !*"])
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 2
    assert outcomes.get("passed", 0) < 20
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_maxfail_not_reached_runs_everything(pytester: pytest.Pytester, run: Run) -> None:
    """--maxfail=2 with a single failure runs the whole suite."""
    pytester.makepyfile(
        test_a=FAILING + "".join(f"def test_{n}():\n    pass\n" for n in range(8)),
    )

    result = run("--maxfail=2", "--workers", "2")

    result.assert_outcomes(failed=1, passed=8)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


EXITING = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_before(n):
    pass

def test_ends_session():
    {statement}

@pytest.mark.parametrize("n", range(6))
def test_after(n):
    pass
"""


def test_pytest_exit_in_a_test_ends_the_run(pytester: pytest.Pytester, run: Run) -> None:
    """pytest.exit() in a test ends the whole run with its message and exit code, as serially."""
    pytester.makepyfile(
        test_a=EXITING.format(statement='pytest.exit("leaving-now")'),
        test_b=PASSES,
    )

    serial = run()
    result = run("--workers", "2")

    assert serial.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*! _pytest.outcomes.Exit: leaving-now !*"])
    result.stdout.no_fnmatch_line("*crashed while running*")
    result.stdout.no_fnmatch_line("*internal error*")
    assert result.parseoutcomes().get("passed", 0) < 29
    assert result.ret == serial.ret


def test_keyboard_interrupt_in_a_test_ends_the_run(pytester: pytest.Pytester, run: Run) -> None:
    """A test raising KeyboardInterrupt interrupts the whole run (exit code 2), as serially."""
    pytester.makepyfile(
        test_a=EXITING.format(statement="raise KeyboardInterrupt"),
        test_b=PASSES,
    )

    serial = run()
    result = run("--workers", "2")

    assert serial.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*! KeyboardInterrupt !*"])
    result.stdout.no_fnmatch_line("*crashed while running*")
    assert result.ret == serial.ret


SLOW_FAILURES = """
import time

import pytest

@pytest.mark.parametrize("n", range(3))
def test_fails_slowly(n):
    time.sleep(0.5)
    assert False
"""


def test_exitfirst_names_the_failure_that_stopped_it(pytester: pytest.Pytester, run: Run) -> None:
    """-x says 'stopping after 1 failures' even when other workers fail while they stop
    (each may finish the test it had begun, and that result is reported: it ran)."""
    pytester.makepyfile(test_a=SLOW_FAILURES, test_b=SLOW_FAILURES)

    serial = run("-x")
    result = run("-x", "--workers", "2", "--no-history")

    serial.stdout.fnmatch_lines(["*! stopping after 1 failures !*"])
    result.stdout.fnmatch_lines(["*! stopping after 1 failures !*"])
    assert result.parseoutcomes()["failed"] < 6
    assert result.ret == serial.ret == pytest.ExitCode.TESTS_FAILED


CRASH_WHILE_STOPPING = """
import os
import signal
import time
from pathlib import Path

HERE = Path(__file__).parent

def test_{name}():
    {body}

def test_pass_{name}():
    pass

def test_pass_again_{name}():
    pass
"""


def test_a_crash_while_the_run_stops_is_reported(pytester: pytest.Pytester, run: Run) -> None:
    """A worker that dies under its test while -x stops the run has that test reported
    as crashed, not dropped."""
    pytester.makepyfile(
        test_a=CRASH_WHILE_STOPPING.format(
            name="fails_once_b_runs",
            body="while not (HERE / 'b-running').exists(): time.sleep(0.01)\n    assert False",
        ),
        test_b=CRASH_WHILE_STOPPING.format(
            name="crashes",
            body="(HERE / 'b-running').touch()\n    time.sleep(2)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)",
        ),
    )

    result = run("-x", "--workers", "2", "--no-history")

    result.stdout.fnmatch_lines(
        ["*worker gw* crashed while running test_b.py::test_crashes (signal 9, SIGKILL)*"]
    )
    result.stdout.fnmatch_lines(["*! stopping after 1 failures !*"])
    assert result.parseoutcomes()["failed"] == 2
    assert result.ret == pytest.ExitCode.TESTS_FAILED
