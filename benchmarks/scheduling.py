"""Benchmark of duration-balanced scheduling: the sleep and cpu suites at several W.

For each worker count, testfleet (planning from a warm history), pytest-xdist's load
and worksteal schedulers run in rotating order, several times, and each wall is set
against the lower bound LB(W) = max(sum d / W, max d) of the run phase. Before every
timed testfleet run, ``testfleet plan`` predicts its run phase from the same history;
the run's own record in the history gives the measured run phase to compare with.
Last, the recorded durations are split into static shards and the largest shard is
set against the ideal split.

Usage: ``python benchmarks/scheduling.py [--repeat 3] [--out docs/benchmarks.md]``
(about 13 minutes at the default scale on 2 cores, warm-up runs included).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
import suites

from testfleet.scheduling.shards import ShardItem, split

TOOLS = ("testfleet", "xdist", "worksteal")
CASES = (("sleep", 2), ("sleep", 4), ("sleep", 8), ("cpu", 2))
_PREDICTED = re.compile(r"^\s*(\d+)\s+(\S+(?: \S+)?)\s+\S")


def parse_seconds(text: str) -> float:
    """Read back ``12.3s`` or ``1m 05s`` as printed by testfleet."""
    total = 0.0
    for amount, unit in re.findall(r"([\d.]+)([hms])", text):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def predict(suite_dir: Path, workers: int, env: dict[str, str], log: Path) -> float | None:
    """What ``testfleet plan`` predicts for the run phase on ``workers`` workers."""
    cmd = [sys.executable, "-m", "testfleet.cli", "plan", "--workers", str(workers)]
    if benchlib.installed("pytest-zygote"):
        cmd += ["--", "-p", "no:zygote"]  # its --workers clashes with testfleet's
    benchlib.run_measured(cmd, cwd=suite_dir, env=env, log_path=log, timeout=300)
    for line in log.read_text().splitlines()[1:]:
        match = _PREDICTED.match(line)
        if match and int(match[1]) == workers:
            return parse_seconds(match[2])
    return None


def last_run_phase(suite_dir: Path) -> float | None:
    """The run phase of the newest run in the suite's history (collection end to finish)."""
    db = suite_dir / ".testfleet" / "history.db"
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT finished - started FROM testfleet_runs ORDER BY started DESC LIMIT 1"
        ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def recorded_durations(suite_dir: Path) -> dict[str, float]:
    """Each test's duration in the newest run of the suite's history."""
    db = suite_dir / ".testfleet" / "history.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT nodeid, setup_seconds + call_seconds + teardown_seconds FROM testfleet_results "
            "WHERE run_id = "
            "(SELECT run_id FROM testfleet_runs ORDER BY started DESC LIMIT 1)"
        ).fetchall()
    return {nodeid: float(d) for nodeid, d in rows}


