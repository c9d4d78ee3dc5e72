"""Unit and property tests of the fleet's pure parts: entries, digests, settings,
the node's schedule (with an injected clock), and the whole-run report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.distributed.node import Schedule, lost_verdict, slot_target
from testfleet.distributed.protocol import (
    FleetResult,
    Keys,
    MalformedEntry,
    Unit,
    decode_lost,
    decode_result,
    decode_unit,
    digest,
    encode_result,
    encode_unit,
    first_differences,
)
from testfleet.distributed.settings import (
    FleetSettingsError,
    check_url,
    ci_run_id,
    node_name,
    run_id,
)
from testfleet.reporting.fleet import failures, junit_xml, run_line

nodeids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
seconds = st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
outcomes = st.sampled_from(["passed", "failed", "skipped", "error", "xfailed", "xpassed"])

results = st.builds(
    FleetResult,
    nodeid=nodeids,
    outcome=outcomes,
    node=st.text(max_size=10),
    worker=st.text(max_size=5),
    setup=seconds,
    call=seconds,
    teardown=seconds,
    start=st.none() | seconds,
    rerun_after=st.none() | st.text(max_size=10),
    message=st.text(max_size=50),
    cpu=st.none() | seconds,
    peak_rss=st.none() | st.integers(0, 1 << 40),
    attempts=st.integers(1, 5),
    quarantined=st.booleans(),
)


@given(st.lists(nodeids, min_size=1, max_size=10), st.data())
def test_a_unit_survives_the_stream(tests: list[str], data: st.DataObject) -> None:
    estimates = data.draw(st.lists(seconds, min_size=len(tests), max_size=len(tests)))
    unit = Unit(tuple(tests), tuple(estimates))
    assert decode_unit(encode_unit(unit)) == unit


@given(results)
def test_a_result_survives_the_store(result: FleetResult) -> None:
    assert decode_result(encode_result(result)) == result


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"unit": "not json"},
        {"unit": "[1, 2]"},
        {"unit": json.dumps({"v": 99, "tests": ["a"], "estimates": [1]})},
        {"unit": json.dumps({"v": 1, "tests": [], "estimates": []})},
        {"unit": json.dumps({"v": 1, "tests": ["a"], "estimates": []})},
        {"unit": json.dumps({"v": 1, "tests": ["a"], "estimates": [-1]})},
        {"unit": json.dumps({"v": 1, "tests": [3], "estimates": [1]})},
        {"unit": json.dumps({"v": 1, "tests": ["a"], "estimates": [True]})},
    ],
)
def test_a_malformed_unit_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(MalformedEntry):
        decode_unit(fields)


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        "nope",
        json.dumps({"v": 1, "nodeid": "a", "outcome": "exploded", "node": "n", "worker": "w"}),
        json.dumps({"v": 1, "nodeid": "a", "outcome": "passed", "node": 3, "worker": "w"}),
        json.dumps(
            {"v": 1, "nodeid": "a", "outcome": "passed", "node": "n", "worker": "w", "call": "1"}
        ),
        json.dumps({"v": 1, "nodeid": "", "outcome": "passed", "node": "n", "worker": "w"}),
    ],
)
def test_a_malformed_result_is_refused(text: str) -> None:
    with pytest.raises(MalformedEntry):
        decode_result(text)


def test_lost_nodes_are_read_back_or_refused() -> None:
    assert decode_lost(None) == []
    assert decode_lost('["a", "b"]') == ["a", "b"]
    for text in ("{", '{"a": 1}', "[1]"):
        with pytest.raises(MalformedEntry):
            decode_lost(text)


@given(st.lists(nodeids, unique=True, max_size=20), st.randoms())
def test_the_digest_ignores_order_but_not_content(tests: list[str], rng: object) -> None:
    shuffled = list(tests)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert digest(shuffled) == digest(tests)
    assert digest([*tests, "one more"]) != digest(tests) or "one more" in tests


def test_first_differences_name_the_tests_on_each_side() -> None:
    lines = first_differences(["a", "b", "c"], ["a", "c", "d"])
    assert lines == ["  only here: d", "  only on the planner: b"]
    assert first_differences(["a"], ["a"]) == []
    many = first_differences([f"t{i}" for i in range(20)], [], limit=3)
    assert len(many) == 3


def test_keys_live_under_the_run_prefix() -> None:
    keys = Keys("testfleet:r1:")
    assert all(k.startswith("testfleet:r1:") for k in keys.every())
    assert keys.heartbeat("n1") == "testfleet:r1:node:n1"
    assert keys.slots("lane") == "testfleet:r1:slots:lane"


def test_the_history_sees_a_fleet_result_relative_to_the_run() -> None:
    result = FleetResult("t", "passed", "n1", "gw0", 0.1, 0.2, 0.3, start=105.0)
    recorded = result.to_test_result(100.0)
    assert recorded.start == 5.0
    assert recorded.worker == "n1/gw0"
    assert abs(result.duration - 0.6) < 1e-9


# -- settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"TESTFLEET_RUN_ID": "mine", "GITHUB_RUN_ID": "1"}, "mine"),
        ({"GITHUB_RUN_ID": "77", "GITHUB_RUN_ATTEMPT": "2"}, "77-2"),
        ({"GITHUB_RUN_ID": "77"}, "77"),
        ({"CI_PIPELINE_ID": "5"}, "5"),
        ({"BUILDKITE_BUILD_ID": "b-1"}, "b-1"),
        ({"CIRCLE_WORKFLOW_ID": "c1"}, "c1"),
    ],
)
def test_the_run_id_comes_from_the_ci(environ: dict[str, str], expected: str | None) -> None:
    assert ci_run_id(environ) == expected


def test_a_run_id_is_required_and_checked() -> None:
    assert run_id("abc", {"GITHUB_RUN_ID": "1"}) == "abc"
    assert run_id(None, {"GITHUB_RUN_ID": "1"}) == "1"
    with pytest.raises(FleetSettingsError, match="--run-id"):
        run_id(None, {})
    for bad in ("", "a b", "x" * 201, "-start", "persist"):
        with pytest.raises(FleetSettingsError):
            run_id(bad, {})


def test_urls_and_node_names_are_checked() -> None:
    assert check_url("rediss://h:6380/0") == "rediss://h:6380/0"
    with pytest.raises(FleetSettingsError, match="redis://"):
        check_url("http://:secret@h")
    assert node_name(None, "host", 42) == "host-42"
    assert node_name("ci-2", "host", 42) == "ci-2"
    with pytest.raises(FleetSettingsError):
        node_name("a b", "host", 1)


def test_a_bad_url_is_not_shown_with_its_password() -> None:
    with pytest.raises(FleetSettingsError) as info:
        check_url("http://user:secret@host")
    assert "secret" not in str(info.value)


# -- the node's schedule, with an injected clock ------------------------------------


def test_heartbeats_come_three_times_per_lease() -> None:
    schedule = Schedule(lease=3.0)
    beats = [t / 10 for t in range(0, 61) if schedule.heartbeat_due(t / 10)]
    assert beats == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_lost_work_is_looked_for_at_least_once_a_second() -> None:
    assert Schedule(lease=15.0).reclaim_every == 1.0
    assert Schedule(lease=1.5).reclaim_every == 0.5
    schedule = Schedule(lease=15.0)
    looks = [t / 10 for t in range(0, 31) if schedule.reclaim_due(t / 10)]
    assert looks == [0.0, 1.0, 2.0, 3.0]


def test_results_are_written_in_bursts_unless_a_unit_is_complete() -> None:
    schedule = Schedule(lease=15.0)
    assert schedule.commit_due(1.0, urgent=False)
    assert not schedule.commit_due(1.005, urgent=False)
    assert schedule.commit_due(1.006, urgent=True)
    assert schedule.commit_due(1.02, urgent=False)


def test_a_test_is_run_again_once_after_a_lost_node() -> None:
    assert lost_verdict("t", []) is None
    assert lost_verdict("t", ["a"]) is None
    verdict = lost_verdict("t", ["a", "b"])
    assert verdict is not None
    assert "node a and node b were lost while running t" in verdict


@given(
    capacity=st.integers(1, 5),
    workers=st.integers(1, 5),
    used=st.integers(0, 5),
    wanted=st.booleans(),
)
def test_a_node_holds_the_slots_it_uses_and_at_most_one_more(
    capacity: int, workers: int, used: int, wanted: bool
) -> None:
    used = min(used, capacity, workers)
    target = slot_target(capacity=capacity, workers=workers, used=used, wanted=wanted)
    assert used <= target <= max(used, min(capacity, workers))
    assert target - used <= 1
    assert wanted or target == used


# -- the whole-run report ----------------------------------------------------------


def _result(nodeid: str, outcome: str, node: str = "n1", **more: object) -> FleetResult:
    return FleetResult(nodeid, outcome, node, "gw0", **more)  # type: ignore[arg-type]


def test_the_whole_run_line_names_counts_and_where_tests_failed() -> None:
    found = [
        _result("a.py::t1", "passed"),
        _result("a.py::t2", "failed", "ci-2"),
        _result("a.py::t3", "failed", "ci-2"),
        _result("a.py::t4", "error", "ci-1"),
        _result("a.py::t5", "skipped", rerun_after="ci-3"),
    ]
    assert run_line(found) == (
        "testfleet fleet: 3 nodes, 5 tests: 1 passed, 2 failed (on node ci-2), "
        "1 error (on node ci-1), 1 skipped, 1 re-run after a node was lost"
    )
    assert run_line([_result("a", "passed")]) == "testfleet fleet: 1 node, 1 test: 1 passed"
    blocks = failures(found)
    assert [b.split()[1] for b in blocks] == ["a.py::t2", "a.py::t3", "a.py::t4"]


def test_a_quarantined_failure_is_named_but_fails_nothing() -> None:
    found = [
        FleetResult("a.py::t1", "passed", "ci-1", "gw0"),
        FleetResult("a.py::t2", "failed", "ci-1", "gw0", quarantined=True),
        FleetResult("a.py::t3", "passed", "ci-1", "gw0", quarantined=True),
    ]
    assert run_line(found) == "testfleet fleet: 1 node, 3 tests: 2 passed, 1 quarantined"
    assert failures(found) == []
    assert not any(r.fails_run for r in found)
    suite = ET.fromstring(junit_xml(found, "pytest", {}))[0]
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")


@pytest.mark.parametrize(
    "extra",
    ['"cpu":-1', '"peak_rss":1.5', '"attempts":0', '"quarantined":"yes"'],
)
def test_monitoring_fields_of_a_result_are_checked(extra: str) -> None:
    text = encode_result(_result("a", "passed"))[:-1] + "," + extra + "}"
    with pytest.raises(MalformedEntry):
        decode_result(text)


def test_the_junit_file_names_tests_as_pytest_does() -> None:
    found = [
        _result("pkg/test_a.py::TestX::test_y[1]", "failed", message="boom\nE  assert 0"),
        _result("test_b.py::test_z", "xfailed"),
        _result("test_b.py::test_e", "error", rerun_after="n9"),
        _result("test_b.py::test_p", "passed"),
    ]
    root = ET.fromstring(junit_xml(found, "pytest", {"testfleet_run_id": "r"}))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "1")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    failed = cases[("pkg.test_a.TestX", "test_y[1]")]
    assert failed.find("failure") is not None
    assert failed.find("failure").get("message") == "E  assert 0"  # type: ignore[union-attr]
    assert cases[("test_b", "test_z")].find("skipped").get("type") == "pytest.xfail"  # type: ignore[union-attr]
    assert cases[("test_b", "test_e")].find("error") is not None
    props = {p.get("name"): p.get("value") for p in cases[("test_b", "test_e")].iter("property")}
    assert props["testfleet_rerun_after_lost_node"] == "n9"
    assert next(iter(cases[("test_b", "test_p")])).tag == "properties"
