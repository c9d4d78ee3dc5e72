"""pytest-timeout under --workers: per-test timeouts fire in the worker running the test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("pytest_timeout")

Run = Callable[..., pytest.RunResult]

SUITE = """
    import time

    import pytest


    def test_sleeps_past_the_timeout():
        time.sleep(60)


    @pytest.mark.parametrize("n", range(4))
    def test_quick(n):
        time.sleep(0.1)


    @pytest.mark.timeout(0.5)
    def test_marked():
        time.sleep(60)
"""


def test_timeout_fails_the_slow_test_and_passes_the_others(
    pytester: pytest.Pytester, run: Run
) -> None:
    """--timeout fails a test that sleeps past it with pytest-timeout's message; others pass."""
    pytester.makepyfile(test_slow=SUITE)

    result = run("--timeout=2", "--workers", "2")

    result.assert_outcomes(passed=4, failed=2)
    # The summary lists failures in the order they ended, which workers decide.
    for line in (
        "testfleet: 2 workers",
        "FAILED test_slow.py::test_sleeps_past_the_timeout - Failed: Timeout (>2.0s)*",
        "FAILED test_slow.py::test_marked - Failed: Timeout (>0.5s)*",
        "E       Failed: Timeout (>2.0s) from pytest-timeout.",
    ):
        result.stdout.fnmatch_lines([line])


def test_thread_method_loses_only_its_worker(pytester: pytest.Pytester, run: Run) -> None:
    """With --timeout-method=thread the timed-out test's worker exits; the run goes on."""
    pytester.makepyfile(test_slow=SUITE)

    result = run("--timeout=2", "--timeout-method=thread", "--workers", "2")

    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        ["FAILED test_slow.py::test_sleeps_past_the_timeout - worker gw* crashed*"]
    )


SLOW_SUITE = """
    import time

    import pytest

    @pytest.mark.parametrize("n", range(20))
    def test_slow(n):
        time.sleep(0.5)
"""


def test_session_timeout_stops_the_whole_run(pytester: pytest.Pytester, run: Run) -> None:
    """--session-timeout, checked in the worker that passes it, stops every worker, with
    pytest-timeout's message and exit code, as in a serial run."""
    pytester.makepyfile(test_a=SLOW_SUITE, test_b=SLOW_SUITE)

    serial = run("--session-timeout=1")
    result = run("--session-timeout=1", "--workers", "2", "--no-history")

    for outcome in (serial, result):
        outcome.stdout.fnmatch_lines(["*! session-timeout: 1.0 sec exceeded !*"])
        assert outcome.parseoutcomes()["passed"] < 20
    assert result.ret == serial.ret
