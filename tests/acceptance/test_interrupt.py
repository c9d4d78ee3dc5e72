"""Ctrl-C on a --workers run ends it as pytest would, and leaves no worker behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

#: Each test records where it runs and its process id, then sleeps far longer than the test waits.
SLEEPERS = """
    import os
    import time
    from pathlib import Path

    import pytest

    HERE = Path(__file__).parent

    @pytest.fixture(scope="module")
    def module_resource(request, worker_id):
        yield
        (HERE / f"teardown-{request.module.__name__}-{worker_id}").touch()

    @pytest.mark.parametrize("n", range(3))
    def test_sleep(n, module_resource, request, worker_id):
        (HERE / f"running-{request.module.__name__}-{worker_id}").touch()
        (HERE / f"pid-{os.getpid()}").touch()
        time.sleep(30)
"""


def is_python(pid: int) -> bool:
    """Whether process ``pid`` is still a Python (and not a process that reused the pid)."""
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie counts: nobody reaped it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition()`` until it is true or ``seconds`` have passed; its last value."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pids(directory: Path, prefix: str) -> list[int]:
    """The pids the suite recorded as files ``<prefix>-<pid>``."""
    return [int(p.name.removeprefix(f"{prefix}-")) for p in directory.glob(f"{prefix}-*")]


@contextlib.contextmanager
def started_run(pytester: pytest.Pytester, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``pytest --workers 2`` on two modules of the suite, started once both workers sleep.

    Kills, afterwards, every process the run recorded, so a failure leaks none.
    """
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += ["--workers", "2", f"--basetemp={pytester.path / 'basetemp'}", *args]
    process = subprocess.Popen(
        command,
        cwd=pytester.path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for(lambda: len(pids(pytester.path, "pid")) == 2, 30), "no workers"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for pid in pids(pytester.path, "pid") + pids(pytester.path, "child"):
            if is_python(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def interrupted_run(pytester: pytest.Pytester) -> Iterator[tuple[int, str, list[int]]]:
    """Start ``pytest --workers 2`` on two modules of sleepers and Ctrl-C it once both sleep.

    Yields its exit code, its output and the pids of its workers.
    """
    pytester.makepyfile(test_a=SLEEPERS, test_b=SLEEPERS)
    with started_run(pytester) as process:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
        yield process.returncode, output, pids(pytester.path, "pid")


def test_ctrl_c_interrupts_and_leaves_no_worker(pytester: pytest.Pytester) -> None:
    """SIGINT to pytest ends the run with exit code 2 and 'KeyboardInterrupt'; no worker is left."""
    with interrupted_run(pytester) as (returncode, output, pids):
        assert returncode == pytest.ExitCode.INTERRUPTED, output
        assert "KeyboardInterrupt" in output
        assert len(pids) == 2
        assert os.getpid() not in pids
        assert wait_for(lambda: not any(alive(pid) for pid in pids), 10), "a worker is left"


def test_ctrl_c_tears_worker_fixtures_down(pytester: pytest.Pytester) -> None:
    """After SIGINT each worker tears down the module fixture of the test it was running."""
    with interrupted_run(pytester) as (returncode, output, _):
        assert returncode == pytest.ExitCode.INTERRUPTED, output
        running = {p.name.removeprefix("running-") for p in pytester.path.glob("running-*")}
        torn_down = {p.name.removeprefix("teardown-") for p in pytester.path.glob("teardown-*")}
        assert len(running) == 2
        assert torn_down == running, output
