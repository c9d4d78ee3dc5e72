"""How workers are named and how they ended."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass


def worker_name(number: int) -> str:
    """The name pytest-xdist would give worker ``number``: ``gw0``, ``gw1``, ..."""
    return f"gw{number}"


@dataclass(frozen=True)
class WorkerExit:
    """How a worker process ended: an exit code, or the signal that killed it."""

    #: The exit code, when the process exited by itself.
    code: int | None = None
    #: The signal number, when a signal killed the process.
    signal: int | None = None

    @classmethod
    def from_wait_status(cls, status: int) -> WorkerExit:
        """Decode the status ``os.waitpid`` returned."""
        if os.WIFSIGNALED(status):
            return cls(signal=os.WTERMSIG(status))
        return cls(code=os.WEXITSTATUS(status))

    @property
    def clean(self) -> bool:
        """Whether the process exited with code 0."""
        return self.code == 0

    def describe(self) -> str:
        """``signal 9, SIGKILL`` or ``exit code 3``, for messages."""
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                return f"signal {self.signal}"
            return f"signal {self.signal}, {name}"
        return f"exit code {self.code}"
