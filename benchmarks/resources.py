"""Benchmark of resource-aware scheduling: a sleep suite with one capacity-1 resource.

The lane suite (``lane_suite.py``) is the sleep suite with a quarter of its summed
durations in tests that hold the resource ``lane``, of capacity 1. Three ways to run it,
in rotating order, several times, at each W:

- ``testfleet``: the marked suite, ``--workers W``, planning from a warm history: the
  scheduler keeps the lane tests apart and starts them early;
- ``testfleet-lock``: the same work without the feature, as one would write it for
  pytest-xdist: the lane tests take a ``filelock.FileLock`` in a fixture, so a worker
  that draws one while another runs sits on the lock; ``--workers W``, warm history;
- ``xdist-lock``: that file-lock suite under ``pytest -n W`` (its default ``load``
  distribution), as xdist's documentation describes.

Each wall is set against LB(W) = max(sum d / W, sum d of the lane's tests, max d), which
bounds the run phase; testfleet's own run phase is read back from its history. Every
lane test logs its start and end, so each run is checked for two lane tests at once.

Usage: ``python benchmarks/resources.py [--repeat 3] [--out docs/benchmarks.md]``
(about 6 minutes at the default scale on 2 cores, warm-up runs included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
import lane_suite
from scheduling import last_run_phase

#: Tool -> (suite variant, how it runs).
TOOLS: dict[str, tuple[str, str]] = {
    "testfleet": ("marked", "testfleet"),
    "testfleet-lock": ("locked", "testfleet"),
    "xdist-lock": ("locked", "xdist"),
}
WORKERS = (2, 4)
#: The issue's target for testfleet's wall.
TARGET = 1.10


def command(tool: str, workers: int) -> list[str]:
    """The pytest command of ``tool`` at ``workers``, run in its variant's directory."""
    return benchlib.pytest_command(benchlib.tool_args(TOOLS[tool][1], workers))


def lane_figures(intervals: Sequence[tuple[float, float]]) -> dict[str, float]:
    """What the lane log of one run shows: overlaps, span and busy time of the lane.

    ``most_at_once`` is the largest number of lane tests running at one instant (1 when
    the resource was honoured); ``span`` runs from the first lane test's start to the
    last one's end; ``busy`` is the sum of the lane tests' own times.
    """
    if not intervals:
        return {"tests": 0, "most_at_once": 0, "span": 0.0, "busy": 0.0}
    # An end and a start at the same instant do not overlap: ends sort first.
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return {
        "tests": len(intervals),
        "most_at_once": most,
        "span": max(e for _, e in intervals) - min(s for s, _ in intervals),
        "busy": sum(e - s for s, e in intervals),
    }


def read_lane_log(path: Path) -> list[tuple[float, float]]:
    """The (start, end) pairs the lane tests of one run appended to ``path``."""
    if not path.is_file():
        return []
    pairs = []
    for line in path.read_text(encoding="ascii").splitlines():
        start, end = line.split()
        pairs.append((float(start), float(end)))
    return pairs


