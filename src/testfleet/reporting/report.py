"""The report of one run as a JSON document (pure): what the HTML report draws, and
what ``--report=PATH.json`` writes for machines.

The document is plain data (dicts, lists, strings, numbers, booleans, None), so
that ``json.dumps`` writes it as it is.  It stays compact for large runs: times
are rounded to the millisecond, and the fields of a test that hold their usual
value (one attempt, not flaky, not quarantined, no category, no resources) are
left out.  docs/report.md documents every field.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from testfleet.model.history import FinishedRun, RunRecord, TestResult
from testfleet.reporting.flaky import score_json

if TYPE_CHECKING:
    from testfleet.monitoring.flaky import FlakyScore

#: The version of the document's layout; a reader should check it.
SCHEMA_VERSION = 1

#: How many of the slowest tests the document lists.
SLOWEST = 25
#: How many recorded runs the trends show, at most.
TRENDS = 30
#: The lane of tests that ran in the controller's own process (no worker).
IN_PROCESS = "main"

#: The order outcomes are counted in.
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")

Document = dict[str, Any]


def report_document(
    finished: FinishedRun,
    *,
    history_runs: Sequence[RunRecord] = (),
    flaky: Sequence[FlakyScore] = (),
    quarantined_names: Iterable[str] = (),
    generator: str = "testfleet",
    trends: int = TRENDS,
    slowest: int = SLOWEST,
) -> Document:
    """The JSON document of ``finished``: its run, tests, lanes, samples and history.

    ``history_runs`` are the runs the history holds (any order; this run among
    them or not); the trends show the ``trends`` newest that started no later
    than this run.  ``flaky`` are the history's flaky scores; ``quarantined_names``
    the node ids in quarantine, besides the tests this run ran quarantined.
    """
    run, results, details = finished.run, finished.results, finished.details
    wall = run.wall
    document: Document = {
        "schema": SCHEMA_VERSION,
        "generator": generator,
        "run": _run(run, results),
        "tests": [_test(r) for r in results],
        "workers": _workers(results, wall),
        "samples": [
            {
                "at": _ms(s.at),
                "process": s.process,
                "cpu_percent": _pct(s.cpu_percent),
                "rss_bytes": s.rss,
            }
            for s in sorted(details.workers, key=lambda s: (s.at, s.process))
        ],
        "machine": [
            {
                "at": _ms(m.at),
                "cpu_percent": _pct(m.cpu_percent),
                "memory_used_bytes": m.memory_used,
                "memory_total_bytes": m.memory_total,
                "disk_used_bytes": m.disk_used,
                "disk_total_bytes": m.disk_total,
                "load": round(m.load, 2) if math.isfinite(m.load) else 0.0,
            }
            for m in sorted(details.machine, key=lambda m: m.at)
        ],
        "fixtures": [
            {
                "name": f.name,
                "scope": f.scope,
                "count": f.count,
                "seconds": _ms(f.seconds),
                "slowest": _ms(f.slowest),
            }
            for f in sorted(details.fixtures, key=lambda f: (-f.seconds, f.name))
        ],
        "slowest": [
            {
                "nodeid": r.nodeid,
                "duration": _ms(r.duration),
                "outcome": r.outcome,
                "worker": r.worker,
            }
            for r in sorted(results, key=lambda r: (-r.duration, r.nodeid))[: max(0, slowest)]
        ],
        "categories": _groups((r.category, r) for r in results),
        "resources": _groups((name, r) for r in results for name in r.resources),
        "trends": _trends(run, history_runs, trends),
        "flaky": [score_json(s) for s in flaky],
        "quarantined": _quarantined(results, quarantined_names),
    }
    if run.cache is not None:
        cache = run.cache
        lookups = cache.hits + cache.misses
        document["cache"] = {
            "hits": cache.hits,
            "misses": cache.misses,
            "sets": cache.sets,
            "evictions": cache.evictions,
            "saved_seconds": _ms(cache.saved_seconds),
            "hit_rate": round(cache.hits / lookups, 4) if lookups else None,
        }
    return document


def _ms(seconds: float) -> float:
    """Seconds rounded to the millisecond; what is not a finite number counts as 0."""
    return round(seconds, 3) if math.isfinite(seconds) else 0.0


def _opt_ms(seconds: float | None) -> float | None:
    return None if seconds is None else _ms(seconds)


def _pct(value: float) -> float:
    return round(value, 1) if math.isfinite(value) else 0.0


def iso_date(epoch: float) -> str:
    """An epoch time as an ISO 8601 UTC time to the second: ``2026-11-28T09:15:02Z``."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(run: RunRecord, results: Sequence[TestResult]) -> dict[str, Any]:
    counts: Counter[str] = Counter(r.outcome for r in results)
    test_seconds = run.test_seconds
    if test_seconds is None:
        test_seconds = sum(r.duration for r in results)
    wall = run.wall
    efficiency = run.efficiency
    if efficiency is None and wall and wall > 0:
        efficiency = test_seconds / (max(1, run.workers) * wall)
    return {
        "id": run.run_id,
        "started": round(run.started, 3),
        "date": iso_date(run.started),
        "finished": None if run.finished is None else round(run.finished, 3),
        "wall": _opt_ms(wall),
        "status": run.status,
        "exit_code": run.exit_code,
        "workers": run.workers,
        "host": run.host,
        "commit": run.commit,
        "arguments": list(run.arguments),
        "tests": len(results),
        "outcomes": {o: counts[o] for o in OUTCOMES if counts[o]},
        "test_seconds": _ms(test_seconds),
        "planned": _opt_ms(run.planned),
        "peak_rss_bytes": run.peak_rss,
        "efficiency": None if efficiency is None else round(efficiency, 4),
        "flaky": sum(1 for r in results if r.flaky),
        "quarantined": sum(1 for r in results if r.quarantined),
    }