def shard_balance(durations: dict[str, float], total: int) -> float:
    """Largest shard over the ideal split, splitting by these very durations."""
    items = [ShardItem(n, n.partition("::")[0], d) for n, d in durations.items()]
    loads = [sum(durations[n] for n in shard) for shard in split(items, total)]
    return max(loads) / (sum(loads) / total)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)

    env = benchlib.tool_environment(os.environ)  # shared by every tool and run
    root = args.workdir / "scheduling"
    dirs = suites.generate(root, scale=args.scale, names=["sleep", "cpu"])
    logs = args.workdir / "runs" / f"scheduling-{benchlib.run_stamp()}"
    records: list[dict[str, Any]] = []
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}", flush=True)
    setup_problems: list[str] = []
    warmed: set[str] = set()
    for suite, workers in CASES:
        # testfleet warms its history once per suite and W; each tool's first run fills
        # Python's bytecode cache, and once per suite is enough for that.
        tools = ["testfleet"] if suite in warmed else list(TOOLS)
        warmed.add(suite)
        commands = {
            tool: benchlib.pytest_command(benchlib.tool_args(tool, workers)) for tool in tools
        }
        setup_problems += benchlib.warm_up(
            commands,
            cwd=dirs[suite],
            env=env,
            logs=logs,
            label=f"{suite}-w{workers}",
            timeout=600,
        )
    for problem in setup_problems:
        print(f"  setup PROBLEM: {problem}", flush=True)
    for rep in range(1, args.repeat + 1):
        for index, (suite, workers) in enumerate(CASES):
            for tool in benchlib.rotated(list(TOOLS), rep - 1 + index):
                stem = f"r{rep}-{suite}-w{workers}-{tool}"
                predicted = None
                if tool == "testfleet":
                    predicted = predict(dirs[suite], workers, env, logs / f"{stem}-plan.log")
                cmd = benchlib.pytest_command(benchlib.tool_args(tool, workers))
                log = logs / f"{stem}.log"
                measure = benchlib.run_measured(
                    cmd, cwd=dirs[suite], env=env, log_path=log, timeout=900
                )
                counts = benchlib.parse_summary(log.read_text(errors="replace"))
                record = {
                    "rep": rep,
                    "suite": suite,
                    "workers": workers,
                    "tool": tool,
                    "wall": measure.wall,
                    "cpu": measure.cpu,
                    "ok": measure.returncode == 0,
                    "counts": counts,
                    "command": benchlib.display_command(cmd),
                    "predicted": predicted,
                    "run_phase": last_run_phase(dirs[suite]) if tool == "testfleet" else None,
                }
                records.append(record)
                print(
                    f"rep {rep} {suite:5} W={workers} {tool:9} wall {measure.wall:6.2f} s"
                    + (
                        f"  plan {predicted:.2f} s vs run phase {record['run_phase']:.2f} s"
                        if predicted and record["run_phase"]
                        else ""
                    ),
                    flush=True,
                )
    (logs / "runs.json").write_text(json.dumps(records, indent=2))
    body = render(records, dirs, args, setup_problems)
    benchlib.replace_section(args.out, "scheduling", body)
    print(body)
    return 0


def render(
    records: list[dict[str, Any]],
    dirs: dict[str, Path],
    args: argparse.Namespace,
    setup_problems: Sequence[str] = (),
) -> str:
    def median(suite: str, workers: int, tool: str, key: str) -> float | None:
        values = [
            r[key]
            for r in records
            if r["suite"] == suite
            and r["workers"] == workers
            and r["tool"] == tool
            and r["ok"]
            and r[key] is not None
        ]
        return statistics.median(values) if values else None

    lines = [
        "## Duration-balanced scheduling (sleep and cpu suites)",
        "",
        f"Command: `{benchlib.invocation(sys.argv)}`. {args.repeat} repetitions, tools in "
        "rotating order, medians. Before timing, every tool ran once per suite, untimed, so "
        "Python's bytecode cache is warm for each alike; testfleet plans from its history "
        "(warmed by one untimed run per suite and W). Walls are whole processes (start-up "
        "and collection included); LB(W) = max(Σd/W, max d) bounds the run phase only.",
        "",
        "| suite | W | LB(W) | testfleet | /LB | xdist load | /LB | worksteal | /LB "
        "| plan predicted | run phase measured | prediction error |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for suite, workers in CASES:
        lb = suites.lower_bound(suites.load_meta(dirs[suite]), workers)
        cells = [suite, str(workers), f"{lb:.2f}" if lb else "-"]
        for tool in TOOLS:
            wall = median(suite, workers, tool, "wall")
            cells += [f"{wall:.2f}" if wall else "-", benchlib.ratio(wall, lb)]
        predicted = median(suite, workers, "testfleet", "predicted")
        phase = median(suite, workers, "testfleet", "run_phase")
        error = f"{(predicted - phase) / phase:+.1%}" if predicted and phase else "-"
        cells += [
            f"{predicted:.2f}" if predicted else "-",
            f"{phase:.2f}" if phase else "-",
            error,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    durations = recorded_durations(dirs["sleep"])
    lines += [
        "",
        "Static shards of the sleep suite, split by its recorded durations "
        "(`testfleet.scheduling.shards.split`): largest shard / ideal split:",
        "",
        "| shards | largest / ideal |",
        "|---|---|",
    ]
    for total in (2, 4, 8):
        lines.append(f"| {total} | {shard_balance(durations, total):.3f} |")
    lines += [f"\nSetup problem: {problem}" for problem in setup_problems]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
