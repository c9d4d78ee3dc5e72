"""Merging the SQLite histories of several shards into one."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from testfleet.history import HistoryError, SQLiteStore, merge
from testfleet.model.history import (
    CacheFigures,
    FixtureTiming,
    MachineSample,
    RunDetails,
    RunRecord,
    TestResult,
    WorkerSample,
)


def shard(path: Path, *runs: tuple[float, list[TestResult]], crashed: float | None = None) -> Path:
    """A history at ``path`` with finished runs (start, results) and maybe a crashed one."""
    with SQLiteStore(path) as store:
        for started, results in runs:
            run_id = store.begin_run(
                RunRecord(started, None, 2, path.stem, "abc", ("--shard",), None, "crashed")
            )
            store.finish_run(
                run_id, finished=started + 5, exit_code=0, status="complete", results=results
            )
        if crashed is not None:
            store.begin_run(RunRecord(crashed, None, 2, path.stem, None, (), None, "crashed"))
    return path


def res(nodeid: str, call: float = 1.0) -> TestResult:
    return TestResult(nodeid, "passed", 0.125, call, 0.0, "gw0", 0.5)


def test_merge_into_a_new_file(tmp_path: Path) -> None:
    """Runs of all sources land in a new file with new ids, oldest first, results intact."""
    one = shard(tmp_path / "one.db", (10.0, [res("a"), res("b")]), (30.0, [res("a", 3.0)]))
    two = shard(tmp_path / "two.db", (20.0, [res("c")]), crashed=40.0)
    out = tmp_path / "merged" / "all.db"
    assert merge([one, two], out) == 4
    with SQLiteStore(out) as store:
        runs = store.runs()
        assert [(r.started, r.host, r.status) for r in runs] == [
            (40.0, "two", "crashed"),
            (30.0, "one", "complete"),
            (20.0, "two", "complete"),
            (10.0, "one", "complete"),
        ]
        assert [r.run_id for r in runs] == [4, 3, 2, 1]
        assert runs[1].wall == 5.0
        assert runs[0].finished is None
        assert store.results(1) == [res("a"), res("b")]
        assert store.results(2) == [res("c")]
        assert store.results(4) == []


def test_merge_appends_to_an_existing_history(tmp_path: Path) -> None:
    """An existing history keeps its runs and gets the merged ones after them."""
    out = shard(tmp_path / "out.db", (1.0, [res("old")]))
    source = shard(tmp_path / "s.db", (2.0, [res("new")]))
    assert merge([source], out) == 1
    with SQLiteStore(out) as store:
        assert [r.started for r in store.runs()] == [2.0, 1.0]
        assert store.recent_results() == {"old": [(1, res("old"))], "new": [(2, res("new"))]}


def test_sources_are_left_untouched(tmp_path: Path) -> None:
    """Merging reads its sources without changing them."""
    source = shard(tmp_path / "s.db", (2.0, [res("x")]))
    before = source.read_bytes()
    merge([source], tmp_path / "out.db")
    assert source.read_bytes() == before


def test_no_sources_creates_an_empty_history(tmp_path: Path) -> None:
    """Merging nothing creates ``out`` and merges zero runs."""
    out = tmp_path / "out.db"
    assert merge([], out) == 0
    with SQLiteStore(out) as store:
        assert store.runs() == []


def test_missing_source_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    """A missing source raises HistoryError naming it, before ``out`` is created."""
    good = shard(tmp_path / "good.db", (1.0, [res("a")]))
    missing = tmp_path / "missing.db"
    with pytest.raises(HistoryError, match=f"history {missing} does not exist"):
        merge([good, missing], tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not sqlite at all" * 100, "is not a SQLite database"),
        (None, "is a SQLite database of another program"),
        (b"", "is an empty database, not a testfleet history"),
    ],
)
def test_foreign_source_is_named_and_out_unchanged(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """A source that is not a testfleet history is named, and ``out`` keeps its runs only."""
    out = shard(tmp_path / "out.db", (1.0, [res("a")]))
    good = shard(tmp_path / "good.db", (2.0, [res("b")]))
    bad = tmp_path / "bad.db"
    if content is None:
        with closing(sqlite3.connect(bad)) as conn:
            conn.execute("CREATE TABLE users (name TEXT)")
    else:
        bad.write_bytes(content)
    with pytest.raises(HistoryError, match=f"history {bad} {message}.*; check the paths to merge$"):
        merge([good, bad], out)
    with SQLiteStore(out) as store:
        assert [r.started for r in store.runs()] == [1.0]


def test_source_with_an_older_schema_is_refused(tmp_path: Path) -> None:
    """A source at an older schema version must be migrated before it is merged."""
    old = shard(tmp_path / "old.db", (1.0, [res("a")]))
    with closing(sqlite3.connect(old)) as conn, conn:
        conn.execute("UPDATE testfleet_meta SET value = '0'")
    with pytest.raises(HistoryError, match=r"older than this testfleet reads \(1\)"):
        merge([old], tmp_path / "out.db")


def test_foreign_output_is_refused(tmp_path: Path) -> None:
    """An ``out`` that is not a testfleet history is refused and left as it was."""
    out = tmp_path / "out.db"
    out.write_bytes(b"garbage" * 600)
    source = shard(tmp_path / "s.db", (1.0, []))
    with pytest.raises(HistoryError, match=f"history {out} is not a SQLite database"):
        merge([source], out)
    assert out.read_bytes() == b"garbage" * 600


def test_output_must_not_be_a_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Merging a file into itself, even under another spelling, is refused."""
    monkeypatch.chdir(tmp_path)
    one = shard(tmp_path / "one.db", (1.0, []))
    with pytest.raises(HistoryError, match="is both a source and the output"):
        merge([Path("one.db")], one)
    (tmp_path / "link.db").symlink_to(one)
    with pytest.raises(HistoryError, match="is both a source and the output"):
        merge([one], tmp_path / "link.db")
    with SQLiteStore(one) as store:
        assert len(store.runs()) == 1


