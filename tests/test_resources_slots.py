"""Unit tests of ``testfleet.acquire``'s slots in one process, by thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import testfleet
from testfleet.resources import slots
from testfleet.resources.slots import AcquireTimeout, ProcessSlots


@pytest.fixture
def capacities() -> Iterator[dict[str, int]]:
    """Install process slots with these capacities for the test (1 when absent)."""
    table: dict[str, int] = {}
    slots.use(ProcessSlots(lambda name: table.get(name, 1)))
    yield table
    slots.use(ProcessSlots(lambda name: 1))


def hold_in_thread(name: str, release: threading.Event) -> threading.Thread:
    """Start a thread that holds ``name`` until ``release`` is set; return once it does."""
    held = threading.Event()

    def body() -> None:
        with testfleet.acquire(name):
            held.set()
            release.wait()

    thread = threading.Thread(target=body)
    thread.start()
    assert held.wait(10)
    return thread


def test_a_thread_may_take_its_own_slot_again(capacities: dict[str, int]) -> None:
    with testfleet.acquire("smtp"), testfleet.acquire("smtp", timeout=0):
        pass


def test_a_full_resource_times_out_naming_the_holding_test(
    capacities: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/test_mail.py::test_send (call)")
    release = threading.Event()
    thread = hold_in_thread("smtp", release)
    try:
        with pytest.raises(AcquireTimeout) as caught, testfleet.acquire("smtp", timeout=0.05):
            pass
    finally:
        release.set()
        thread.join()
    assert str(caught.value).startswith(
        'testfleet.acquire("smtp") timed out after 0.05s (capacity 1 in this process): '
        "held by tests/test_mail.py::test_send (pid "
    )
    assert isinstance(caught.value, TimeoutError)


def test_capacity_two_lets_two_threads_in_and_the_third_waits(
    capacities: dict[str, int],
) -> None:
    capacities["browser"] = 2
    release = threading.Event()
    threads = [hold_in_thread("browser", release) for _ in range(2)]
    try:
        with pytest.raises(AcquireTimeout), testfleet.acquire("browser", timeout=0.01):
            pass
    finally:
        release.set()
        for thread in threads:
            thread.join()
    with testfleet.acquire("browser", timeout=0):
        pass


def test_a_waiter_gets_the_slot_when_the_holder_lets_go(capacities: dict[str, int]) -> None:
    release = threading.Event()
    thread = hold_in_thread("smtp", release)
    threading.Timer(0.05, release.set).start()
    with testfleet.acquire("smtp", timeout=30):
        pass
    thread.join()


def test_the_slot_is_given_back_when_the_block_raises(capacities: dict[str, int]) -> None:
    with pytest.raises(KeyError), testfleet.acquire("smtp"):
        raise KeyError("boom")
    done = threading.Event()

    def other() -> None:
        with testfleet.acquire("smtp", timeout=5):
            done.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert done.is_set()


@pytest.mark.parametrize(
    ("name", "timeout", "error"),
    [("", None, TypeError), (3, None, TypeError), ("x", -1, ValueError)],
)
def test_bad_arguments_are_refused(name: object, timeout: float | None, error: type) -> None:
    with pytest.raises(error, match=r"testfleet\.acquire"), testfleet.acquire(name, timeout):  # type: ignore[arg-type]
        pass


class FakeRemote:
    """The controller's slots, as a worker sees them: records takes and gives."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.calls: list[tuple[str, str]] = []

    def take(self, name: str, timeout: float | None, holder: str) -> str | None:
        self.calls.append(("take", name))
        return self.refuse

    def give_back(self, name: str) -> None:
        self.calls.append(("give", name))


def test_a_worker_asks_the_controller_once_per_outermost_hold() -> None:
    remote = FakeRemote()
    worker = ProcessSlots(lambda name: 5, remote)
    worker.take("smtp", None)
    worker.take("smtp", None)
    worker.give_back("smtp")
    assert remote.calls == [("take", "smtp")]
    worker.give_back("smtp")
    assert remote.calls == [("take", "smtp"), ("give", "smtp")]


def test_a_refusal_from_the_controller_is_a_timeout_and_frees_the_thread_slot() -> None:
    remote = FakeRemote(refuse="(capacity 1): held by t.py::test_x (worker gw1, ...)")
    worker = ProcessSlots(lambda name: 1, remote)
    with pytest.raises(AcquireTimeout, match=r"timed out after 2s \(capacity 1\): held by t.py"):
        worker.take("smtp", 2.0)
    remote.refuse = None
    worker.take("smtp", 0)  # a timeout of 0: the refused attempt left nothing held
    assert remote.calls == [("take", "smtp"), ("take", "smtp")]
