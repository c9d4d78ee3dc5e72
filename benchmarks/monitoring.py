"""Benchmark of monitoring: what sampling and per-test figures cost a run.

trivial5k (5000 tests that do nothing: the worst case, where any per-test cost shows)
runs under ``--workers 2`` with the history on, as users run it, once monitored (the
default: samples every 0.5 s, each test's CPU and peak memory, fixture timings, all
recorded) and once with ``--monitor-interval=0`` (monitoring off). Every run starts
from a copy of the same history (seeded by the warm-up runs), so both plan alike and
neither grows the other's. The two ways alternate, in rotating order, and the medians
are compared: the goal is a monitored run within 5 % of the one without.

With ``--peer-python PYTHON`` (an interpreter whose environment has pytest-monitor, the
plugin that records per-test CPU and memory for serial runs), the first ``--peer-files``
files of the suite also run serially under that interpreter with pytest-monitor and with
``-p no:monitor``, interleaved, and the cost per test and the outcomes are reported.

Usage: ``python benchmarks/monitoring.py [--repeat 7] [--workers 2] [--peer-python
PYTHON] [--out docs/benchmarks.md]`` (about 2 minutes on 2 cores, and one more with
the peer).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
import suites

X = "\N{MULTIPLICATION SIGN}"
#: The goal: a monitored run's wall within this factor of the run without monitoring.
GOAL = 1.05
WAYS = {"monitored": [], "not monitored": ["--monitor-interval=0"]}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    parser.add_argument("--peer-python", help="an interpreter with pytest-monitor installed")
    parser.add_argument("--peer-files", type=int, default=2)
    return parser.parse_args(argv)


def peer_lines(
    python: str, *, suite_dir: Path, files: int, repeat: int, logs: Path, env: dict[str, str]
) -> list[str]:
    """pytest-monitor on the first ``files`` files, serially, against the same without it."""
    chosen = sorted(p.name for p in suite_dir.glob("test_*.py"))[:files]
    ways = {"pytest-monitor": [], "without (-p no:monitor)": ["-p", "no:monitor"]}
    walls: dict[str, list[float]] = {way: [] for way in ways}
    counts: dict[str, dict[str, int] | None] = {}
    for rep in range(repeat):
        for way in benchlib.rotated(list(ways), rep):
            (suite_dir / ".pymon").unlink(missing_ok=True)
            log = logs / f"peer-{way.split()[0]}-{rep}.log"
            cmd = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", *ways[way], *chosen]
            measure = benchlib.run_measured(cmd, cwd=suite_dir, env=env, log_path=log, timeout=900)
            walls[way].append(measure.wall)
            counts[way] = benchlib.parse_summary(log.read_text(encoding="utf-8", errors="replace"))
    (suite_dir / ".pymon").unlink(missing_ok=True)
    meta = suites.load_meta(suite_dir)
    tests = len(chosen) * meta["tests"] // meta["files"]
    monitored, plain = (statistics.median(walls[w]) for w in ways)
    version = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('pytest-monitor'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        "",
        f"The peer, pytest-monitor {version} (`--peer-python`): the first {len(chosen)} files "
        f"of the suite ({tests} tests), serially, {repeat} interleaved repetitions, medians:",
        "",
        benchlib.md_table(
            ["way", "wall s", "per test ms", "outcomes"],
            [
                [
                    way,
                    f"{statistics.median(walls[way]):.2f}",
                    f"{statistics.median(walls[way]) / tests * 1000:.2f}",
                    ", ".join(f"{n} {k}" for k, n in (counts[way] or {}).items()),
                ]
                for way in ways
            ],
        ),
        "",
        f"pytest-monitor adds {(monitored - plain) / tests * 1000:.1f} ms per test "
        f"({monitored / plain:.1f}{X} the run without it).",
    ]


def command(history: Path, workers: int, extra: Sequence[str]) -> list[str]:
    return benchlib.pytest_command(["--workers", str(workers), f"--history={history}", *extra])


def recorded_figures(history: Path) -> tuple[int, int, int]:
    """Of the newest run: results with CPU figures, worker samples, machine samples."""
    with sqlite3.connect(history) as conn:
        (run_id,) = conn.execute("SELECT MAX(run_id) FROM testfleet_runs").fetchone()
        measured = conn.execute(
            "SELECT COUNT(*) FROM testfleet_results WHERE run_id = ? AND cpu_seconds IS NOT NULL",
            (run_id,),
        ).fetchone()[0]
        samples = conn.execute(
            "SELECT COUNT(*) FROM testfleet_worker_samples WHERE run_id = ?", (run_id,)
        ).fetchone()[0]
        machine = conn.execute(
            "SELECT COUNT(*) FROM testfleet_machine_samples WHERE run_id = ?", (run_id,)
        ).fetchone()[0]
    return int(measured), int(samples), int(machine)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    work = options.workdir / "monitoring"
    suite_dir = suites.generate(work / "suites", names=["trivial5k"])["trivial5k"]
    logs = work / "logs" / benchlib.run_stamp()
    env = benchlib.tool_environment(os.environ)
    seed = work / "seed.db"
    seed.unlink(missing_ok=True)
    problems = benchlib.warm_up(
        {way: command(seed, options.workers, extra) for way, extra in WAYS.items()},
        cwd=suite_dir,
        env=env,
        logs=logs,
        label="trivial5k",
        timeout=300,
    )
    plugins = benchlib.pytest_plugins(env, suite_dir)
    walls: dict[str, list[float]] = {way: [] for way in WAYS}
    cpus: dict[str, list[float]] = {way: [] for way in WAYS}
    figures: dict[str, tuple[int, int, int]] = {}
    for rep in range(options.repeat):
        for way in benchlib.rotated(list(WAYS), rep):
            history = work / "run.db"
            shutil.copyfile(seed, history)
            for suffix in ("-wal", "-shm"):
                Path(f"{history}{suffix}").unlink(missing_ok=True)
            log = logs / f"{way.replace(' ', '-')}-{rep}.log"
            measure = benchlib.run_measured(
                command(history, options.workers, WAYS[way]),
                cwd=suite_dir,
                env=env,
                log_path=log,
                timeout=300,
            )
            counts = benchlib.parse_summary(log.read_text(encoding="utf-8", errors="replace"))
            if measure.returncode != 0 or not counts or counts.get("passed") != 5000:
                problems.append(f"{way} rep {rep}: exit {measure.returncode}, {counts} ({log})")
                continue
            walls[way].append(measure.wall)
            cpus[way].append(measure.cpu)
            figures[way] = recorded_figures(history)
            print(f"rep {rep} {way:14} wall {measure.wall:.2f}s cpu {measure.cpu:.2f}s")
    wall = {way: statistics.median(v) for way, v in walls.items() if v}
    cpu = {way: statistics.median(v) for way, v in cpus.items() if v}
    off = "not monitored"
    rows = [
        [
            way,
            f"{wall[way]:.2f}",
            f"{min(walls[way]):.2f}{benchlib.DASH}{max(walls[way]):.2f}",
            f"{wall[way] / wall[off]:.3f}",
            f"{cpu[way]:.2f}",
            f"{cpu[way] / cpu[off]:.3f}",
            " / ".join(str(n) for n in figures.get(way, (0, 0, 0))),
        ]
        for way in WAYS
        if way in wall and off in wall
    ]
    ratio = wall["monitored"] / wall[off] if rows else None
    peer = (
        peer_lines(
            options.peer_python,
            suite_dir=suite_dir,
            files=options.peer_files,
            repeat=3,
            logs=logs,
            env=env,
        )
        if options.peer_python
        else []
    )
    body = "\n".join(
        [
            "## Monitoring: what sampling and per-test figures cost",
            "",
            f"`{benchlib.invocation(sys.argv)}`: trivial5k (5000 empty tests), "
            f"`--workers {options.workers}` with the history on, {options.repeat} "
            "interleaved repetitions, each from a copy of the same seeded history; medians. "
            "Monitored is the default (samples every 0.5 s, each test's CPU and peak memory, "
            "fixture timings); not monitored is `--monitor-interval=0`. Plugins loaded: "
            + (", ".join(plugins) or "none but testfleet")
            + " (a plugin with autouse fixtures adds per-test work of its own to both ways).",
            "",
            benchlib.md_table(
                [
                    "way",
                    "wall s",
                    "range",
                    "wall / not monitored",
                    "CPU s",
                    "CPU / not monitored",
                    "tests measured / process samples / machine samples",
                ],
                rows,
            ),
            "",
            f"Goal: within {GOAL:.2f}{X} of the run without monitoring: "
            + (
                f"**{ratio:.3f}{X}, {'met' if ratio <= GOAL else 'missed'}**."
                if ratio is not None
                else "not measured (see problems)."
            ),
            *peer,
            *([""] + [f"- problem: {p}" for p in problems] if problems else []),
        ]
    )
    benchlib.replace_section(options.out, "monitoring", body)
    print(body)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
