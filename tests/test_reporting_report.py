"""Unit and property tests of the report's JSON document and of its HTML page (pure)."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from testfleet.model.history import (
    CacheFigures,
    FinishedRun,
    FixtureTiming,
    MachineSample,
    RunDetails,
    RunRecord,
    TestResult,
    WorkerSample,
)
from testfleet.monitoring.flaky import FlakyScore, Observation, observe, scores
from testfleet.reporting.html import embed_json, render_html
from testfleet.reporting.report import (
    SCHEMA_VERSION,
    iso_date,
    lane_of,
    report_document,
    runs_of_recent,
)

#: 2026-11-28 09:00:00 UTC.
T0 = 1_795_856_400.0


def record(
    run_id: int | None = 7, *, started: float = T0, wall: float = 10.0, **kw: object
) -> RunRecord:
    fields: dict[str, object] = {
        "started": started,
        "finished": started + wall,
        "workers": 2,
        "host": "ci-1",
        "commit": "abc123",
        "arguments": ("--workers=2",),
        "exit_code": 1,
        "status": "complete",
        "run_id": run_id,
        "tests": 4,
        "test_seconds": 12.0,
    }
    fields.update(kw)
    return RunRecord(**fields)  # type: ignore[arg-type]


RESULTS = (
    TestResult("t.py::a", "passed", 0.1, 4.0, 0.0001, worker="gw0", start=0.0, cpu=3.21234,
               peak_rss=50_000_000, category="unit"),
    TestResult("t.py::b", "failed", 0.0, 2.0, 0.0, worker="gw1", start=0.5, cpu=1.0,
               peak_rss=60_000_000, category="unit", resources=("smtp",)),
    TestResult("t.py::c[1]", "passed", 0.0, 3.0, 0.0, worker="gw1", start=3.0, attempts=2,
               category="functional", resources=("db", "smtp")),
    TestResult("t.py::d", "failed", 0.0, 2.9, 0.0, worker="gw0", start=4.2, quarantined=True),
)  # fmt: skip


def finished(results: tuple[TestResult, ...] = RESULTS, **kw: object) -> FinishedRun:
    details = RunDetails(
        workers=(
            WorkerSample(0.5, "gw1", 99.04, 1000),
            WorkerSample(0.5, "controller", 3.0, 500),
            WorkerSample(0.0, "gw0", 50.0, 900),
        ),
        machine=(MachineSample(0.5, 90.0, 6, 24, 100, 400, 1.234),),
        fixtures=(
            FixtureTiming("db", "session", 2, 1.5, 1.0),
            FixtureTiming("tmp", "function", 4, 3.0, 0.9),
        ),
    )
    return FinishedRun(record(**kw), results, details)


def test_the_document_carries_its_schema_and_the_run_summary() -> None:
    """The run summary counts outcomes and keeps the run's own figures, rounded to ms."""
    doc = report_document(finished(), generator="testfleet 9")
    assert doc["schema"] == SCHEMA_VERSION == 1
    assert doc["generator"] == "testfleet 9"
    run = doc["run"]
    assert run["id"] == 7
    assert run["date"] == "2026-11-28T09:00:00Z"
    assert run["wall"] == 10.0
    assert run["tests"] == 4
    assert run["outcomes"] == {"passed": 2, "failed": 2}
    assert run["efficiency"] == 0.6  # 12 test seconds over 2 workers x 10 s
    assert (run["flaky"], run["quarantined"]) == (1, 1)
    assert run["arguments"] == ["--workers=2"]
    assert "cache" not in doc


