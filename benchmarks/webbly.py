"""Benchmark of the Webbly example suite: serial pytest, testfleet run and its peers.

Up to six ways to run ``examples/webbly``, in rotating order, several times: serial pytest,
``testfleet run`` planning from a warm history, ``testfleet run --no-history``
(collection order, no durations), ``pytest -n 2`` (pytest-xdist), ``pytest
--parallel=fork --parallel-workers=2`` (pytest-parallex) and ``pytest --workers 2``
(pytest-zygote). Each run's wall, CPU and peak PSS (proportional set size summed over its
process tree, sampled) are recorded. Every run's outcome counts are compared with the
serial run of its repetition: a run that differs, or exits other than 0, keeps its figures
and is listed under Problems. A tool whose plugin is not installed is reported, not run.

Usage: ``python benchmarks/webbly.py [--tools serial,testfleet,...] [--repeat 3]
[--out docs/benchmarks.md] [--workdir benchmarks/work]`` (about 12 minutes on 2 cores
for 3 repetitions of the six tools, warm-up runs included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from benchlib import DASH, RunRecord

# Relative to the repository, where every run starts, so the report names no machine.
SUITE = "examples/webbly"
PYTEST = [sys.executable, "-m", "pytest", SUITE, "-p", "no:cacheprovider", "-q"]
TESTFLEET = [sys.executable, "-m", "testfleet.cli", "run", SUITE, "--"]
#: The tools this benchmark knows, in the order of its table; serial is the reference.
WEBBLY_TOOLS: tuple[str, ...] = (
    "serial",
    "testfleet",
    "testfleet-no-history",
    "xdist",
    "parallex",
    "zygote",
)
WORKERS = 2  # for the tools that take a count; ``testfleet run`` asks for --workers=auto
TIMEOUT = 900.0  # seconds per run


@dataclass
class Config(benchlib.ToolChoice):
    """The resolved options of one invocation."""

    tools: list[str]
    repeat: int
    out: Path
    workdir: Path
    #: tools asked for whose plugin is not installed -> its distribution name
    missing: dict[str, str]


@dataclass
class WebblyRun:
    """One timed run of the suite by one tool."""

    record: RunRecord
    last_error: str  # the log's line most likely to explain a failure (else its last)


def parse_args(argv: Sequence[str] | None) -> Config:
    """Command-line options. Serial is always run, first: it is the reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tools",
        default=",".join(WEBBLY_TOOLS),
        help=f"comma-separated, from {','.join(WEBBLY_TOOLS)} (serial is always run)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    asked = benchlib.parse_csv(args.tools, WEBBLY_TOOLS, "tools")
    tools = ["serial", *dict.fromkeys(tool for tool in asked if tool != "serial")]
    return Config(
        tools=tools,
        repeat=args.repeat,
        out=args.out,
        workdir=args.workdir,
        missing=benchlib.missing_tools(tools),
    )


def command(tool: str) -> list[str]:
    """The command line of ``tool``, run from the repository.

    The pytest ones take ``benchlib.tool_args``, which blocks the plugin that would stop
    pytest at start-up (pytest-zygote's ``--workers`` clashes with testfleet's). ``testfleet
    run`` passes what follows ``--`` to pytest, so the same block goes there.
    """
    if tool not in WEBBLY_TOOLS:
        raise ValueError(f"unknown tool {tool!r}; known: {', '.join(WEBBLY_TOOLS)}")
    block = benchlib.tool_args("serial", WORKERS)  # serial's arguments: only the block
    if tool == "testfleet":
        return [*TESTFLEET, *block, "-p", "no:cacheprovider", "-q"]
    if tool == "testfleet-no-history":
        return [*TESTFLEET, *block, "-p", "no:cacheprovider", "-q", "--no-history"]
    return [*PYTEST, *benchlib.tool_args(tool, WORKERS)]


def run_one(*, rep: int, tool: str, position: int, env: Mapping[str, str], logs: Path) -> WebblyRun:
    """Run one tool on the suite, timed, and record what came out."""
    cmd = command(tool)
    log = logs / f"r{rep}-{tool}.log"
    measure = benchlib.run_measured(
        cmd, cwd=benchlib.REPO_ROOT, env=env, log_path=log, timeout=TIMEOUT
    )
    text = log.read_text(encoding="utf-8", errors="replace")
    record = RunRecord.measured(
        rep=rep,
        suite="webbly",
        tool=tool,
        position=position,
        cmd=cmd,
        log=log,
        measure=measure,
        counts=benchlib.parse_summary(text),
        problems=[],  # judged by flag_runs, once serial's counts are known
    )
    return WebblyRun(record=record, last_error=benchlib.last_error_line(text))


