"""Fixtures of every scope are set up and torn down in workers as pytest would."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: Writes one line per event to ``events.log`` next to the conftest; appends of a
#: short line are atomic, so workers can share the file.
EVENT_LOG_CONFTEST = """
    import os
    from pathlib import Path

    import pytest

    LOG = Path(__file__).parent / "events.log"

    def log(*words):
        with LOG.open("a") as f:
            f.write(" ".join(words) + "\\n")

    @pytest.fixture(scope="session")
    def session_resource(worker_id):
        log("session-setup", worker_id, str(os.getpid()))
        yield
        log("session-teardown", worker_id, str(os.getpid()))

    @pytest.fixture(scope="module")
    def module_resource(request, worker_id, session_resource):
        module = request.module.__name__
        log("module-setup", module, worker_id, str(os.getpid()))
        yield
        log("module-teardown", module, worker_id, str(os.getpid()))

    @pytest.fixture(scope="class")
    def class_resource(request, worker_id, module_resource):
        log("class-setup", request.node.nodeid, worker_id)
        yield
        log("class-teardown", request.node.nodeid, worker_id)

    @pytest.fixture(autouse=True)
    def record_test(request, worker_id):
        log("test", request.module.__name__, worker_id, request.node.nodeid)
"""

TEN_TESTS = """
    import pytest

    @pytest.mark.parametrize("n", range(10))
    def test_number(module_resource, n):
        pass
"""

CLASS_TESTS = """
    class TestOne:
        def test_a(self, class_resource):
            pass

        def test_b(self, class_resource):
            pass

    class TestTwo:
        def test_c(self, class_resource):
            pass
"""


def read_events(pytester: pytest.Pytester) -> list[list[str]]:
    """The lines the fixtures logged, split into words."""
    return [line.split() for line in (pytester.path / "events.log").read_text().splitlines()]


def test_module_fixture_set_up_once_per_worker_per_module(
    pytester: pytest.Pytester, run: Run
) -> None:
    """Each worker sets up a module fixture once per module it runs tests of, and tears it down."""
    pytester.makeconftest(EVENT_LOG_CONFTEST)
    pytester.makepyfile(test_one=TEN_TESTS, test_two=TEN_TESTS, test_three=TEN_TESTS)

    result = run("--workers", "2")

    result.assert_outcomes(passed=30)
    events = read_events(pytester)
    ran = {(words[1], words[2]) for words in events if words[0] == "test"}
    setups = Counter((words[1], words[2]) for words in events if words[0] == "module-setup")
    teardowns = Counter((words[1], words[2]) for words in events if words[0] == "module-teardown")
    assert {worker for _, worker in ran} == {"gw0", "gw1"}
    assert setups == Counter(ran)  # once for each (module, worker) that ran its tests
    assert teardowns == setups
    for module in ("test_one", "test_two", "test_three"):
        assert 1 <= sum(n for (m, _), n in setups.items() if m == module) <= 2


def test_session_fixture_torn_down_once_per_worker(pytester: pytest.Pytester, run: Run) -> None:
    """A session fixture is set up and torn down once by each worker that ran tests."""
    pytester.makeconftest(EVENT_LOG_CONFTEST)
    pytester.makepyfile(test_one=TEN_TESTS, test_two=TEN_TESTS)

    result = run("--workers", "2")

    result.assert_outcomes(passed=20)
    events = read_events(pytester)
    workers_that_ran = {words[2] for words in events if words[0] == "test"}
    setups = Counter(words[1] for words in events if words[0] == "session-setup")
    teardowns = Counter(words[1] for words in events if words[0] == "session-teardown")
    assert workers_that_ran == {"gw0", "gw1"}
    assert setups == teardowns == Counter(workers_that_ran)
    # The teardown ran in the process that set the fixture up: the worker itself.
    pids = {(w[0], w[1]): w[2] for w in events if w[0].startswith("session-")}
    for worker in workers_that_ran:
        assert pids["session-setup", worker] == pids["session-teardown", worker]
    assert result.ret == pytest.ExitCode.OK


def test_fixture_scopes_serially_for_reference(pytester: pytest.Pytester, run: Run) -> None:
    """Without --workers the suite sets every fixture up exactly once, in the 'master' process."""
    pytester.makeconftest(EVENT_LOG_CONFTEST)
    pytester.makepyfile(test_one=TEN_TESTS, test_two=TEN_TESTS)

    run().assert_outcomes(passed=20)

    kinds = Counter((words[0], words[1]) for words in read_events(pytester) if words[0] != "test")
    assert kinds == Counter(
        {
            ("session-setup", "master"): 1,
            ("session-teardown", "master"): 1,
            ("module-setup", "test_one"): 1,
            ("module-teardown", "test_one"): 1,
            ("module-setup", "test_two"): 1,
            ("module-teardown", "test_two"): 1,
        }
    )


def test_class_fixture_set_up_once_per_class(pytester: pytest.Pytester, run: Run) -> None:
    """A class fixture is set up and torn down once per class and worker, as serially."""
    pytester.makeconftest(EVENT_LOG_CONFTEST)
    pytester.makepyfile(test_classes=CLASS_TESTS, test_other=TEN_TESTS)

    run("--workers", "2").assert_outcomes(passed=13)

    events = read_events(pytester)
    setups = Counter((words[1], words[2]) for words in events if words[0] == "class-setup")
    teardowns = Counter((words[1], words[2]) for words in events if words[0] == "class-teardown")
    assert {cls for cls, _ in setups} == {"test_classes.py::TestOne", "test_classes.py::TestTwo"}
    assert setups == teardowns
    assert set(setups.values()) == {1}  # once per class in each worker that ran its tests
