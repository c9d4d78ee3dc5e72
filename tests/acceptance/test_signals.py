"""The faults a CI runner sees: SIGTERM, SIGHUP, Ctrl-C twice, a controller killed -9.

Every one ends with no process of the run left behind: neither a worker nor
what its tests started.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3

import pytest
from test_interrupt import pids, running, started_run, wait_for

#: A fixture starts a helper process that ignores Ctrl-C (a server, a browser)
#: and never stops it; each test records its pid and sleeps.
LEAKY_FIXTURE = """
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import pytest

    HERE = Path(__file__).parent
    IGNORES_SIGINT = (
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)"
    )

    @pytest.fixture(scope="module")
    def server(worker_id):
        process = subprocess.Popen([sys.executable, "-c", IGNORES_SIGINT])
        (HERE / f"child-{process.pid}").touch()
        yield process

    @pytest.mark.parametrize("n", range(3))
    def test_sleep(n, server):
        (HERE / f"pid-{os.getpid()}").touch()
        time.sleep(60)
"""

#: Module fixtures whose teardown hangs once started.
HANGING_TEARDOWN = """
    import os
    import time
    from pathlib import Path

    import pytest

    HERE = Path(__file__).parent

    @pytest.fixture(scope="module")
    def resource():
        yield
        (HERE / f"teardown-{os.getpid()}").touch()
        time.sleep(120)

    @pytest.mark.parametrize("n", range(3))
    def test_sleep(n, resource):
        (HERE / f"pid-{os.getpid()}").touch()
        time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_termination_stops_the_run_like_ctrl_c(pytester: pytest.Pytester, signum: int) -> None:
    """SIGTERM or SIGHUP mid-run: exit 2, the summary, the run recorded as interrupted, and
    no process left, not even one a fixture started and that ignores Ctrl-C."""
    pytester.makepyfile(test_a=LEAKY_FIXTURE, test_b=LEAKY_FIXTURE)
    history = pytester.path / "history.db"
    with started_run(pytester, f"--history={history}") as process:
        assert wait_for(lambda: len(pids(pytester.path, "child")) == 2, 30)
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == pytest.ExitCode.INTERRUPTED, output
        assert f"{signal.Signals(signum).name} received" in output
        assert "no tests ran" in output or " in " in output.splitlines()[-1], output
        leftovers = pids(pytester.path, "pid") + pids(pytester.path, "child")
        assert wait_for(lambda: not any(map(running, leftovers)), 10), "a process is left"
    with contextlib.closing(sqlite3.connect(history)) as db:
        assert db.execute("SELECT status, exit_code FROM testfleet_runs").fetchall() == [
            ("interrupted", 2)
        ]


def test_second_ctrl_c_kills_at_once_and_reaps(pytester: pytest.Pytester) -> None:
    """A second Ctrl-C while workers hang in teardown kills them, and every one is reaped."""
    pytester.makepyfile(test_a=HANGING_TEARDOWN, test_b=HANGING_TEARDOWN)
    with started_run(pytester) as process:
        workers = pids(pytester.path, "pid")
        process.send_signal(signal.SIGINT)
        assert wait_for(lambda: len(pids(pytester.path, "teardown")) == 2, 30), "no teardown"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == pytest.ExitCode.INTERRUPTED, output
        assert "KeyboardInterrupt" in output
        assert not any(map(running, workers)), "a worker outlived the controller"


def test_workers_go_when_the_controller_is_killed(pytester: pytest.Pytester) -> None:
    """A controller killed with SIGKILL takes its workers (and what they started) with it."""
    pytester.makepyfile(test_a=LEAKY_FIXTURE, test_b=LEAKY_FIXTURE)
    with started_run(pytester) as process:
        workers = pids(pytester.path, "pid")
        process.kill()
        process.communicate(timeout=30)
        # The tests sleep for a minute: workers that waited for them would still be there.
        assert wait_for(lambda: not any(map(running, workers)), 10), "a worker is left"