def print_run(run: WebblyRun) -> None:
    """One progress line per run, so a long benchmark shows where it is."""
    r = run.record
    counts = counts_text(r.counts)
    print(
        f"rep {r.rep} {r.tool:21} wall {r.wall:6.2f} s  cpu {r.cpu:6.2f} s"
        f"  pss {r.peak_pss_kib / 1024:6.1f} MiB  exit {r.returncode}  [{counts}]",
        flush=True,
    )


def counts_text(counts: Mapping[str, int] | None) -> str:
    """``997 passed, 3 errors`` (outcomes only), or why there are none."""
    outcomes = benchlib.outcome_counts(counts)
    if outcomes is None:
        return "no summary line"
    return ", ".join(f"{value} {key}" for key, value in outcomes.items()) or "no tests ran"


def flag_runs(runs: Sequence[WebblyRun]) -> None:
    """Compare each run's outcomes with serial's of its repetition; list what went wrong.

    A run that differs, or exits other than 0, keeps its figures (``problems`` and
    ``differs`` only say so; the table takes every run).
    """
    serial = {run.record.rep: run.record for run in runs if run.record.tool == "serial"}
    for run in runs:
        r = run.record
        reference = serial.get(r.rep)
        if reference is not None and reference is not r:
            r.differs = benchlib.outcome_difference(
                benchlib.outcome_counts(r.counts), benchlib.outcome_counts(reference.counts)
            )
        r.problems = run_problems(r)


def run_problems(r: RunRecord) -> list[str]:
    """What is wrong with one run: its exit, outcomes unlike serial's, leftovers."""
    problems: list[str] = []
    if r.timed_out:
        problems.append(f"timed out after {TIMEOUT:.0f} s and was killed")
    elif r.returncode != 0:
        problems.append(f"exit code {r.returncode}")
    if r.differs:
        problems.append(f"outcome counts differ from serial's ({r.differs})")
    if r.strays:
        problems.append(f"left {r.strays} process(es) running after exit (killed)")
    if r.counts is None:
        problems.append("no pytest summary line in the output")
    return problems


def problem_lines(runs: Sequence[WebblyRun], setup_problems: Sequence[str]) -> list[str]:
    """Every setup problem and every flagged run, with its counts beside serial's."""
    serial = {run.record.rep: run.record for run in runs if run.record.tool == "serial"}
    lines = [f"- setup: {problem}" for problem in setup_problems]
    for run in runs:
        r = run.record
        if not r.problems:
            continue
        seen = f"counts {counts_text(r.counts)}"
        if r.tool != "serial":
            reference = serial.get(r.rep)
            seen += f" vs serial's {counts_text(reference.counts if reference else None)}"
        lines.append(
            f"- {r.tool}, rep {r.rep}: {'; '.join(r.problems)}; {seen}; last error line: "
            f"`{run.last_error}` (figures kept; log `{r.log}`)"
        )
    return lines or ["- none: every run exited 0 with serial's outcome counts"]


def _spread(runs: Sequence[WebblyRun], tool: str, attr: str) -> benchlib.Spread | None:
    """Spread of one measure over every run of ``tool``, the flagged ones included."""
    return benchlib.spread([getattr(r.record, attr) for r in runs if r.record.tool == tool])


def _median(found: benchlib.Spread | None) -> float | None:
    return found.median if found else None