def test_a_test_keeps_its_figures_and_leaves_out_usual_values() -> None:
    """Times round to the millisecond; attempts, flags, category and resources only when set."""
    tests = {t["nodeid"]: t for t in report_document(finished())["tests"]}
    assert tests["t.py::a"] == {
        "nodeid": "t.py::a",
        "outcome": "passed",
        "duration": 4.1,
        "setup": 0.1,
        "call": 4.0,
        "teardown": 0.0,
        "worker": "gw0",
        "start": 0.0,
        "cpu_seconds": 3.212,
        "peak_rss_bytes": 50_000_000,
        "category": "unit",
    }
    assert tests["t.py::c[1]"]["attempts"] == 2
    assert tests["t.py::c[1]"]["flaky"] is True
    assert tests["t.py::c[1]"]["resources"] == ["db", "smtp"]
    assert tests["t.py::d"]["quarantined"] is True
    assert "category" not in tests["t.py::d"]
    assert tests["t.py::d"]["cpu_seconds"] is None


def test_workers_categories_resources_and_slowest() -> None:
    """Per lane: tests, busy seconds, efficiency; per category and resource: tests and seconds."""
    doc = report_document(finished(), slowest=2)
    lanes = [
        (w["name"], w["tests"], w["busy"], w["efficiency"], w["failed"]) for w in doc["workers"]
    ]
    assert lanes == [("gw0", 2, 7.0, 0.7, 1), ("gw1", 2, 5.0, 0.5, 1)]
    assert doc["workers"][0]["peak_rss_bytes"] == 50_000_000
    assert [(c["name"], c["tests"], c["seconds"], c["failed"]) for c in doc["categories"]] == [
        ("unit", 2, 6.1, 1),
        ("functional", 1, 3.0, 0),
        (None, 1, 2.9, 1),
    ]
    assert [(r["name"], r["tests"], r["seconds"]) for r in doc["resources"]] == [
        ("smtp", 2, 5.0),
        ("db", 1, 3.0),
    ]
    assert [s["nodeid"] for s in doc["slowest"]] == ["t.py::a", "t.py::c[1]"]


def test_samples_machine_and_fixtures_are_ordered() -> None:
    """Samples by time, fixtures by seconds (most first); memory stays in bytes."""
    doc = report_document(finished())
    assert [(s["at"], s["process"]) for s in doc["samples"]] == [
        (0.0, "gw0"),
        (0.5, "controller"),
        (0.5, "gw1"),
    ]
    assert doc["samples"][2] == {
        "at": 0.5,
        "process": "gw1",
        "cpu_percent": 99.0,
        "rss_bytes": 1000,
    }
    assert doc["machine"] == [
        {
            "at": 0.5,
            "cpu_percent": 90.0,
            "memory_used_bytes": 6,
            "memory_total_bytes": 24,
            "disk_used_bytes": 100,
            "disk_total_bytes": 400,
            "load": 1.23,
        }
    ]
    assert [f["name"] for f in doc["fixtures"]] == ["tmp", "db"]


def test_fleet_workers_are_lanes_of_their_node() -> None:
    """``node/gw0`` is lane ``node/gw0`` of node ``node``; lanes sort by node, then number."""
    assert lane_of("ci-2/gw0") == ("ci-2", "ci-2/gw0")
    assert lane_of("gw3") == (None, "gw3")
    assert lane_of(None) == (None, "main")
    results = tuple(
        TestResult(f"t.py::{i}", "passed", call=1.0, worker=w, start=float(i))
        for i, w in enumerate(["b/gw10", "b/gw2", "a/gw1", None])
    )
    lanes = [(w["name"], w["node"]) for w in report_document(finished(results))["workers"]]
    assert lanes == [("main", None), ("a/gw1", "a"), ("b/gw2", "b"), ("b/gw10", "b")]


