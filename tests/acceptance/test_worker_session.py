"""Each worker ends its pytest session as a serial run does, and hands its output back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing

import pytest

Run = Callable[..., pytest.RunResult]

#: Records, per process, the end of the session, unconfigure and an exit
#: handler a session fixture registered; workers put something in workeroutput
#: and the controller writes down what pytest_testnodedown was given.
LIFECYCLE_CONFTEST = """
    import atexit
    import json
    import os
    from pathlib import Path

    import pytest

    HERE = Path(__file__).parent

    def mark(event):
        (HERE / f"{event}-{os.environ.get('PYTEST_XDIST_WORKER', 'controller')}").touch()

    @pytest.fixture(scope="session", autouse=True)
    def session_resource():
        atexit.register(mark, "atexit")
        yield
        mark("session-teardown")

    def pytest_sessionfinish(session):
        mark("sessionfinish")
        if hasattr(session.config, "workerinput"):
            session.config.workeroutput["pid"] = os.getpid()
            session.config.workeroutput["worker"] = session.config.workerinput["workerid"]

    def pytest_unconfigure(config):
        mark("unconfigure")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(node, error):
        with open(HERE / "nodes.jsonl", "a") as out:
            out.write(json.dumps({"id": node.gateway.id, "output": node.workeroutput,
                                  "input": node.workerinput["workerid"], "error": error}) + "\\n")
"""

MODULE = """
    import pytest

    @pytest.mark.parametrize("n", range(5))
    def test_pass(n):
        pass
"""


def events(pytester: pytest.Pytester, event: str) -> set[str]:
    """Which processes recorded ``event``."""
    return {p.name.removeprefix(f"{event}-") for p in pytester.path.glob(f"{event}-*")}


def test_workers_finish_their_session(pytester: pytest.Pytester, run: Run) -> None:
    """Every worker tears its session fixtures down, runs sessionfinish, unconfigure and its
    own exit handlers; the controller prints one summary."""
    pytester.makeconftest(LIFECYCLE_CONFTEST)
    pytester.makepyfile(test_a=MODULE, test_b=MODULE)

    result = run("--workers", "2", "--no-history")

    result.assert_outcomes(passed=10)
    workers = {"gw0", "gw1"}
    assert events(pytester, "session-teardown") == workers
    assert events(pytester, "atexit") == workers
    assert events(pytester, "sessionfinish") == {*workers, "controller"}
    assert events(pytester, "unconfigure") == {*workers, "controller"}
    assert sum(" passed in " in line for line in result.outlines) == 1


def test_workeroutput_reaches_pytest_testnodedown(pytester: pytest.Pytester, run: Run) -> None:
    """What a worker puts in config.workeroutput reaches pytest_testnodedown, as under xdist."""
    pytester.makeconftest(LIFECYCLE_CONFTEST)
    pytester.makepyfile(test_a=MODULE, test_b=MODULE)

    result = run("--workers", "2", "--no-history")

    assert result.ret == pytest.ExitCode.OK
    lines = (pytester.path / "nodes.jsonl").read_text().splitlines()
    nodes = sorted((json.loads(line) for line in lines), key=lambda node: node["id"])
    assert [(n["id"], n["input"], n["output"]["worker"], n["error"]) for n in nodes] == [
        ("gw0", "gw0", "gw0", None),
        ("gw1", "gw1", "gw1", None),
    ]


def test_junitxml_is_written_once_with_every_test(pytester: pytest.Pytester, run: Run) -> None:
    """Workers ending their session do not write (or overwrite) the controller's junit file."""
    pytester.makepyfile(test_a=MODULE, test_b=MODULE)

    result = run("--workers", "2", "--no-history", "--junitxml=report.xml")

    assert result.ret == pytest.ExitCode.OK
    assert (pytester.path / "report.xml").read_text().count("<testcase ") == 10


FORKING = """
    import os

    def test_forks_and_the_child_raises():
        pid = os.fork()
        if pid == 0:
            raise RuntimeError("the child left the test")
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status)

    def test_after():
        pass
"""


def test_a_forked_child_that_raises_reports_nothing(pytester: pytest.Pytester, run: Run) -> None:
    """A test's forked child that raises out of the test ends there: each test is reported
    once, by the worker, and the run goes on."""
    pytester.makepyfile(test_a=FORKING, test_b=MODULE)

    result = run("--workers", "2", "--no-history", "--junitxml=report.xml")

    result.assert_outcomes(passed=7)
    result.stdout.no_fnmatch_line("*the child left the test*")
    result.stdout.no_fnmatch_line("*crashed*")
    assert (pytester.path / "report.xml").read_text().count("<testcase ") == 7


