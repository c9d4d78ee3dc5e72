"""Acceptance tests of monitoring: each test's CPU and memory, the samples, fixture
timings and the run's line at the end, through real pytest sessions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from testfleet.history import SQLiteStore
from testfleet.model.history import FinishedRun, RunDetails

Run = Callable[..., pytest.RunResult]

SUITE = """
import time
import pytest

@pytest.fixture(scope="module")
def slow_resource():
    time.sleep(0.3)
    return 1

def test_allocates_300_mb(slow_resource):
    block = bytearray(300 << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    del block

def test_burns_cpu():
    began = time.process_time()
    while time.process_time() - began < 0.3:
        pass

@pytest.mark.parametrize("n", range(6))
def test_sleeps(n):
    time.sleep(0.2)
"""


def recorded(pytester: pytest.Pytester) -> FinishedRun:
    """The newest run of the pytester directory's history."""
    with SQLiteStore(pytester.path / ".testfleet" / "history.db") as store:
        run = store.runs(1)[0]
        assert run.run_id is not None
        results = tuple(store.results(run.run_id))
        return FinishedRun(run, results, store.details(run.run_id))


def test_each_test_records_its_cpu_and_peak_memory_and_the_run_its_samples(
    pytester: pytest.Pytester, run: Run
) -> None:
    """Under --workers each test's CPU seconds and peak RSS come from its worker; the
    controller samples every process and the machine; fixtures are timed."""
    pytester.makepyfile(test_monitored=SUITE)

    result = run("--workers=2", "--monitor-interval=0.1")

    assert result.ret == 0
    result.stdout.re_match_lines([r"testfleet: 2 workers, \d+ % busy, [\d.]+s, peak \d+ MB"])
    finished = recorded(pytester)
    by_name = {r.nodeid.split("::")[1]: r for r in finished.results}
    big = by_name["test_allocates_300_mb"]
    assert big.peak_rss is not None
    assert big.peak_rss >= 300 << 20
    assert by_name["test_sleeps[0]"].peak_rss is not None
    assert by_name["test_sleeps[0]"].peak_rss < 300 << 20  # its own peak, not its worker's
    burner = by_name["test_burns_cpu"]
    assert burner.cpu is not None
    assert burner.cpu >= 0.25
    assert by_name["test_sleeps[0]"].cpu is not None
    assert by_name["test_sleeps[0]"].cpu < 0.1
    assert finished.run.peak_rss is not None
    assert finished.run.peak_rss >= 300 << 20
    processes = {s.process for s in finished.details.workers}
    assert {"controller", "gw0", "gw1"} <= processes
    assert len(finished.details.machine) >= 3
    assert all(m.memory_total > 0 and m.disk_total > 0 for m in finished.details.machine)
    [slow] = [f for f in finished.details.fixtures if f.name == "slow_resource"]
    assert (slow.scope, slow.count) == ("module", 1)
    assert slow.seconds >= 0.3


def test_a_monitor_interval_of_0_turns_monitoring_off(pytester: pytest.Pytester, run: Run) -> None:
    """No samples, no per-test figures, no fixture timings: the run is recorded without."""
    pytester.makepyfile(test_monitored=SUITE)

    result = run("--workers=2", "--monitor-interval=0")

    assert result.ret == 0
    finished = recorded(pytester)
    assert finished.details == RunDetails()
    assert all(r.cpu is None and r.peak_rss is None for r in finished.results)
    assert finished.run.peak_rss is None
    result.stdout.re_match_lines([r"testfleet: 2 workers, \d+ % busy, [\d.]+s$"])


def test_a_run_in_process_measures_its_tests_too(pytester: pytest.Pytester, run: Run) -> None:
    """With --history and no workers, the tests' figures are measured in the process."""
    pytester.makepyfile(test_monitored=SUITE)

    result = run("--history=.testfleet/history.db")

    assert result.ret == 0
    assert "busy" not in result.stdout.str()  # the run's line is for runs on workers
    finished = recorded(pytester)
    big = next(r for r in finished.results if r.nodeid.endswith("test_allocates_300_mb"))
    assert big.peak_rss is not None
    assert big.peak_rss >= 300 << 20
    assert big.cpu is not None


@pytest.mark.parametrize("value", ["-1", "often"])
def test_a_bad_monitor_interval_is_a_usage_error(
    pytester: pytest.Pytester, run: Run, value: str
) -> None:
    pytester.makepyfile(test_a="def test_a():\n    pass\n")

    result = run("--workers=2", f"--monitor-interval={value}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--monitor-interval" in result.stderr.str()


def test_the_line_at_the_end_shows_the_planned_wall_once_the_history_knows_the_tests(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makepyfile(test_monitored=SUITE)
    run("--workers=2")

    result = run("--workers=2")

    result.stdout.re_match_lines([r"testfleet: 2 workers, .*s \(planned [\d.]+s\), peak"])
    assert recorded(pytester).run.planned is not None