def _test(result: TestResult) -> dict[str, Any]:
    test: dict[str, Any] = {
        "nodeid": result.nodeid,
        "outcome": result.outcome,
        "duration": _ms(result.duration),
        "setup": _ms(result.setup),
        "call": _ms(result.call),
        "teardown": _ms(result.teardown),
        "worker": result.worker,
        "start": _opt_ms(result.start),
        "cpu_seconds": _opt_ms(result.cpu),
        "peak_rss_bytes": result.peak_rss,
    }
    # Left out when they hold their usual value: 10 000 tests would carry them for nothing.
    if result.attempts != 1:
        test["attempts"] = result.attempts
    if result.flaky:
        test["flaky"] = True
    if result.quarantined:
        test["quarantined"] = True
    if result.category is not None:
        test["category"] = result.category
    if result.resources:
        test["resources"] = list(result.resources)
    return test


def lane_of(worker: str | None) -> tuple[str | None, str]:
    """The node and the lane name of a worker: ``"ci-2/gw0"`` -> ``("ci-2", "ci-2/gw0")``."""
    if worker is None:
        return None, IN_PROCESS
    node, slash, _ = worker.rpartition("/")
    return (node if slash else None), worker


def _workers(results: Sequence[TestResult], wall: float | None) -> list[dict[str, Any]]:
    """One entry per lane (worker), ordered by node and then by worker number."""
    lanes: dict[str, list[TestResult]] = {}
    for result in results:
        lanes.setdefault(lane_of(result.worker)[1], []).append(result)
    entries = []
    for name, tests in lanes.items():
        node, _ = lane_of(None if name == IN_PROCESS else name)
        busy = sum(r.duration for r in tests)
        cpu = [r.cpu for r in tests if r.cpu is not None]
        rss = [r.peak_rss for r in tests if r.peak_rss is not None]
        entries.append(
            {
                "name": name,
                "node": node,
                "tests": len(tests),
                "busy": _ms(busy),
                "efficiency": round(busy / wall, 4) if wall and wall > 0 else None,
                "cpu_seconds": _ms(sum(cpu)) if cpu else None,
                "peak_rss_bytes": max(rss) if rss else None,
                "failed": sum(1 for r in tests if r.outcome in ("failed", "error")),
            }
        )
    return sorted(entries, key=lambda e: (e["node"] or "", _natural(e["name"])))


