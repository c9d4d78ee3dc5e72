"""A run's details as monitoring saw them: three tables beside the run (schema version 4).

Each process's samples (``testfleet_worker_samples``), the machine's
(``testfleet_machine_samples``) and the fixtures' set-up times
(``testfleet_fixtures``), all deleted with their run.  Written and read in the
caller's transaction, in SQL both engines accept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from testfleet.model.history import FixtureTiming, MachineSample, RunDetails, WorkerSample

if TYPE_CHECKING:
    from testfleet.history._sql import Reader, Transaction

WORKER_SAMPLES = "testfleet_worker_samples"
MACHINE_SAMPLES = "testfleet_machine_samples"
FIXTURES = "testfleet_fixtures"

_INSERT_WORKER_SAMPLE = (
    f"INSERT INTO {WORKER_SAMPLES} (run_id, seq, at_seconds, process, cpu_percent, rss_bytes) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_MACHINE_SAMPLE = (
    f"INSERT INTO {MACHINE_SAMPLES} (run_id, seq, at_seconds, cpu_percent, memory_used, "
    "memory_total, disk_used, disk_total, load_average) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_FIXTURE = (
    f"INSERT INTO {FIXTURES} (run_id, name, scope, setups, seconds, slowest) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def create_detail_tables(tx: Transaction, *, real: str, runs: str) -> None:
    """Create the three tables, each row belonging to a run of ``runs``."""
    owner = f"run_id BIGINT NOT NULL REFERENCES {runs} (run_id) ON DELETE CASCADE"
    tx.execute(
        f"""CREATE TABLE {WORKER_SAMPLES} (
            {owner}, seq INTEGER NOT NULL, at_seconds {real} NOT NULL, process TEXT NOT NULL,
            cpu_percent {real} NOT NULL, rss_bytes BIGINT NOT NULL, PRIMARY KEY (run_id, seq)
        )"""
    )
    tx.execute(
        f"""CREATE TABLE {MACHINE_SAMPLES} (
            {owner}, seq INTEGER NOT NULL, at_seconds {real} NOT NULL,
            cpu_percent {real} NOT NULL, memory_used BIGINT NOT NULL,
            memory_total BIGINT NOT NULL, disk_used BIGINT NOT NULL, disk_total BIGINT NOT NULL,
            load_average {real} NOT NULL, PRIMARY KEY (run_id, seq)
        )"""
    )
    tx.execute(
        f"""CREATE TABLE {FIXTURES} (
            {owner}, name TEXT NOT NULL, scope TEXT NOT NULL, setups INTEGER NOT NULL,
            seconds {real} NOT NULL, slowest {real} NOT NULL, PRIMARY KEY (run_id, name, scope)
        )"""
    )


def detail_rows(
    run_id: int, details: RunDetails
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    """``details`` as rows of the worker samples, machine samples and fixtures tables."""
    Row = tuple[object, ...]
    workers: list[Row] = [
        (run_id, seq, s.at, s.process, s.cpu_percent, s.rss)
        for seq, s in enumerate(details.workers)
    ]
    machine: list[Row] = [
        (
            run_id,
            seq,
            m.at,
            m.cpu_percent,
            m.memory_used,
            m.memory_total,
            m.disk_used,
            m.disk_total,
            m.load,
        )
        for seq, m in enumerate(details.machine)
    ]
    fixtures: list[Row] = [
        (run_id, f.name, f.scope, f.count, f.seconds, f.slowest) for f in details.fixtures
    ]
    return workers, machine, fixtures


def write_details(tx: Transaction, run_id: int, details: RunDetails) -> None:
    """Insert the rows of ``details`` for ``run_id``."""
    workers, machine, fixtures = detail_rows(run_id, details)
    if workers:
        tx.executemany(_INSERT_WORKER_SAMPLE, workers)
    if machine:
        tx.executemany(_INSERT_MACHINE_SAMPLE, machine)
    if fixtures:
        tx.executemany(_INSERT_FIXTURE, fixtures)


def read_details(tx: Reader, run_id: int) -> RunDetails:
    """The details stored for ``run_id`` (empty when there are none)."""
    workers = tx.query(
        f"SELECT at_seconds, process, cpu_percent, rss_bytes FROM {WORKER_SAMPLES} "
        "WHERE run_id = ? ORDER BY seq",
        (run_id,),
    )
    machine = tx.query(
        f"SELECT at_seconds, cpu_percent, memory_used, memory_total, disk_used, disk_total, "
        f"load_average FROM {MACHINE_SAMPLES} WHERE run_id = ? ORDER BY seq",
        (run_id,),
    )
    fixtures = tx.query(
        f"SELECT name, scope, setups, seconds, slowest FROM {FIXTURES} "
        "WHERE run_id = ? ORDER BY seconds DESC, name",
        (run_id,),
    )
    return RunDetails(
        workers=tuple(
            WorkerSample(at=float(a), process=str(p), cpu_percent=float(c), rss=int(r))
            for a, p, c, r in workers
        ),
        machine=tuple(
            MachineSample(
                at=float(a),
                cpu_percent=float(c),
                memory_used=int(mu),
                memory_total=int(mt),
                disk_used=int(du),
                disk_total=int(dt),
                load=float(load),
            )
            for a, c, mu, mt, du, dt, load in machine
        ),
        fixtures=tuple(
            FixtureTiming(
                name=str(n), scope=str(s), count=int(c), seconds=float(t), slowest=float(m)
            )
            for n, s, c, t, m in fixtures
        ),
    )
