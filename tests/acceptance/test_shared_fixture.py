"""Acceptance tests of ``@testfleet.shared_fixture``: set up once per run, before the fork."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: A shared fixture that logs where it is set up and torn down.
CONFTEST = """
import os, pytest, testfleet

LOG = os.path.join(os.path.dirname(__file__), "shared.log")

def log(text):
    with open(LOG, "a") as f:
        f.write(f"{text} {os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER', '-')}\\n")

@pytest.fixture(scope="session")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("base")

@testfleet.shared_fixture
def seeded(base):
    log("setup")
    (base / "seed.txt").write_text("seeded")
    yield {"path": str(base / "seed.txt"), "pid": os.getpid()}
    log("teardown")
"""

USERS = """
import os, pytest

@pytest.mark.parametrize("n", range(9))
def test_reads(seeded, n):
    with open(seeded["path"]) as f:
        assert f.read() == "seeded"
    assert seeded["pid"] != os.getpid()  # set up in the controller, not here

def test_without():
    pass
"""


def log_lines(pytester: pytest.Pytester) -> list[list[str]]:
    path = pytester.path / "shared.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_set_up_once_in_the_controller_and_torn_down_once(
    pytester: pytest.Pytester, run: Run
) -> None:
    """Three workers share one setup, made in the controller (no worker name), and the
    teardown runs once, in the same process, after every test."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_users=USERS)
    result = run("--workers", "3")
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["testfleet: 3 workers", "testfleet: set up once, shared: seeded"])
    (setup, teardown) = log_lines(pytester)
    assert setup[0] == "setup"
    assert setup[2] == "-"
    assert teardown[0] == "teardown"
    assert teardown[1:] == setup[1:]


def test_without_workers_it_is_a_session_fixture(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_users="def test_reads(seeded):\n    assert open(seeded['path']).read() == 'seeded'\n"
    )
    run().assert_outcomes(passed=1)
    assert [line[0] for line in log_lines(pytester)] == ["setup", "teardown"]


def test_not_set_up_when_no_collected_test_uses_it(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_users=USERS)
    run("--workers", "2", "-k", "without").assert_outcomes(passed=1)
    assert log_lines(pytester) == []


def test_a_replacement_worker_inherits_the_value(pytester: pytest.Pytester, run: Run) -> None:
    """A worker crashes; its replacement, forked from the controller, has the value set up
    already: still one setup, and every other test passes."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_crash="""
import os

def test_crash(seeded):
    os._exit(3)

def test_after_1(seeded):
    assert open(seeded["path"]).read() == "seeded"

def test_after_2(seeded):
    assert open(seeded["path"]).read() == "seeded"
"""
    )
    result = run("--workers", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*worker gw* crashed while running test_crash.py::test_crash*"])
    assert [line[0] for line in log_lines(pytester)] == ["setup", "teardown"]


def test_with_x_the_run_stops_and_tears_down_once(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_stop="""
import pytest

@pytest.mark.parametrize("n", range(30))
def test_fails_at_five(seeded, n):
    assert n != 5
"""
    )
    result = run("--workers", "2", "-x")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])
    assert [line[0] for line in log_lines(pytester)] == ["setup", "teardown"]


def test_a_failing_setup_errors_every_test_using_it(pytester: pytest.Pytester, run: Run) -> None:
    """As a serial run caches a failed session fixture, the setup runs once and each
    test that uses it reports the error."""
    pytester.makeconftest(
        """
import os, testfleet

@testfleet.shared_fixture
def broken():
    with open("attempts.log", "a") as f:
        f.write("attempt\\n")
    raise RuntimeError("the seed data is missing")
"""
    )
    pytester.makepyfile(
        test_broken="""
import pytest

@pytest.mark.parametrize("n", range(4))
def test_uses(broken, n):
    pass

def test_other():
    pass
"""
    )
    result = run("--workers", "2")
    result.assert_outcomes(passed=1, errors=4)
    result.stdout.fnmatch_lines(
        [
            "    def broken():",
            ">       raise RuntimeError*",
            "E *RuntimeError: the seed data is missing",
        ]
    )
    assert "hookexec" not in result.stdout.str()  # testfleet's frames are hidden
    assert (pytester.path / "attempts.log").read_text() == "attempt\n"


def test_a_teardown_error_is_reported_once_against_the_last_test(
    pytester: pytest.Pytester, run: Run
) -> None:
    pytester.makeconftest(
        """
import testfleet

@testfleet.shared_fixture
def leaky():
    yield 1
    raise RuntimeError("could not drop the seed database")
"""
    )
    pytester.makepyfile(
        test_leaky="import pytest\n\n@pytest.mark.parametrize('n', range(4))\n"
        "def test_uses(leaky, n):\n    assert leaky == 1\n"
    )
    result = run("--workers", "2")
    assert result.ret == 1
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_uses*",
            "    def leaky():",
            "E *RuntimeError: could not drop the seed database",
        ]
    )


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["plain", "workers"])
def test_a_narrower_dependency_is_a_usage_error(
    pytester: pytest.Pytester, run: Run, workers: list[str]
) -> None:
    pytester.makeconftest(
        """
import pytest, testfleet

@pytest.fixture
def per_test():
    return 1

@testfleet.shared_fixture
def seeded(per_test):
    return per_test
"""
    )
    pytester.makepyfile(test_x="def test_x(seeded):\n    pass\n")
    result = run(*workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: testfleet: shared fixture 'seeded' depends on 'per_test', a "
            "function-scoped fixture: *every fixture it uses must be session-scoped"
        ]
    )


def test_threads_left_running_are_a_usage_error(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makeconftest(
        """
import threading, testfleet

@testfleet.shared_fixture
def server():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="mail-server")
    thread.start()
    yield
    stop.set()
    thread.join()
"""
    )
    pytester.makepyfile(test_x="def test_x(server):\n    pass\n\ndef test_y(server):\n    pass\n")
    result = run("--workers", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: testfleet: shared fixture 'server' left threads running (mail-server) *"
            "Start servers in a shared fixture as subprocesses (subprocess.Popen), not threads"
        ]
    )
    run().assert_outcomes(passed=2)  # without workers a thread is fine


def test_params_are_refused(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makeconftest(
        "import testfleet\n\n@testfleet.shared_fixture(params=[1, 2])\ndef p(request):\n"
        "    return request.param\n"
    )
    pytester.makepyfile(test_x="def test_x(p):\n    pass\n")
    result = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*testfleet.shared_fixture takes no params*"])


def test_only_the_shared_value_is_shared(pytester: pytest.Pytester, run: Run) -> None:
    """The session fixtures the controller set up to build a shared fixture are the
    worker's own in each worker: worker_id is "master" in the shared value, gwN in tests."""
    pytester.makeconftest(
        """
import testfleet

@testfleet.shared_fixture
def built_by(worker_id):
    return worker_id
"""
    )
    pytester.makepyfile(
        test_ids="""
import os, pytest

@pytest.mark.parametrize("n", range(6))
def test_ids(built_by, worker_id, n):
    assert built_by == "master"
    assert worker_id == os.environ["PYTEST_XDIST_WORKER"]
"""
    )
    run("--workers", "2").assert_outcomes(passed=6)
