"""What one test costs the process that runs it: CPU seconds and peak memory.

A :class:`UsageMeter` is read at the start and the end of every test, in the
process that runs it, so it must cost next to nothing (a few system calls): a
``getrusage`` at each end, and, on Linux, one write at the start that resets
the kernel's high-water mark of the process's resident memory
(``/proc/self/clear_refs``, value 5), so that the mark read at the end is the
peak *of this test*, not of the process's life.
Where that file cannot be written, the peak is known only when the test set a
new high for the process; otherwise it is left unknown (None).
"""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass, field

#: ``ru_maxrss`` is in kibibytes on Linux, in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


def _reset_file() -> int | None:
    try:
        return os.open("/proc/self/clear_refs", os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return None


class UsageMeter:
    """Measures the tests of the process that created it, one at a time."""

    def __init__(self) -> None:
        #: The process that opened ``_reset``, the file that resets the peak.
        self._pid = 0
        self._reset: int | None = None
        self._cpu = 0.0
        self._maxrss = 0

    def start(self) -> None:
        """A test begins."""
        if os.getpid() != self._pid:
            # First use, or a worker forked from the process that made it: the
            # file opened as /proc/self belongs to the process that opened it.
            self._pid = os.getpid()
            self._reset = _reset_file()
        if self._reset is not None:
            try:
                os.write(self._reset, b"5")
            except OSError:
                os.close(self._reset)
                self._reset = None
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu = usage.ru_utime + usage.ru_stime
        # Without the reset, the peak is known only when the test raised the process's own.
        self._maxrss = 0 if self._reset is not None else usage.ru_maxrss

    def stop(self) -> tuple[float, int | None]:
        """The test ended: its CPU seconds (user and system) and peak RSS in bytes."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = max(0.0, usage.ru_utime + usage.ru_stime - self._cpu)
        if self._reset is not None or usage.ru_maxrss > self._maxrss:
            return cpu, usage.ru_maxrss * _MAXRSS_UNIT
        return cpu, None


@dataclass
class FixtureTally:
    """The set-ups of each fixture in one process: how many, and how long."""

    #: (name, scope) -> [count, seconds, slowest]
    figures: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, name: str, scope: str, seconds: float) -> None:
        """One set-up of fixture ``name`` took ``seconds``."""
        entry = self.figures.get((name, scope))
        if entry is None:
            self.figures[(name, scope)] = [1, seconds, seconds]
        else:
            entry[0] += 1
            entry[1] += seconds
            entry[2] = max(entry[2], seconds)

    def merge(self, rows: list[list[object]]) -> None:
        """Add another process's tally, as :meth:`rows` gave it (malformed rows are dropped)."""
        for row in rows:
            try:
                name, scope, count, seconds, slowest = row
                count, seconds, slowest = int(str(count)), float(str(seconds)), float(str(slowest))
            except (TypeError, ValueError):
                continue
            entry = self.figures.setdefault((str(name), str(scope)), [0, 0.0, 0.0])
            entry[0] += count
            entry[1] += seconds
            entry[2] = max(entry[2], slowest)

    def rows(self) -> list[list[object]]:
        """The tally as plain data: ``[name, scope, count, seconds, slowest]`` each."""
        return [[n, s, int(c), t, m] for (n, s), (c, t, m) in self.figures.items()]