def test_trends_are_the_runs_up_to_this_one_oldest_first() -> None:
    """Later and crashed runs are left out; this run is marked current; a limit keeps the newest."""
    history = [
        record(9, started=T0 + 100),  # after this run
        record(7, started=T0, wall=20.0),  # this run, as stored
        record(5, started=T0 - 100, wall=5.0, tests=3, test_seconds=5.0),
        record(6, started=T0 - 50, finished=None, status="crashed"),
        record(4, started=T0 - 200),
    ]
    trends = report_document(finished(), history_runs=history, trends=2)["trends"]
    assert [(t["id"], t["current"], t["wall"]) for t in trends] == [
        (5, False, 5.0),
        (7, True, 20.0),
    ]
    assert trends[0] == {
        "id": 5,
        "date": iso_date(T0 - 100),
        "wall": 5.0,
        "tests": 3,
        "test_seconds": 5.0,
        "efficiency": 0.5,
        "workers": 2,
        "exit_code": 1,
        "status": "complete",
        "current": False,
    }


def test_a_run_without_an_id_is_found_in_trends_by_its_start() -> None:
    """The recorder's run has no id yet: the stored run that started with it is this one."""
    history = [record(3, started=T0)]
    trends = report_document(finished(run_id=None), history_runs=history)["trends"]
    assert [t["current"] for t in trends] == [True]


def test_flaky_quarantined_and_cache() -> None:
    """Flaky scores as given; quarantine names match their parametrizations; cache with hit rate."""
    score = FlakyScore("t.py::a", 0.41666, certain=False, samples=13, flips=5, evidence="why")
    cache = CacheFigures(hits=3, misses=1, sets=1, evictions=0, saved_seconds=2.0004)
    doc = report_document(
        finished(cache=cache),
        flaky=[score],
        quarantined_names=["t.py::c", "t.py::gone"],
    )
    assert doc["flaky"] == [
        {
            "nodeid": "t.py::a",
            "score": 0.417,
            "certain": False,
            "samples": 13,
            "flips": 5,
            "evidence": "why",
        }
    ]
    assert doc["quarantined"] == [
        {"nodeid": "t.py::c[1]", "outcome": "passed"},
        {"nodeid": "t.py::d", "outcome": "failed"},
        {"nodeid": "t.py::gone", "outcome": None},
    ]
    assert doc["cache"] == {
        "hits": 3,
        "misses": 1,
        "sets": 1,
        "evictions": 0,
        "saved_seconds": 2.0,
        "hit_rate": 0.75,
    }


def test_an_empty_run_makes_a_document() -> None:
    """A run with no tests, samples or history still has every list, empty."""
    doc = report_document(FinishedRun(record(finished=None, test_seconds=None), ()))
    for key in ("tests", "workers", "samples", "machine", "fixtures", "slowest", "categories"):
        assert doc[key] == []
    assert doc["run"]["wall"] is None
    assert doc["run"]["efficiency"] is None
    assert doc["run"]["test_seconds"] == 0.0


def test_recent_results_become_runs_that_flaky_scores_read() -> None:
    """Each run gets its tests' recent results; unknown runs and, with ``upto``, later ones go."""
    runs = [record(i, commit=f"c{i}") for i in (1, 2, 3)]
    recent = {
        "t::a": [(3, TestResult("t::a", "failed")), (2, TestResult("t::a", "passed"))],
        "t::b": [(3, TestResult("t::b", "failed")), (1, TestResult("t::b", "passed"))],
        "t::c": [(99, TestResult("t::c", "failed"))],
    }
    grouped = runs_of_recent(runs, recent)
    assert [(run.run_id, [r.nodeid for r in results]) for run, results in grouped] == [
        (1, ["t::b"]),
        (2, ["t::a"]),
        (3, ["t::a", "t::b"]),
    ]
    assert [run.run_id for run, _ in runs_of_recent(runs, recent, upto=2)] == [1, 2]
    observed = observe(grouped)
    assert observed.outages == frozenset({3})  # every test failed in run 3
    assert observed.history["t::a"][0] == Observation(2, "c2", "passed")
    same_commit = [record(1, commit="k"), record(2, commit="k")]
    recent = {"t::c": [(2, TestResult("t::c", "failed")), (1, TestResult("t::c", "passed"))]}
    found = scores(observe(runs_of_recent(same_commit, recent)).history)
    assert [(s.nodeid, s.certain) for s in found] == [("t::c", True)]


