"""What a test costs its process: the usage meter on real work, and the fixture tally."""

from __future__ import annotations

import os
import time

from hypothesis import given
from hypothesis import strategies as st

from testfleet.monitoring.usage import FixtureTally, UsageMeter


def test_a_test_that_burns_cpu_and_allocates_shows_both() -> None:
    meter = UsageMeter()
    meter.start()
    began = time.process_time()
    while time.process_time() - began < 0.05:
        pass
    block = bytearray(64 << 20)
    block[::4096] = b"\x01" * len(block[::4096])
    cpu, peak = meter.stop()
    del block

    assert cpu >= 0.04
    assert peak is not None
    assert peak >= 64 << 20


def test_the_peak_is_the_tests_own_not_the_processes() -> None:
    """After a test that allocated, the next one's peak is back near the baseline."""
    meter = UsageMeter()
    meter.start()
    block = bytearray(128 << 20)
    block[::4096] = b"\x01" * len(block[::4096])
    del block
    _, first = meter.stop()
    meter.start()
    _, second = meter.stop()

    assert first is not None
    assert second is not None
    if os.path.exists("/proc/self/clear_refs"):
        assert second < first - (100 << 20)


def test_a_meter_made_before_a_fork_measures_the_child() -> None:
    meter = UsageMeter()
    meter.start()
    meter.stop()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report, leave
        meter.start()
        cpu, peak = meter.stop()
        os.write(write, f"{cpu} {peak}".encode())
        os._exit(0)
    os.close(write)
    reply = os.read(read, 100).decode().split()
    os.waitpid(pid, 0)
    os.close(read)
    assert float(reply[0]) >= 0
    assert reply[1] != "None"


def test_fixture_tally_adds_counts_seconds_and_slowest() -> None:
    tally = FixtureTally()
    tally.add("db", "session", 1.0)
    tally.add("db", "session", 3.0)
    tally.add("client", "function", 0.5)

    assert sorted(tally.rows()) == [
        ["client", "function", 1, 0.5, 0.5],
        ["db", "session", 2, 4.0, 3.0],
    ]


def test_merge_drops_malformed_rows() -> None:
    tally = FixtureTally()
    tally.merge([["db", "session", 1, 1.0, 1.0], ["broken"], ["x", "y", "many", 1, 1], "nope"])  # type: ignore[list-item]

    assert tally.rows() == [["db", "session", 1, 1.0, 1.0]]


timings = st.lists(
    st.tuples(
        st.sampled_from(["db", "client", "tmp"]),
        st.sampled_from(["function", "module", "session"]),
        st.floats(min_value=0, max_value=10, allow_nan=False),
    ),
    max_size=30,
)


@given(first=timings, second=timings)
def test_merging_two_tallies_is_the_tally_of_all_set_ups(
    first: list[tuple[str, str, float]], second: list[tuple[str, str, float]]
) -> None:
    """What the controller adds up from its workers is what one process would have seen."""
    one, two, whole = FixtureTally(), FixtureTally(), FixtureTally()
    for name, scope, seconds in first:
        one.add(name, scope, seconds)
        whole.add(name, scope, seconds)
    for name, scope, seconds in second:
        two.add(name, scope, seconds)
        whole.add(name, scope, seconds)
    merged = FixtureTally()
    merged.merge(one.rows())
    merged.merge(two.rows())

    expected = {(n, s): (c, t, m) for n, s, c, t, m in whole.rows()}
    got = {(n, s): (c, t, m) for n, s, c, t, m in merged.rows()}
    assert got.keys() == expected.keys()
    for key, (count, seconds, slowest) in expected.items():
        assert got[key][0] == count
        assert abs(got[key][1] - seconds) < 1e-9
        assert got[key][2] == slowest
