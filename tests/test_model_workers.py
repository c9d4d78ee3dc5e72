"""Unit tests of worker names and exit descriptions."""

from __future__ import annotations

import os
import signal

import pytest

from testfleet.model import WorkerExit, worker_name


def test_names_follow_xdist() -> None:
    """Workers are named as pytest-xdist names them."""
    assert [worker_name(n) for n in range(3)] == ["gw0", "gw1", "gw2"]


@pytest.mark.parametrize(
    ("exit", "text", "clean"),
    [
        (WorkerExit(signal=9), "signal 9, SIGKILL", False),
        (WorkerExit(signal=11), "signal 11, SIGSEGV", False),
        (WorkerExit(signal=99), "signal 99", False),
        (WorkerExit(code=3), "exit code 3", False),
        (WorkerExit(code=0), "exit code 0", True),
    ],
)
def test_describe(exit: WorkerExit, text: str, clean: bool) -> None:
    """An exit is described as a signal with its name, or an exit code."""
    assert exit.describe() == text
    assert exit.clean is clean


def test_from_wait_status_of_real_processes() -> None:
    """Statuses from waitpid decode to the code or signal the child ended with."""
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    assert WorkerExit.from_wait_status(os.waitpid(pid, 0)[1]) == WorkerExit(code=7)
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    assert WorkerExit.from_wait_status(os.waitpid(pid, 0)[1]) == WorkerExit(signal=9)
