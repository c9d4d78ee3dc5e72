"""--retry-failed in the controller: a failed test runs again, elsewhere when it can,
and only its last run is reported, with the count of its runs."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from test_engine_controller import START, Run, make_run, ready_workers
from testfleet.engine.messages import Finish, ItemDone, Reported
from testfleet.model import WorkerExit

FAILED = Reported({"when": "call", "outcome": "failed"})
PASSED = Reported({"when": "call", "outcome": "passed"})


def report(run: Run, worker: str, *, failed: bool) -> int:
    """``worker`` runs the head of its queue; it fails or passes."""
    index = run.fleet.queues[worker].pop(0)
    run.clock.now += 0.01
    run.controller.on_message(worker, ItemDone(index, (START, FAILED if failed else PASSED)))
    return index


def test_a_failed_test_runs_again_on_another_worker_and_reports_once() -> None:
    run = make_run([[0, 1, 2, 3], [4, 5, 6, 7]], workers=2, retries=1)
    first = run.fleet.queues["gw0"][0]

    assert report(run, "gw0", failed=True) == first
    assert run.sink.done == []  # held: not reported yet
    while first not in run.fleet.queues["gw1"]:
        report(run, "gw1", failed=False)
    assert first not in run.fleet.queues["gw0"]
    while run.fleet.queues["gw1"][0] != first:
        report(run, "gw1", failed=False)
    report(run, "gw1", failed=False)

    assert run.sink.done.count(first) == 1
    assert run.sink.ran_on[first] == "gw1"
    assert run.sink.attempts[first] == 2


def test_a_test_that_fails_every_time_is_reported_failed_after_its_last_run() -> None:
    run = make_run([[0, 1, 2]], workers=1, retries=2)
    while not run.controller.done:
        for worker in run.controller.live_workers:
            if run.fleet.queues[worker]:
                report(run, worker, failed=run.fleet.queues[worker][0] == 0)
            else:
                run.controller.on_exit(worker, WorkerExit(code=0))
    assert run.sink.attempts[0] == 3
    assert Counter(run.sink.done) == Counter({0: 1, 1: 1, 2: 1})


def test_without_retries_a_failure_is_reported_at_once() -> None:
    run = make_run([[0, 1, 2]], workers=1)
    report(run, "gw0", failed=True)
    assert run.sink.done == [0]
    assert run.sink.attempts[0] == 1


def test_a_stopping_run_retries_nothing() -> None:
    run = make_run([[0, 1, 2, 3]], workers=1, retries=3)
    run.controller.stop()
    report(run, "gw0", failed=True)
    assert run.sink.done == [0]


def test_when_every_other_worker_is_leaving_a_new_one_runs_the_retry() -> None:
    run = make_run([[0], [1]], workers=2, retries=1)
    # Each worker holds one test and nothing is left: both are told to finish.
    assert Finish() in run.fleet.inbox["gw0"]
    assert Finish() in run.fleet.inbox["gw1"]
    failed = report(run, "gw0", failed=True)

    assert "gw2" in run.controller.live_workers
    assert run.fleet.queues["gw2"] == [failed]
    report(run, "gw2", failed=False)
    assert run.sink.ran_on[failed] == "gw2"
    assert run.sink.attempts[failed] == 2


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=6),
    workers=st.integers(min_value=1, max_value=3),
    retries=st.integers(min_value=0, max_value=3),
    failures=st.dictionaries(
        st.integers(min_value=0, max_value=35), st.integers(min_value=1, max_value=5)
    ),
    choices=st.lists(st.integers(min_value=0, max_value=1000), max_size=300),
)
def test_every_test_is_reported_exactly_once_with_its_runs_counted(
    sizes: list[int],
    workers: int,
    retries: int,
    failures: dict[int, int],
    choices: list[int],
) -> None:
    """Whatever fails how often and whoever runs what, each test reaches the session
    once, after min(its failures, retries) + 1 runs, and no worker waits forever."""
    groups, start = [], 0
    for size in sizes:
        groups.append(list(range(start, start + size)))
        start += size
    run = make_run(groups, workers=workers, retries=retries)
    ran: Counter[int] = Counter()
    steps = iter(choices)
    for _ in range(10_000):
        if run.controller.done:
            break
        ready = ready_workers(run)
        assert ready, f"deadlock: every worker waits for the controller: {run.fleet.queues}"
        worker = ready[next(steps, 0) % len(ready)]
        if run.fleet.queues[worker]:
            index = run.fleet.queues[worker][0]
            ran[index] += 1
            report(run, worker, failed=ran[index] <= failures.get(index, 0))
        else:
            run.controller.on_exit(worker, WorkerExit(code=0))
    assert run.controller.done
    assert sorted(run.sink.done) == list(range(start))
    for index in range(start):
        assert run.sink.attempts[index] == min(failures.get(index, 0), retries) + 1