def _natural(name: str) -> tuple[str, int, str]:
    """``gw2`` before ``gw10``: the trailing number of a worker's name counts as a number."""
    head = name.rstrip("0123456789")
    digits = name[len(head) :]
    return head, int(digits) if digits else -1, name


def _groups(pairs: Iterable[tuple[str | None, TestResult]]) -> list[dict[str, Any]]:
    """Tests and seconds per name (category or resource), most seconds first."""
    tests: Counter[str | None] = Counter()
    seconds: dict[str | None, float] = {}
    failed: Counter[str | None] = Counter()
    for name, result in pairs:
        tests[name] += 1
        seconds[name] = seconds.get(name, 0.0) + result.duration
        if result.outcome in ("failed", "error"):
            failed[name] += 1
    return [
        {"name": name, "tests": tests[name], "seconds": _ms(seconds[name]), "failed": failed[name]}
        for name in sorted(tests, key=lambda n: (-seconds[n], n or ""))
    ]


def _is_this_run(record: RunRecord, run: RunRecord) -> bool:
    if run.run_id is not None and record.run_id is not None:
        return record.run_id == run.run_id
    return record.started == run.started


def _trends(run: RunRecord, history: Sequence[RunRecord], limit: int) -> list[dict[str, Any]]:
    """The recorded runs up to this one, oldest first: what the trend charts draw."""
    earlier = [r for r in history if r.started <= run.started and r.status != "crashed"]
    earlier.sort(key=lambda r: (r.started, r.run_id or 0))
    entries = []
    for record in earlier[-limit:] if limit > 0 else []:
        efficiency = record.efficiency
        entries.append(
            {
                "id": record.run_id,
                "date": iso_date(record.started),
                "wall": _opt_ms(record.wall),
                "tests": record.tests,
                "test_seconds": _opt_ms(record.test_seconds),
                "efficiency": None if efficiency is None else round(efficiency, 4),
                "workers": record.workers,
                "exit_code": record.exit_code,
                "status": record.status,
                "current": _is_this_run(record, run),
            }
        )
    return entries


def _quarantined(results: Sequence[TestResult], names: Iterable[str]) -> list[dict[str, Any]]:
    """The tests in quarantine, with what each did in this run (None: it did not run).

    A name without parameters stands for every parametrization of its test, as
    the quarantine reads it.
    """
    wanted = set(names)
    entries: dict[str, str | None] = {}
    matched: set[str] = set()
    for r in results:
        base = r.nodeid.partition("[")[0]
        if r.quarantined or r.nodeid in wanted or base in wanted:
            entries[r.nodeid] = r.outcome
            matched.update((r.nodeid, base))
    for name in wanted - matched:
        entries[name] = None
    return [{"nodeid": nodeid, "outcome": entries[nodeid]} for nodeid in sorted(entries)]


def runs_of_recent(
    runs: Sequence[RunRecord],
    recent: Mapping[str, Sequence[tuple[int, TestResult]]],
    *,
    upto: int | None = None,
) -> list[tuple[RunRecord, list[TestResult]]]:
    """The store's recent results (``recent_results``) as runs with their results.

    That is what ``monitoring.flaky.observe`` reads; one query for the last
    results of each test costs far less than every result of many runs.  Runs
    ``runs`` does not hold are left out, and with ``upto`` so are the runs
    recorded after that run id: the report of an older run scores with what was
    known then.
    """
    known = {r.run_id: r for r in runs if r.run_id is not None}
    by_run: dict[int, list[TestResult]] = {}
    for pairs in recent.values():
        for run_id, result in pairs:
            if run_id in known and (upto is None or run_id <= upto):
                by_run.setdefault(run_id, []).append(result)
    return [(known[run_id], by_run[run_id]) for run_id in sorted(by_run)]