def test_the_page_is_one_file_with_its_data_inline() -> None:
    """Style, script and data are inline; nothing is loaded from anywhere."""
    page = render_html(report_document(finished()))
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert 'id="testfleet-data"' in page
    assert re.search(r"""(src|href)\s*=""", page) is None
    assert "@import" not in page
    assert "url(" not in page
    assert "<title>testfleet report · run #7 · 2026-11-28T09:00:00Z</title>" in page
    data = re.search(
        r'<script type="application/json" id="testfleet-data">(.*?)</script>', page, re.S
    )
    assert data is not None
    assert json.loads(data.group(1))["run"]["id"] == 7


def test_a_test_id_cannot_end_the_script() -> None:
    """A ``</script>`` or ``<!--`` in a test id stays inside the JSON."""
    nasty = 't.py::test[</script><script>alert(1)</script><!--"]'
    results = (TestResult(nasty, "passed", call=1.0, worker="gw0", start=0.0),)
    page = render_html(report_document(finished(results)))
    assert page.count("</script>") == 3  # the error catcher, the data and the script
    assert "<!--" not in page
    data = page.split('id="testfleet-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["tests"][0]["nodeid"] == nasty


_times = st.floats(0, 1e5, allow_nan=False, allow_infinity=False)
_results = st.builds(
    TestResult,
    nodeid=st.text(min_size=1, max_size=30),
    outcome=st.sampled_from(["passed", "failed", "skipped", "error", "xfailed", "xpassed"]),
    setup=_times,
    call=_times,
    teardown=_times,
    worker=st.one_of(st.none(), st.sampled_from(["gw0", "gw1", "n1/gw0", "n2/gw1"])),
    start=st.one_of(st.none(), _times),
    cpu=st.one_of(st.none(), _times),
    peak_rss=st.one_of(st.none(), st.integers(0, 2**40)),
    attempts=st.integers(1, 3),
    quarantined=st.booleans(),
    category=st.one_of(st.none(), st.sampled_from(["unit", "integration"])),
    resources=st.lists(st.sampled_from(["db", "smtp"]), unique=True).map(
        lambda r: tuple(sorted(r))
    ),
)


@given(
    st.lists(_results, max_size=30),
    st.one_of(st.none(), st.floats(0, 1e5)),
    st.lists(st.text(max_size=10), max_size=5),
)
def test_every_document_is_json_that_accounts_for_every_test(
    results: list[TestResult], wall: float | None, names: list[str]
) -> None:
    """Whatever the results, the document is strict JSON and its tallies add up."""
    run = record(finished=None if wall is None else T0 + wall)
    doc = report_document(FinishedRun(run, tuple(results)), quarantined_names=names)
    text = json.dumps(doc, allow_nan=False)  # no NaN or infinity anywhere
    assert json.loads(embed_json(doc)) == json.loads(text)
    assert "<" not in embed_json(doc)
    assert len(doc["tests"]) == len(results) == doc["run"]["tests"]
    assert sum(doc["run"]["outcomes"].values()) == len(results)
    assert sum(w["tests"] for w in doc["workers"]) == len(results)
    assert sum(c["tests"] for c in doc["categories"]) == len(results)
    assert len({w["name"] for w in doc["workers"]}) == len(doc["workers"])
    assert sum(r["tests"] for r in doc["resources"]) == sum(len(r.resources) for r in results)
    assert len(doc["slowest"]) == min(len(results), 25)
    durations = [s["duration"] for s in doc["slowest"]]
    assert durations == sorted(durations, reverse=True)
    quarantined = {q["nodeid"] for q in doc["quarantined"]}
    assert {r.nodeid for r in results if r.quarantined} <= quarantined
    for test, result in zip(doc["tests"], results, strict=True):
        assert test["nodeid"] == result.nodeid
        assert abs(test["duration"] - result.duration) <= 0.0015
        assert ("attempts" in test) == (result.attempts != 1)
