"""Benchmark of the Webbly example suite: serial pytest, testfleet run, pytest-xdist.

Four ways to run ``examples/webbly``, in rotating order, several times: serial pytest,
``testfleet run`` planning from a warm history, ``testfleet run --no-history``
(collection order, no durations), and ``pytest -n 2``. Every run must report the same
counts as the serial run of its repetition.

Usage: ``python benchmarks/webbly.py [--repeat 3] [--out docs/benchmarks.md]``
(about 8 minutes on 2 cores, warm-up runs included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

# Relative to the repository, where every run starts, so the report names no machine.
SUITE = "examples/webbly"
PYTEST = [sys.executable, "-m", "pytest", SUITE, "-p", "no:cacheprovider", "-q"]
TESTFLEET = [sys.executable, "-m", "testfleet.cli", "run", SUITE, "--"]
COMMANDS: dict[str, list[str]] = {
    "serial": PYTEST,
    "testfleet": [*TESTFLEET, "-p", "no:cacheprovider", "-q"],
    "testfleet-no-history": [*TESTFLEET, "-p", "no:cacheprovider", "-q", "--no-history"],
    "xdist": [*PYTEST, "-n", "2"],
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    try:
        import webbly  # noqa: F401
    except ImportError:
        print(
            "Webbly is not installed: pip install -e 'examples/webbly[postgres]'", file=sys.stderr
        )
        return 2
    env = benchlib.tool_environment(os.environ)  # shared by every tool and run
    logs = args.workdir / "runs" / f"webbly-{benchlib.run_stamp()}"
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}", flush=True)
    # One untimed run of each tool fills the bytecode cache for all alike; testfleet's
    # records the history its timed runs plan from.
    setup_problems = benchlib.warm_up(
        COMMANDS, cwd=benchlib.REPO_ROOT, env=env, logs=logs, label="webbly", timeout=900
    )
    for problem in setup_problems:
        print(f"  setup PROBLEM: {problem}", flush=True)
    records: list[dict[str, Any]] = []
    tools = list(COMMANDS)
    for rep in range(1, args.repeat + 1):
        for tool in benchlib.rotated(tools, rep - 1):
            log = logs / f"r{rep}-{tool}.log"
            measure = benchlib.run_measured(
                COMMANDS[tool], cwd=benchlib.REPO_ROOT, env=env, log_path=log, timeout=900
            )
            counts = benchlib.outcome_counts(
                benchlib.parse_summary(log.read_text(errors="replace"))
            )
            records.append(
                {
                    "rep": rep,
                    "tool": tool,
                    "wall": measure.wall,
                    "cpu": measure.cpu,
                    "returncode": measure.returncode,
                    "counts": counts,
                }
            )
            print(f"rep {rep} {tool:21} wall {measure.wall:6.2f} s  {counts}", flush=True)
    (logs / "runs.json").write_text(json.dumps(records, indent=2))
    body = render(records, args, setup_problems)
    benchlib.replace_section(args.out, "webbly", body)
    print(body)
    return 0


def render(
    records: list[dict[str, Any]], args: argparse.Namespace, setup_problems: Sequence[str] = ()
) -> str:
    serial_counts = {r["rep"]: r["counts"] for r in records if r["tool"] == "serial"}
    lines = [
        "## The Webbly example suite",
        "",
        f"Command: `{benchlib.invocation(sys.argv)}`. {args.repeat} repetitions in rotating "
        f"order, medians (min{benchlib.DASH}max); CPU is user + system of the whole process tree. "
        "Before timing, every tool ran once, untimed: Python's bytecode cache is warm "
        "for each alike, and testfleet plans from the history that run recorded.",
        "",
        "| tool | command | wall (s) | vs serial | vs xdist | CPU (s) | same counts as serial |",
        "|---|---|---|---|---|---|---|",
    ]
    walls = {
        tool: [r["wall"] for r in records if r["tool"] == tool and r["returncode"] == 0]
        for tool in COMMANDS
    }
    medians = {t: statistics.median(w) if w else None for t, w in walls.items()}
    for tool, cmd in COMMANDS.items():
        mine = [r for r in records if r["tool"] == tool]
        cpu = [r["cpu"] for r in mine]
        same = all(r["counts"] == serial_counts.get(r["rep"]) for r in mine)
        wall = medians[tool]
        spread = (
            f" ({min(walls[tool]):.1f}{benchlib.DASH}{max(walls[tool]):.1f})" if walls[tool] else ""
        )
        lines.append(
            f"| {tool} | `{benchlib.display_command(cmd)}` | "
            f"{f'{wall:.1f}' if wall else '-'}{spread} | "
            f"{benchlib.ratio(wall, medians['serial'])} | "
            f"{benchlib.ratio(wall, medians['xdist'])} | "
            f"{statistics.median(cpu):.1f} | {'yes' if same else 'NO'} |"
        )
    counts = next(iter(serial_counts.values()), None)
    lines += ["", f"Serial counts: {counts}."]
    lines += [f"\nSetup problem: {problem}" for problem in setup_problems]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
