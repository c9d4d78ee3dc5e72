"""A worker that dies under a test costs that test only; --test-timeout kills hung tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: Logs the node id of every test that starts, so a test that ran twice (a retry)
#: or never shows.
CONFTEST = """
    from pathlib import Path

    import pytest

    LOG = Path(__file__).parent / "started.log"

    @pytest.fixture(autouse=True)
    def log_start(request):
        with LOG.open("a") as f:
            f.write(request.node.nodeid + "\\n")
"""

CRASHES = {
    "kill": (
        "import os, signal\n\ndef test_crash():\n    os.kill(os.getpid(), signal.SIGKILL)\n",
        "(signal 9, SIGKILL)",
    ),
    "exit": ("import os\n\ndef test_crash():\n    os._exit(3)\n", "(exit code 3)"),
}

PASSES = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_{name}(n):
    pass
"""


def passes(count: int, name: str) -> str:
    """Source of ``count`` passing tests named ``test_<name>[n]`` (none for 0)."""
    return PASSES.format(count=count, name=name) if count else ""


def started(pytester: pytest.Pytester) -> Counter[str]:
    """How many times each test started."""
    return Counter((pytester.path / "started.log").read_text().splitlines())


def make_crash_suite(pytester: pytest.Pytester, kind: str, before: int, after: int) -> int:
    """test_a: ``before`` tests, the crashing test, ``after`` tests; test_b: 8 tests.

    Returns the number of tests that should pass.
    """
    crash, _ = CRASHES[kind]
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_a=passes(before, "before") + crash + passes(after, "after"),
        test_b=passes(8, "other"),
    )
    return before + after + 8


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    [("kill", 5, 5), ("exit", 5, 5), ("kill", 0, 1), ("exit", 1, 0)],
    ids=["kill-middle", "exit-middle", "kill-second-last", "exit-last"],
)
def test_crash_fails_only_that_test(
    pytester: pytest.Pytester, run: Run, kind: str, before: int, after: int
) -> None:
    """A worker dying in a test fails that test with the cause; all others run once and pass."""
    passing = make_crash_suite(pytester, kind, before, after)

    result = run("-rA", "--workers", "2")

    _, cause = CRASHES[kind]
    result.stdout.fnmatch_lines(
        [f"*worker gw* crashed while running test_a.py::test_crash {cause}*"]
    )
    result.assert_outcomes(failed=1, passed=passing)
    result.stdout.fnmatch_lines(["FAILED test_a.py::test_crash*"])
    runs = started(pytester)
    assert runs["test_a.py::test_crash"] == 1  # not retried
    assert len(runs) == passing + 1
    assert set(runs.values()) == {1}  # no test ran twice, none was lost
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_crash_recorded_in_junitxml(pytester: pytest.Pytester, run: Run) -> None:
    """The junit XML of a run with a crash has the crashed test as a failure with the cause."""
    passing = make_crash_suite(pytester, "kill", before=2, after=2)

    run("--junitxml=out.xml", "--workers", "2")

    cases = {
        case.get("name"): case.find("failure")
        for case in ET.parse(pytester.path / "out.xml").getroot().iter("testcase")
    }
    assert len(cases) == passing + 1
    failure = cases.pop("test_crash")
    assert failure is not None
    assert "crashed while running test_a.py::test_crash (signal 9, SIGKILL)" in (
        failure.get("message", "") + (failure.text or "")
    )
    assert all(verdict is None for verdict in cases.values())


def test_two_crashes_in_one_run(pytester: pytest.Pytester, run: Run) -> None:
    """Two tests that kill their workers fail, each with its own cause, and the rest pass."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_a=passes(3, "before") + CRASHES["kill"][0],
        test_b=CRASHES["exit"][0] + passes(3, "after"),
        test_c=passes(6, "other"),
    )

    result = run("--workers", "2")

    result.assert_outcomes(failed=2, passed=12)
    result.stdout.fnmatch_lines(
        ["*worker gw* crashed while running test_a.py::test_crash (signal 9, SIGKILL)*"]
    )
    result.stdout.fnmatch_lines(
        ["*worker gw* crashed while running test_b.py::test_crash (exit code 3)*"]
    )
    assert set(started(pytester).values()) == {1}
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_restart_limit_zero_stops_after_a_crash(pytester: pytest.Pytester, run: Run) -> None:
    """With --worker-restart-limit 0 a crash ends the run: interrupted (2), results kept."""
    make_crash_suite(pytester, "kill", before=1, after=10)

    result = run("--worker-restart-limit", "0", "--workers", "2")

    result.stdout.fnmatch_lines(
        [
            "*worker gw* crashed while running test_a.py::test_crash (signal 9, SIGKILL)*",
        ]
    )
    result.stdout.fnmatch_lines(["*--worker-restart-limit*"])
    result.stdout.fnmatch_lines(["*! Interrupted: *--worker-restart-limit* !*"])
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert 1 <= outcomes["passed"] < 19  # what ran before the stop is reported
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_restart_limit_allows_that_many_replacements(pytester: pytest.Pytester, run: Run) -> None:
    """With --worker-restart-limit 2, two crashes are survived and the run completes."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_a=CRASHES["kill"][0] + passes(4, "after"),
        test_b=CRASHES["exit"][0] + passes(4, "after"),
    )

    result = run("--worker-restart-limit", "2", "--workers", "2")

    result.assert_outcomes(failed=2, passed=8)
    result.stdout.no_fnmatch_line("*Interrupted*")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_test_timeout_fails_a_hung_test(pytester: pytest.Pytester, run: Run) -> None:
    """--test-timeout fails a test that runs too long and kills its worker; the rest runs."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_a=passes(3, "before")
        + "import time\n\ndef test_hangs():\n    time.sleep(30)\n"
        + passes(3, "after"),
        test_b=passes(6, "other"),
    )

    # The 25 s limit only turns a broken timeout into a failure instead of a hang.
    result = run("--test-timeout", "1", "--workers", "2", timeout=25)

    result.assert_outcomes(failed=1, passed=12)
    result.stdout.fnmatch_lines(["*Timeout*test_a.py::test_hangs*--test-timeout*"])
    result.stdout.fnmatch_lines(["FAILED test_a.py::test_hangs*"])
    assert set(started(pytester).values()) == {1}
    assert result.ret == pytest.ExitCode.TESTS_FAILED