def test_a_run_every_source_inherited_is_merged_once(tmp_path: Path) -> None:
    """Shards that started from one history carry its runs; the merge keeps one copy."""
    base = shard(tmp_path / "base.db", (10.0, [res("a")]))
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    for copy in (one, two):
        copy.write_bytes(base.read_bytes())
    shard(one, (20.0, [res("b")]))
    shard(two, (21.0, [res("c")]))
    out = tmp_path / "out.db"
    assert merge([one, two], out) == 3
    assert merge([one, two], out) == 0  # everything is there already
    with SQLiteStore(out) as store:
        assert sorted(r.started for r in store.runs()) == [10.0, 20.0, 21.0]


def test_a_source_of_schema_version_1_is_merged(tmp_path: Path) -> None:
    """A shard's history written before schema version 2 merges without being migrated first."""
    source = shard(tmp_path / "old.db", (1.0, [res("a")]))
    with closing(sqlite3.connect(source)) as conn, conn:
        # What version 2 added, taken away again: the file as version 1 left it.
        conn.execute("DROP TABLE testfleet_splits")
        conn.execute("ALTER TABLE testfleet_runs DROP COLUMN recorded")
        conn.execute("UPDATE testfleet_meta SET value = '1'")
    before = source.read_bytes()
    out = tmp_path / "out.db"

    assert merge([source], out) == 1

    with SQLiteStore(out) as store:
        snapshot = store.snapshot("TESTFLEET_SPLIT_ID=next", created=2.0)
        assert [r.status for r in store.runs()] == ["complete"]
        assert store.recent_results(snapshot=snapshot)["a"][0][1] == res("a")
    assert source.read_bytes() == before


def test_merge_carries_cache_figures(tmp_path: Path) -> None:
    """A run's cache figures arrive in the merged history; a run without them stays without."""
    figures = CacheFigures(hits=4, misses=2, sets=2, evictions=0, saved_seconds=1.5)
    source = tmp_path / "cached.db"
    with SQLiteStore(source) as store:
        run_id = store.begin_run(RunRecord(1.0, None, 2, "a", None, (), None, "crashed"))
        store.finish_run(
            run_id, finished=2.0, exit_code=0, status="complete", results=[], cache=figures
        )
    plain = shard(tmp_path / "plain.db", (3.0, [res("a")]))
    out = tmp_path / "out.db"

    assert merge([source, plain], out) == 2

    with SQLiteStore(out) as store:
        assert [(r.started, r.cache) for r in store.runs()] == [(3.0, None), (1.0, figures)]