def test_forking_beside_a_python_thread_is_refused(pytester: pytest.Pytester, run: Run) -> None:
    """A thread started at collection makes --workers a usage error that says why and what
    to do, instead of a fork that could deadlock."""
    pytester.makeconftest(
        """
        import threading
        import time

        threading.Thread(target=time.sleep, args=(30,), name="poller", daemon=True).start()
        """
    )
    pytester.makepyfile(test_a=MODULE)

    result = run("--workers", "2", "--no-history")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--workers: cannot fork workers while other threads run in this process (poller)*"]
    )


def test_a_lost_test_is_recorded_with_the_time_it_ran(pytester: pytest.Pytester, run: Run) -> None:
    """A test killed by --test-timeout is recorded in the history with the time it ran."""
    pytester.makepyfile(
        test_a="""
        import time

        def test_hangs():
            time.sleep(60)

        def test_quick():
            pass
        """
    )
    history = pytester.path / "history.db"

    result = run("--workers", "2", "--test-timeout", "1", f"--history={history}")

    result.assert_outcomes(failed=1, passed=1)
    with closing(sqlite3.connect(history)) as db:
        ((seconds,),) = db.execute(
            "SELECT setup_seconds + call_seconds + teardown_seconds FROM testfleet_results "
            "WHERE nodeid = 'test_a.py::test_hangs'"
        ).fetchall()
    assert seconds >= 1.0


SCRIBBLING_CHILD = """
    import os
    import stat

    def test_child_writes_to_every_pipe_it_has():
        pid = os.fork()
        if pid == 0:
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                try:
                    if stat.S_ISFIFO(os.fstat(fd).st_mode):
                        os.write(fd, b"\\x00\\x00\\x00\\x05junk!")
                except OSError:
                    pass
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0

    def test_after():
        pass
"""


def test_a_forked_child_cannot_touch_the_worker_pipes(pytester: pytest.Pytester, run: Run) -> None:
    """Whatever a test's forked child writes to the pipes it inherited never reaches the
    controller: the worker's pipes are not among them."""
    pytester.makepyfile(test_a=SCRIBBLING_CHILD, test_b=MODULE)

    result = run("--workers", "2", "--no-history")

    result.assert_outcomes(passed=7)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_a_failing_sessionfinish_in_a_worker_is_shown(pytester: pytest.Pytester, run: Run) -> None:
    """A plugin whose pytest_sessionfinish raises in a worker is shown with its traceback;
    the worker still unconfigures and every result stands."""
    pytester.makeconftest(
        """
        import os
        from pathlib import Path

        def pytest_sessionfinish(session):
            if hasattr(session.config, "workerinput"):
                raise RuntimeError("cannot end " + session.config.workerinput["workerid"])

        def pytest_unconfigure(config):
            name = os.environ.get("PYTEST_XDIST_WORKER", "controller")
            (Path(__file__).parent / f"unconfigure-{name}").touch()
        """
    )
    pytester.makepyfile(test_a=MODULE, test_b=MODULE)

    result = run("--workers", "2", "--no-history")

    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["*worker gw0 failed to end its pytest session:*"])
    result.stdout.fnmatch_lines(["*RuntimeError: cannot end gw1*"])
    assert events(pytester, "unconfigure") == {"gw0", "gw1", "controller"}


#: Reports whether the collected session is frozen for the GC at each step of the
#: controller's end: as the session finishes, and as the interpreter exits (after
#: the exit handlers that testfleet registered later than this one).
GC_CONFTEST = """
    import atexit
    import gc
    import os

    def say(step):
        if "PYTEST_XDIST_WORKER" not in os.environ:
            os.write(1, f"\\n{step}: frozen={gc.get_freeze_count()}\\n".encode())

    atexit.register(say, "exit")

    def pytest_sessionfinish(session):
        say("sessionfinish")
"""


def test_the_session_stays_frozen_for_the_gc_until_the_process_ends(
    pytester: pytest.Pytester, run: Run
) -> None:
    """pytest's collections as the session ends and Python's as the interpreter
    ends skip the collected session: the controller never thaws it for them."""
    pytester.makeconftest(GC_CONFTEST)
    tests = "def test_a(): pass\ndef test_b(): pass"
    pytester.makepyfile(**{f"test_m{m}": tests for m in range(4)})
    serial = run()
    serial.assert_outcomes(passed=8)
    assert "sessionfinish: frozen=0" in serial.stdout.str()
    result = run("--workers=2")
    result.assert_outcomes(passed=8)
    frozen = {
        step: int(line.partition("frozen=")[2])
        for line in result.stdout.lines
        for step in ("sessionfinish", "exit")
        if line.startswith(f"{step}: frozen=")
    }
    assert frozen["sessionfinish"] > 1000
    assert frozen["exit"] >= frozen["sessionfinish"]
