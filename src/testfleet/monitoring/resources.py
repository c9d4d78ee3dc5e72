"""``ResourceMonitor``: CPU and memory of a run's processes and its machine over time.

The controller calls :meth:`ResourceMonitor.tick` from its event loop (it has
no threads: workers are forked from it), and the monitor takes a sample every
``interval`` seconds: each process's CPU use and resident memory, and the
machine's CPU, memory, disk and load.  The readings come from a
:class:`Probe`; :class:`PsutilProbe` reads them with psutil, imported only
when a run is monitored.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from testfleet.model.history import MachineSample, WorkerSample

if TYPE_CHECKING:
    from pathlib import Path

#: The name of the controller's own samples.
CONTROLLER = "controller"


class Probe(Protocol):
    """Reads processes and the machine."""

    def process(self, pid: int) -> tuple[float, int] | None:
        """CPU percent of one core since the last reading of ``pid``, and RSS in bytes;
        None when the process is gone."""

    def machine(self) -> tuple[float, int, int, int, int, float]:
        """CPU percent of all cores, memory used and total, disk used and total, load."""


class PsutilProbe:
    """A :class:`Probe` on psutil."""

    def __init__(self, disk: Path) -> None:
        self._disk = str(disk)
        self._processes: dict[int, Any] = {}
        self._loaded: Any = None

    @property
    def _psutil(self) -> Any:
        # Imported at the first sample, which the loop takes once the workers
        # run, rather than before they start: the import takes ~30 ms.
        if self._loaded is None:
            import psutil

            self._loaded = psutil
            psutil.cpu_percent(None)  # the first reading starts the interval
        return self._loaded

    def process(self, pid: int) -> tuple[float, int] | None:
        psutil = self._psutil
        try:
            handle = self._processes.get(pid)
            if handle is None:
                handle = self._processes[pid] = psutil.Process(pid)
                handle.cpu_percent(None)
            with handle.oneshot():
                return float(handle.cpu_percent(None)), int(handle.memory_info().rss)
        except psutil.Error:
            self._processes.pop(pid, None)
            return None

    def machine(self) -> tuple[float, int, int, int, int, float]:
        psutil = self._psutil
        memory = psutil.virtual_memory()
        try:
            disk = psutil.disk_usage(self._disk)
            disk_used, disk_total = int(disk.used), int(disk.total)
        except OSError:
            disk_used = disk_total = 0
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        return (
            float(psutil.cpu_percent(None)),
            int(memory.total - memory.available),
            int(memory.total),
            disk_used,
            disk_total,
            float(load),
        )


class ResourceMonitor:
    """Samples a run's processes and machine every ``interval`` seconds."""

    def __init__(
        self,
        interval: float,
        *,
        processes: Callable[[], Mapping[str, int]],
        probe: Probe,
        clock: Callable[[], float],
    ) -> None:
        """``processes`` gives the pids to read now, by name (workers and the controller)."""
        self._interval = interval
        self._processes = processes
        self._probe = probe
        self._clock = clock
        self._started = clock()
        self._next = self._started
        self.workers: list[WorkerSample] = []
        self.machine: list[MachineSample] = []
        #: The most RSS the processes held together in one sample, in bytes.
        self.peak_rss = 0

    def next_deadline(self) -> float:
        """The clock reading at which the next sample is due."""
        return self._next

    def tick(self, now: float) -> None:
        """Take a sample if one is due."""
        if now < self._next:
            return
        # The next one is due an interval after this one was due; after a
        # loop that slept long, an interval from now: one sample, not a burst.
        self._next += self._interval
        if self._next <= now:
            self._next = now + self._interval
        self.sample(now)

    def sample(self, now: float) -> None:
        """Read every process and the machine now."""
        at = round(now - self._started, 3)
        total = 0
        for name, pid in self._processes().items():
            reading = self._probe.process(pid)
            if reading is None:
                continue
            cpu, rss = reading
            total += rss
            self.workers.append(WorkerSample(at, name, round(cpu, 1), rss))
        self.peak_rss = max(self.peak_rss, total)
        cpu, used, memory, disk_used, disk, load = self._probe.machine()
        self.machine.append(
            MachineSample(at, round(cpu, 1), used, memory, disk_used, disk, round(load, 2))
        )
