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


def is_pytest(pid: int) -> bool:
    """Whether process ``pid`` is still a pytest (and not a process that reused the pid)."""
    try:
        return b"pytest" in Path(f"/proc/{pid}/cmdline").read_bytes()
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


@contextlib.contextmanager
def interrupted_run(pytester: pytest.Pytester) -> Iterator[tuple[int, str, list[int]]]:
    """Start ``pytest --workers 2`` on two modules of sleepers and Ctrl-C it once both sleep.

    Yields its exit code, its output and the pids of its workers; kills any
    worker left over afterwards, so a failure leaks no process.
    """
    pytester.makepyfile(test_a=SLEEPERS, test_b=SLEEPERS)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += ["--workers", "2", f"--basetemp={pytester.path / 'basetemp'}"]
    process = subprocess.Popen(
        command,
        cwd=pytester.path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def worker_pids() -> list[int]:
        return [int(p.name.removeprefix("pid-")) for p in pytester.path.glob("pid-*")]

    try:
        assert wait_for(lambda: len(worker_pids()) == 2, 20), "the workers never started"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
        yield process.returncode, output, worker_pids()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for pid in worker_pids():
            if is_pytest(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


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
