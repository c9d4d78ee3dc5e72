"""ResourceMonitor with an injected clock and probe: when it samples and what it keeps."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from testfleet.model.history import MachineSample, WorkerSample
from testfleet.monitoring.resources import ResourceMonitor


class FakeProbe:
    """Readings by pid; a pid missing from ``rss`` is a process that is gone."""

    def __init__(self, rss: Mapping[int, int]) -> None:
        self.rss = dict(rss)
        self.reads: list[int] = []

    def process(self, pid: int) -> tuple[float, int] | None:
        self.reads.append(pid)
        return (12.34, self.rss[pid]) if pid in self.rss else None

    def machine(self) -> tuple[float, int, int, int, int, float]:
        return (50.06, 1, 2, 3, 4, 0.123)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def monitor(
    probe: FakeProbe, processes: Mapping[str, int], clock: Clock, interval: float = 0.5
) -> ResourceMonitor:
    return ResourceMonitor(interval, processes=lambda: processes, probe=probe, clock=clock)


def test_samples_every_interval_from_the_start_of_the_run() -> None:
    clock, probe = Clock(), FakeProbe({1: 100, 2: 200})
    watcher = monitor(probe, {"controller": 1, "gw0": 2}, clock)

    for step in range(11):  # 0.0, 0.1, ..., 1.0 s
        clock.now = 100.0 + step / 10
        watcher.tick(clock.now)

    assert [s.at for s in watcher.machine] == [0.0, 0.5, 1.0]
    assert watcher.workers[:2] == [
        WorkerSample(0.0, "controller", 12.3, 100),
        WorkerSample(0.0, "gw0", 12.3, 200),
    ]
    assert watcher.machine[0] == MachineSample(0.0, 50.1, 1, 2, 3, 4, 0.12)
    assert watcher.next_deadline() == 101.5


def test_a_late_tick_takes_one_sample_not_a_burst() -> None:
    clock, probe = Clock(), FakeProbe({1: 100})
    watcher = monitor(probe, {"gw0": 1}, clock)
    watcher.tick(100.0)

    watcher.tick(103.2)  # the loop slept through six intervals

    assert len(watcher.machine) == 2
    assert watcher.next_deadline() == 103.7


def test_a_process_that_is_gone_is_left_out_and_the_peak_is_the_sum_at_once() -> None:
    clock, probe = Clock(), FakeProbe({1: 100, 2: 300})
    processes = {"controller": 1, "gw0": 2, "gw1": 3}
    watcher = monitor(probe, processes, clock)
    watcher.tick(100.0)
    probe.rss = {1: 150, 3: 50}
    watcher.tick(100.5)

    assert {s.process for s in watcher.workers if s.at == 0.5} == {"controller", "gw1"}
    assert watcher.peak_rss == 400  # 100 + 300, more than 150 + 50 later


@given(
    steps=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=60),
    interval=st.floats(min_value=0.05, max_value=1.0),
)
def test_samples_come_no_faster_than_the_interval(steps: list[float], interval: float) -> None:
    """However the loop's ticks fall, there is no burst: at most one sample per interval
    of the time covered, and one more (a late sample keeps the grid of the ones before)."""
    clock, probe = Clock(), FakeProbe({1: 1})
    watcher = monitor(probe, {"gw0": 1}, clock, interval)
    for step in steps:
        clock.now += step
        watcher.tick(clock.now)
    times = [s.at for s in watcher.machine]
    assert times == sorted(times)
    assert len(times) <= (times[-1] - times[0] + 0.002) / interval + 2
    assert all(b - a > interval / 2 for a, b in zip(times, times[2:], strict=False))
    assert len(watcher.workers) == len(watcher.machine)
