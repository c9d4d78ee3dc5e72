"""Acceptance tests of ``testfleet.acquire``: slots across workers, timeouts, crashes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: Each holder writes "<node id> <start> <end>" to holds.log while it holds "smtp".
HOLDERS = """
import os, time, pytest, testfleet

LOG = os.path.join(os.path.dirname(__file__), "holds.log")

@pytest.mark.parametrize("n", range(6))
def test_holder(n):
    with testfleet.acquire("smtp", timeout=120):
        start = time.monotonic()
        time.sleep(0.1)
        end = time.monotonic()
    with open(LOG, "a") as log:
        log.write(f"{n} {start} {end}\\n")
"""


#: Two quick tests after the one that matters: with three tests a module is a whole
#: batch, so two such modules start on two workers at once.
FILLER = "\n\ndef test_filler_1():\n    pass\n\ndef test_filler_2():\n    pass\n"


def overlaps(log: str) -> list[tuple[str, str]]:
    spans = [line.split() for line in log.splitlines()]
    return [
        (a[0], b[0])
        for a in spans
        for b in spans
        if a[0] < b[0] and float(a[1]) < float(b[2]) and float(b[1]) < float(a[2])
    ]


@pytest.mark.parametrize("workers", ["1", "3"])
def test_holders_never_overlap_across_workers(
    pytester: pytest.Pytester, run: Run, workers: str
) -> None:
    """Six tests on three workers take a capacity-1 slot: one at a time, all pass."""
    pytester.makepyfile(test_hold=HOLDERS)
    result = run("--workers", workers)
    result.assert_outcomes(passed=6)
    log = (pytester.path / "holds.log").read_text()
    assert len(log.splitlines()) == 6
    assert overlaps(log) == []


def test_capacity_from_the_config_lets_that_many_hold_at_once(
    pytester: pytest.Pytester, run: Run
) -> None:
    """With smtp = 2, two holders overlap at some moment (they wait for each other)."""
    pytester.makepyprojecttoml("[tool.testfleet.resources]\nsmtp = 2\n")
    pair = """
import os, time, testfleet

def test_pair():
    with testfleet.acquire("smtp", timeout=60):
        open("{me}", "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists("{other}"):
            assert time.monotonic() < deadline, "the other holder never got in"
            time.sleep(0.01)
"""
    pytester.makepyfile(
        test_a=pair.format(me="a", other="b") + FILLER,
        test_b=pair.format(me="b", other="a") + FILLER,
    )
    run("--workers", "2", timeout=120).assert_outcomes(passed=6)


def test_a_timeout_fails_the_test_naming_the_holder(pytester: pytest.Pytester, run: Run) -> None:
    """The waiter's test fails with AcquireTimeout naming the test holding the slot;
    the holder passes."""
    pytester.makepyfile(
        test_holder="""
import os, time, testfleet

def test_holds():
    with testfleet.acquire("mail"):
        open("held", "w").close()
        while not os.path.exists("gave-up"):
            time.sleep(0.01)
"""
        + FILLER,
        test_waiter="""
import os, time, pytest, testfleet

def test_waits():
    while not os.path.exists("held"):
        time.sleep(0.01)
    try:
        with testfleet.acquire("mail", timeout=0.2):
            pass
    finally:
        open("gave-up", "w").close()
"""
        + FILLER,
    )
    result = run("--workers", "2", timeout=120)
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E *testfleet.AcquireTimeout: "
            'testfleet.acquire("mail") timed out after 0.2s (capacity 1): held by '
            "test_holder.py::test_holds (worker gw*, testfleet.acquire)",
        ]
    )


def test_a_marked_test_and_an_acquire_share_the_slots(pytester: pytest.Pytester, run: Run) -> None:
    """A test marked resource("smtp") holds the same slot acquire takes: the acquire
    times out while the marked test runs, naming it."""
    pytester.makepyfile(
        test_marked="""
import os, time, pytest

@pytest.mark.resource("smtp")
def test_marked():
    open("marked-running", "w").close()
    while not os.path.exists("gave-up"):
        time.sleep(0.01)
"""
        + FILLER,
        test_code="""
import os, time, testfleet

def test_code():
    while not os.path.exists("marked-running"):
        time.sleep(0.01)
    try:
        with testfleet.acquire("smtp", timeout=0.2):
            pass
    finally:
        open("gave-up", "w").close()
"""
        + FILLER,
    )
    result = run("--workers", "2", timeout=120)
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        ["E   *held by test_marked.py::test_marked (worker gw*, resource marker)"]
    )


def test_a_crashed_holder_gives_its_slot_back(pytester: pytest.Pytester, run: Run) -> None:
    """A worker that dies holding a slot frees it: the waiter gets it and passes; the
    crashed test is reported failed, nothing else is lost."""
    pytester.makepyfile(
        test_crash="""
import os, time, testfleet

def test_dies_holding():
    with testfleet.acquire("smtp"):
        open("held", "w").close()
        time.sleep(0.3)
        os._exit(3)
"""
        + FILLER,
        test_waiter="""
import os, time, testfleet

def test_waits():
    while not os.path.exists("held"):
        time.sleep(0.01)
    with testfleet.acquire("smtp", timeout=100):
        pass
"""
        + FILLER,
    )
    result = run("--workers", "2", timeout=150)
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        ["*worker gw* crashed while running test_crash.py::test_dies_holding*"]
    )


def test_acquire_in_a_plain_run_and_in_a_session_fixture(
    pytester: pytest.Pytester, run: Run
) -> None:
    """Without workers acquire works in process; a session fixture may hold a slot for
    the whole worker, re-entrant for the tests of that worker."""
    pytester.makepyfile(
        test_fixture="""
import pytest, testfleet

@pytest.fixture(scope="session")
def mailbox():
    with testfleet.acquire("mailbox", timeout=60):
        yield

@pytest.mark.parametrize("n", range(4))
def test_uses(mailbox, n):
    with testfleet.acquire("mailbox", timeout=60):
        pass
"""
    )
    run().assert_outcomes(passed=4)
    run("--workers", "2", timeout=120).assert_outcomes(passed=4)