def run_problems(
    measure: benchlib.Measurement,
    counts: dict[str, int] | None,
    lane: dict[str, float],
    meta: dict[str, Any],
    log_text: str,
) -> list[str]:
    """Why a run may not enter the statistics: exit code, counts, lane overlaps."""
    problems = benchlib.basic_problems(measure, counts, log_text)
    expected = {"passed": meta["tests"]}
    if counts is not None and benchlib.outcome_counts(counts) != expected:
        problems.append(f"counts {benchlib.outcome_counts(counts)}, expected {expected}")
    if lane["tests"] != len(meta["lane_tests"]):
        problems.append(f"{lane['tests']} lane tests logged, expected {len(meta['lane_tests'])}")
    if lane["most_at_once"] > 1:
        problems.append(f"{lane['most_at_once']} lane tests ran at once (capacity 1)")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every duration")
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)

    env = benchlib.tool_environment(os.environ)  # shared by every tool and run
    dirs = lane_suite.generate(args.workdir / "resources", scale=args.scale)
    for suite_dir in dirs.values():
        # Only this invocation's runs feed the estimates, whatever ran here before
        # (at another scale, say).
        shutil.rmtree(suite_dir / ".testfleet", ignore_errors=True)
    meta = lane_suite.load_meta(dirs["marked"])
    logs = args.workdir / "runs" / f"resources-{benchlib.run_stamp()}"
    info = benchlib.machine_info(env, dirs["marked"])
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}", flush=True)
    setup_problems: list[str] = []
    for index, workers in enumerate(WORKERS):
        # testfleet warms its history once per W (as scheduling.py does); each tool's
        # first run fills Python's bytecode cache, and once is enough for that.
        tools = [t for t in TOOLS if index == 0 or TOOLS[t][1] == "testfleet"]
        for tool in tools:
            setup_problems += benchlib.warm_up(
                {tool: command(tool, workers)},
                cwd=dirs[TOOLS[tool][0]],
                env=env,
                logs=logs,
                label=f"w{workers}",
                timeout=600,
            )
    for problem in setup_problems:
        print(f"  setup PROBLEM: {problem}", flush=True)
    records: list[dict[str, Any]] = []
    for rep in range(1, args.repeat + 1):
        for index, workers in enumerate(WORKERS):
            for position, tool in enumerate(benchlib.rotated(list(TOOLS), rep - 1 + index)):
                records.append(
                    timed_run(
                        rep=rep,
                        workers=workers,
                        tool=tool,
                        position=position,
                        dirs=dirs,
                        meta=meta,
                        env=env,
                        logs=logs,
                    )
                )
    (logs / "runs.json").write_text(json.dumps(records, indent=2))
    body = render(records, meta, args=args, info=info, logs=logs, setup_problems=setup_problems)
    benchlib.replace_section(args.out, "resources", body)
    print(body)
    return 0


def timed_run(
    *,
    rep: int,
    workers: int,
    tool: str,
    position: int,
    dirs: dict[str, Path],
    meta: dict[str, Any],
    env: dict[str, str],
    logs: Path,
) -> dict[str, Any]:
    """One timed run of ``tool`` at ``workers``, checked; its record for runs.json."""
    variant, runner = TOOLS[tool]
    stem = f"r{rep}-w{workers}-{tool}"
    lane_log = logs / f"{stem}-lane.txt"
    lane_log.unlink(missing_ok=True)
    cmd = command(tool, workers)
    log = logs / f"{stem}.log"
    run_env = {**env, lane_suite.LOG_VARIABLE: str(lane_log)}
    measure = benchlib.run_measured(cmd, cwd=dirs[variant], env=run_env, log_path=log, timeout=600)
    text = log.read_text(errors="replace")
    counts = benchlib.parse_summary(text)
    lane = lane_figures(read_lane_log(lane_log))
    problems = run_problems(measure, counts, lane, meta, text)
    phase = last_run_phase(dirs[variant]) if runner == "testfleet" else None
    lb = lane_suite.lower_bound(meta, workers)
    print(
        f"rep {rep} W={workers} {tool:14} wall {measure.wall:6.2f} s  /LB "
        f"{measure.wall / lb:.3f}"
        + (f"  run phase {phase:.2f} s" if phase else "")
        + f"  lane span {lane['span']:.2f} s"
        + (f"  PROBLEMS: {'; '.join(problems)}" if problems else ""),
        flush=True,
    )
    return {
        "rep": rep,
        "workers": workers,
        "tool": tool,
        "position": position,
        "command": benchlib.display_command(cmd),
        "suite": variant,
        "log": benchlib.relpath(log),
        "wall": measure.wall,
        "cpu": measure.cpu,
        "returncode": measure.returncode,
        "counts": counts,
        "run_phase": phase,
        "lane": lane,
        "problems": problems,
    }


def _median(records: Sequence[dict[str, Any]], workers: int, tool: str, key: str) -> float | None:
    values = [
        r[key]
        for r in records
        if r["workers"] == workers and r["tool"] == tool and not r["problems"] and r[key]
    ]
    return statistics.median(values) if values else None


def _spread(records: Sequence[dict[str, Any]], workers: int, tool: str) -> str:
    walls = [
        r["wall"]
        for r in records
        if r["workers"] == workers and r["tool"] == tool and not r["problems"]
    ]
    found = benchlib.spread(walls)
    return found.fmt() if found else benchlib.DASH


def _cell(value: float | None, digits: int = 2) -> str:
    return benchlib.DASH if value is None else f"{value:.{digits}f}"