def test_a_source_of_schema_version_2_merges_without_cache_figures(tmp_path: Path) -> None:
    """A history written before schema version 3 merges as it is, its runs without figures."""
    source = shard(tmp_path / "old.db", (1.0, [res("a")]))
    with closing(sqlite3.connect(source)) as conn, conn:
        # What version 3 added, taken away again: the file as version 2 left it.
        for column in ("hits", "misses", "sets", "evictions", "saved_seconds"):
            conn.execute(f"ALTER TABLE testfleet_runs DROP COLUMN cache_{column}")
        conn.execute("UPDATE testfleet_meta SET value = '2'")
    before = source.read_bytes()
    out = tmp_path / "out.db"

    assert merge([source], out) == 1

    with SQLiteStore(out) as store:
        assert [(r.status, r.cache) for r in store.runs()] == [("complete", None)]
        assert store.results(1) == [res("a")]
    assert source.read_bytes() == before


def test_merge_carries_usage_totals_and_details(tmp_path: Path) -> None:
    """Per-test usage, a run's totals and its monitoring details arrive in the merged history."""
    details = RunDetails(
        workers=(WorkerSample(0.5, "gw0", 50.0, 1 << 20),),
        machine=(MachineSample(0.5, 25.0, 1, 2, 3, 4, 0.5),),
        fixtures=(FixtureTiming("db", "module", 1, 0.25, 0.25),),
    )
    measured = TestResult(
        "a",
        "passed",
        call=1.0,
        cpu=0.5,
        peak_rss=1 << 20,
        attempts=2,
        category="db",
        resources=("pg", "redis"),
    )
    source = tmp_path / "monitored.db"
    with SQLiteStore(source) as store:
        run_id = store.begin_run(RunRecord(1.0, None, 2, "a", None, (), None, "crashed"))
        store.finish_run(
            run_id,
            finished=2.0,
            exit_code=0,
            status="complete",
            results=[measured],
            planned=0.75,
            peak_rss=3 << 20,
            details=details,
        )
    out = tmp_path / "out.db"

    assert merge([source], out) == 1

    with SQLiteStore(out) as store:
        [run] = store.runs()
        assert (run.tests, run.test_seconds, run.planned, run.peak_rss) == (1, 1.0, 0.75, 3 << 20)
        assert run.run_id is not None
        assert store.results(run.run_id) == [measured]
        assert store.details(run.run_id) == details


def test_a_source_of_schema_version_3_merges_without_details(tmp_path: Path) -> None:
    """A history written before schema version 4 merges; its runs have no usage or details."""
    source = shard(tmp_path / "old.db", (1.0, [res("a")]))
    with closing(sqlite3.connect(source)) as conn, conn:
        # What version 4 added, taken away again: the file as version 3 left it.
        for table in ("worker_samples", "machine_samples", "fixtures"):
            conn.execute(f"DROP TABLE testfleet_{table}")
        for column in ("tests", "test_seconds", "planned_seconds", "peak_rss_bytes"):
            conn.execute(f"ALTER TABLE testfleet_runs DROP COLUMN {column}")
        for column in (
            "cpu_seconds",
            "peak_rss_bytes",
            "attempts",
            "quarantined",
            "category",
            "resources",
        ):
            conn.execute(f"ALTER TABLE testfleet_results DROP COLUMN {column}")
        conn.execute("UPDATE testfleet_meta SET value = '3'")
    out = tmp_path / "out.db"

    assert merge([source], out) == 1

    with SQLiteStore(out) as store:
        [run] = store.runs()
        assert (run.tests, run.test_seconds) == (None, None)
        assert store.results(1) == [res("a")]
        assert store.details(1) == RunDetails()