def table(cfg: Config, runs: Sequence[WebblyRun]) -> str:
    """One row per tool: wall, ratios of medians, CPU, peak PSS, outcomes, exit codes."""
    headers = [
        "tool",
        "command",
        "wall (s)",
        "vs serial",
        "vs xdist",
        "CPU (s)",
        "peak PSS (MiB)",
        "same counts as serial",
        "exit codes",
    ]
    serial = _spread(runs, "serial", "wall")
    xdist = _spread(runs, "xdist", "wall")
    rows = []
    for tool in cfg.tools:
        shown = f"`{benchlib.display_command(command(tool))}`"
        if tool in cfg.missing:
            missing = f"not installed (`python -m pip install {cfg.missing[tool]}`)"
            rows.append([tool, shown, missing, *[DASH] * (len(headers) - 3)])
            continue
        mine = [run.record for run in runs if run.record.tool == tool]
        wall = _spread(runs, tool, "wall")
        cpu = _spread(runs, tool, "cpu")
        pss = _spread(runs, tool, "peak_pss_kib")
        differing = sum(1 for r in mine if r.differs or r.counts is None)
        same = "yes" if not differing else f"NO ({differing} of {len(mine)} runs)"
        rows.append(
            [
                tool,
                shown,
                wall.fmt(1) if wall else DASH,
                benchlib.ratio(_median(wall), _median(serial)),
                benchlib.ratio(_median(wall), _median(xdist)),
                f"{cpu.median:.1f}" if cpu else DASH,
                f"{pss.median / 1024:.0f}" if pss else DASH,
                same if mine else DASH,
                ", ".join(str(r.returncode) for r in mine) or DASH,
            ]
        )
    return benchlib.md_table(headers, rows)


def render(
    cfg: Config,
    runs: Sequence[WebblyRun],
    *,
    machine: Sequence[str] = (),
    setup_problems: Sequence[str] = (),
) -> str:
    """The Markdown section for the docs file; ``machine`` from ``benchlib.machine_lines``."""
    lines = ["## The Webbly example suite", "", *machine]
    if machine:
        lines.append("")
    lines += [
        f"Command: `{benchlib.invocation(sys.argv)}`. {cfg.repeat} repetitions in rotating "
        f"order, medians (min{DASH}max) over every run, those listed under Problems too; CPU "
        "is user + system of the whole process tree; peak PSS is the largest sum of the "
        "proportional set size over a run's process tree, sampled while it ran (shared "
        "pages counted once). Before timing, every tool ran once, untimed: Python's "
        "bytecode cache is warm for each alike, and testfleet plans from the history that "
        "run recorded.",
        "",
        table(cfg, runs),
    ]
    reference = next((run.record for run in runs if run.record.tool == "serial"), None)
    if reference is not None:
        lines += ["", f"Serial counts (rep {reference.rep}): {counts_text(reference.counts)}."]
    lines += ["", "### Problems", "", *problem_lines(runs, setup_problems)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Warm up, run interleaved, compare with serial, report."""
    cfg = parse_args(argv)
    try:
        import webbly  # noqa: F401
    except ImportError:
        print(
            "Webbly is not installed: pip install -e 'examples/webbly[postgres]'", file=sys.stderr
        )
        return 2
    env = benchlib.tool_environment(os.environ)  # shared by every tool and run
    logs = cfg.workdir / "runs" / f"webbly-{benchlib.run_stamp()}"
    info = benchlib.machine_info(env, benchlib.REPO_ROOT / SUITE)
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}", flush=True)
    for tool in cfg.tools:
        note = " (not installed: not run)" if tool in cfg.missing else ""
        print(f"{tool:21}: {benchlib.display_command(command(tool))}{note}", flush=True)
    # One untimed run of each tool fills the bytecode cache for all alike; testfleet's
    # records the history its timed runs plan from.
    commands = {tool: command(tool) for tool in cfg.runnable}
    setup_problems = cfg.missing_lines() + benchlib.warm_up(
        commands, cwd=benchlib.REPO_ROOT, env=env, logs=logs, label="webbly", timeout=TIMEOUT
    )
    for problem in setup_problems:
        print(f"  setup PROBLEM: {problem}", flush=True)
    runs: list[WebblyRun] = []
    for rep in range(1, cfg.repeat + 1):
        for position, tool in enumerate(benchlib.rotated(cfg.runnable, rep - 1)):
            runs.append(run_one(rep=rep, tool=tool, position=position, env=env, logs=logs))
            print_run(runs[-1])
    flag_runs(runs)
    raw = {
        "machine": info,
        "tools": cfg.tools,
        "missing": cfg.missing,
        "setup_problems": setup_problems,
        "runs": [{**run.record.to_json(), "last_error": run.last_error} for run in runs],
    }
    (logs / "runs.json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    body = render(
        cfg,
        runs,
        machine=benchlib.machine_lines(info, os.environ),
        setup_problems=setup_problems,
    )
    benchlib.replace_section(cfg.out, "webbly", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