def render(
    records: list[dict[str, Any]],
    meta: dict[str, Any],
    *,
    args: argparse.Namespace,
    info: dict[str, Any],
    logs: Path,
    setup_problems: Sequence[str] = (),
) -> str:
    """The ``resources`` section of docs/benchmarks.md."""
    share = meta["lane_sum_d"] / meta["sum_d"]
    lines = [
        "## Resources: a quarter of the work on one capacity-1 resource",
        "",
        *benchlib.machine_lines(info, os.environ),
        benchlib.install_note(),
        "- Load average at the end: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (other engineers share this machine: compare ratios, not seconds)",
        f"- Command: `{benchlib.invocation(sys.argv)}`",
        f"- Suite: `benchmarks/lane_suite.py`, the sleep suite ({meta['tests']} tests in 20 "
        f"files, duration scale {meta['scale']:g}) with {len(meta['lane_tests'])} tests "
        f"scattered over the files holding the resource `lane` (capacity 1): "
        f"{meta['lane_sum_d']:.2f} s of Σd = {meta['sum_d']:.2f} s ({share:.1%})",
        f"- {args.repeat} repetition(s), tools interleaved in rotating order, medians over the "
        "runs that passed every test with no two lane tests at once "
        f"(min{benchlib.DASH}max in the first table). Before timing, each tool ran once "
        "untimed (bytecode cache; for testfleet, "
        "once per W, the history it plans from: the suites' history is emptied at the start)",
        "- Tools: `testfleet` runs the marked suite "
        f"(`{benchlib.display_command(command('testfleet', 2))}`); `testfleet-lock` and "
        "`xdist-lock` run the same work without the feature: the lane tests take a "
        "`filelock.FileLock` in a fixture (pytest-xdist's documented recipe), under "
        "`--workers W` and `-n W`",
        f"- Raw per-run data: `{benchlib.relpath(logs / 'runs.json')}` (logs beside it)",
        "",
        "LB(W) = max(Σd / W, Σd(lane), max d) bounds the run phase; walls are whole processes "
        "(start-up and collection included). "
        f"Target: testfleet's wall ≤ {TARGET:.2f} \N{MULTIPLICATION SIGN} LB.",
        "",
        "| W | Σd | Σd(lane) | max d | LB | testfleet | /LB | testfleet-lock | /LB "
        "| xdist-lock | /LB | testfleet run phase / LB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for workers in WORKERS:
        lb = lane_suite.lower_bound(meta, workers)
        cells = [
            str(workers),
            f"{meta['sum_d']:.2f}",
            f"{meta['lane_sum_d']:.2f}",
            f"{meta['max_d']:.2f}",
            f"{lb:.2f}",
        ]
        for tool in TOOLS:
            wall = _median(records, workers, tool, "wall")
            cells += [_spread(records, workers, tool), benchlib.ratio(wall, lb)]
        phase = _median(records, workers, "testfleet", "run_phase")
        cells.append(benchlib.ratio(phase, lb))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "The lane, from the lane tests' own log: its span (first lane test's start to last "
        "one's end) against Σd(lane), the share of that span a lane test was running, and "
        "the most lane tests seen running at once in any run.",
        "",
        "| W | tool | run phase s | lane span s | span / Σd(lane) | lane busy | most at once "
        "| runs ok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workers in WORKERS:
        for tool in TOOLS:
            mine = [r for r in records if r["workers"] == workers and r["tool"] == tool]
            good = [r for r in mine if not r["problems"]]
            span = statistics.median(r["lane"]["span"] for r in good) if good else None
            busy = (
                statistics.median(r["lane"]["busy"] / r["lane"]["span"] for r in good)
                if good
                else None
            )
            most = max((r["lane"]["most_at_once"] for r in mine), default=0)
            lines.append(
                f"| {workers} | {tool} | {_cell(_median(records, workers, tool, 'run_phase'))} "
                f"| {_cell(span)} | {benchlib.ratio(span, meta['lane_sum_d'])} "
                f"| {f'{busy:.0%}' if busy is not None else benchlib.DASH} | {most} "
                f"| {len(good)}/{len(mine)} |"
            )
    problems = [
        f"rep {r['rep']} W={r['workers']} {r['tool']}: {'; '.join(r['problems'])} "
        f"(log `{r['log']}`)"
        for r in records
        if r["problems"]
    ]
    lines += ["", "### Problems", ""]
    lines += [f"- {p}" for p in [*setup_problems, *problems]] or [
        f"- none: every run passed all {meta['tests']} tests, never more than one lane test at once"
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
