"""Time serial pytest, testfleet and its peers on the synthetic suites of BASELINE.md.

Absolute times on the project's shared 2-core machines drift by 10-35 % within an hour, so
the peers are re-measured in the same invocation, interleaved: in each repetition every
suite runs every tool once, in an order rotated from one suite and repetition to the next.
Every tool gets the very same environment, with Python's default bytecode cache, and runs
once on every suite, untimed, before the timed runs. Whole processes are timed (wall around the
process; user+sys CPU and max RSS of the process tree from ``os.wait4``; peak PSS of the
tree, sampled). A tool whose plugin is not installed is reported, not dropped.

Usage: ``python benchmarks/run.py [--suites ...] [--tools ...] [--workers 2] [--repeat 3]
[--out docs/benchmarks.md] [--workdir benchmarks/work] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib
import pss
import suites
from benchlib import DASH, RunRecord, Spread

QUICK_SCALE = 0.05
TRIVIAL_TESTS = 5000  # trivial5k minus trivial1 is 4999 tests; BASELINE divides by 5000
IMPORT_REPEAT = 5
# A CPU-bound suite must show at least this share of its sum of d as CPU time; less means
# the workers' CPU escaped the rusage (a worker not waited for by its parent).
CPU_ACCOUNTING_FLOOR = 0.9


@dataclass
class Config(benchlib.ToolChoice):
    """The resolved options of one invocation."""

    suites: list[str]
    tools: list[str]
    workers: int
    repeat: int
    scale: float
    out: Path
    workdir: Path
    timeout: float
    quick: bool
    #: tools asked for whose plugin is not installed -> its distribution name
    missing: dict[str, str]


def parse_args(argv: Sequence[str] | None) -> Config:
    """Command-line options; ``--quick`` only changes the defaults of scale and repeat."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default=",".join(suites.SUITE_NAMES))
    parser.add_argument("--tools", default=",".join(benchlib.TOOLS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, help="repetitions (default 3, 1 with --quick)")
    parser.add_argument("--scale", type=float, help="duration scale (default 1, 0.05 --quick)")
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--quick", action="store_true", help="smoke test: scale 0.05, 1 rep")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    if repeat < 1 or args.workers < 1 or scale <= 0:
        parser.error("--repeat and --workers must be >= 1 and --scale > 0")
    tools = benchlib.parse_csv(args.tools, benchlib.TOOLS, "tools")
    return Config(
        suites=benchlib.parse_csv(args.suites, suites.SUITE_NAMES, "suites"),
        tools=tools,
        workers=args.workers,
        repeat=repeat,
        scale=scale,
        out=args.out,
        workdir=args.workdir.resolve(),
        timeout=args.timeout,
        quick=args.quick,
        missing=benchlib.missing_tools(tools),
    )


def warm_up(
    cfg: Config, suite_dirs: Mapping[str, Path], env: Mapping[str, str], logs: Path
) -> list[str]:
    """Collect each suite once and run every tool on it once, untimed.

    The collection checks that pytest sees the expected test count. The tool runs fill
    the bytecode cache for each tool alike (see ``benchlib.warm_up``), and testfleet's
    records the history its timed runs plan from, as they do in daily use.
    """
    problems: list[str] = []
    commands = {
        tool: benchlib.pytest_command(benchlib.tool_args(tool, cfg.workers))
        for tool in cfg.runnable
    }
    for name, suite_dir in suite_dirs.items():
        log = logs / f"warmup-{name}.log"
        # serial's arguments: they block a plugin that would stop pytest at start-up
        cmd = benchlib.pytest_command(
            [*benchlib.tool_args("serial", cfg.workers), "--collect-only"]
        )
        benchlib.run_measured(cmd, cwd=suite_dir, env=env, log_path=log, timeout=cfg.timeout)
        counts = benchlib.parse_summary(log.read_text(encoding="utf-8", errors="replace"))
        expected = suites.load_meta(suite_dir)["tests"]
        if not counts or counts.get("collected") != expected:
            problems.append(f"{name}: collection found {counts}, expected {expected} tests")
        problems += benchlib.warm_up(
            commands, cwd=suite_dir, env=env, logs=logs, label=name, timeout=cfg.timeout
        )
    return problems


def run_one(
    cfg: Config,
    *,
    rep: int,
    suite: str,
    tool: str,
    position: int,
    suite_dir: Path,
    env: Mapping[str, str],
    logs: Path,
) -> RunRecord:
    """Run one tool on one suite, timed, and record what came out."""
    cmd = benchlib.pytest_command(benchlib.tool_args(tool, cfg.workers))
    log = logs / f"r{rep}-{suite}-{tool}.log"
    measure = benchlib.run_measured(cmd, cwd=suite_dir, env=env, log_path=log, timeout=cfg.timeout)
    text = log.read_text(encoding="utf-8", errors="replace")
    counts = benchlib.parse_summary(text)
    return RunRecord.measured(
        rep=rep,
        suite=suite,
        tool=tool,
        position=position,
        cmd=cmd,
        log=log,
        measure=measure,
        counts=counts,
        problems=benchlib.basic_problems(measure, counts, text, failures_are_outcomes=True),
    )


def print_run(record: RunRecord) -> None:
    """One progress line per run, so a long benchmark shows where it is."""
    status = "ok" if record.ok else "PROBLEM: " + "; ".join(record.problems)
    counts = ", ".join(f"{v} {k}" for k, v in (record.counts or {}).items())
    print(
        f"  rep {record.rep} {record.suite:9} {record.tool:9} wall {record.wall:7.2f} s"
        f"  cpu {record.cpu:7.2f} s  rss {record.maxrss_kib / 1024:6.1f} MiB"
        f"  pss {record.peak_pss_kib / 1024:6.1f} MiB  [{counts}] {status}",
        flush=True,
    )


def run_all(
    cfg: Config, suite_dirs: Mapping[str, Path], env: Mapping[str, str], logs: Path
) -> list[RunRecord]:
    """Every repetition, suite and tool, in rotating order (see the module docstring)."""
    records: list[RunRecord] = []
    for rep in range(1, cfg.repeat + 1):
        for index, suite in enumerate(cfg.suites):
            order = benchlib.rotated(cfg.runnable, rep - 1 + index)
            for position, tool in enumerate(order):
                record = run_one(
                    cfg,
                    rep=rep,
                    suite=suite,
                    tool=tool,
                    position=position,
                    suite_dir=suite_dirs[suite],
                    env=env,
                    logs=logs,
                )
                print_run(record)
                records.append(record)
    return records


def flag_runs(records: Sequence[RunRecord], metas: Mapping[str, dict[str, Any]]) -> None:
    """Add what needs context: outcome differences, CPU that escaped accounting.

    A run's outcome counts are compared with serial's in the same repetition (serial's,
    and every run's when serial was not run, with the suite's expected "all passed"): a
    difference is recorded in ``differs`` and reported, and the run keeps its figures.
    """
    serial = {(r.rep, r.suite): r for r in records if r.tool == "serial"}
    for record in records:
        meta = metas[record.suite]
        reference = serial.get((record.rep, record.suite))
        record.differs = outcome_differs(record, meta, reference)
        record.problems += context_problems(record, meta)


def outcome_differs(
    record: RunRecord, meta: Mapping[str, Any], reference: RunRecord | None
) -> str | None:
    """How the run's outcome counts differ from serial's (or the expected), if they do."""
    got = benchlib.outcome_counts(record.counts)
    if reference is None or reference is record or reference.counts is None:
        return benchlib.outcome_difference(got, {"passed": meta["tests"]})
    return benchlib.outcome_difference(got, benchlib.outcome_counts(reference.counts))


def context_problems(record: RunRecord, meta: Mapping[str, Any]) -> list[str]:
    """The problems of one run against its suite: CPU that escaped the accounting."""
    problems: list[str] = []
    cpu_floor = CPU_ACCOUNTING_FLOOR * meta["sum_d"]
    if meta["kind"] == "cpu" and record.returncode == 0 and record.cpu < cpu_floor:
        problems.append(
            f"CPU {record.cpu:.2f} s below the suite's sum of d {meta['sum_d']:.2f} s:"
            " worker CPU was not accounted (workers not waited for?)"
        )
    return problems


_IMPORTTIME = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( *)(\S+)")


def testfleet_import_us(stderr: str) -> int | None:
    """Cumulative microseconds of the top-level ``testfleet`` lines of ``-X importtime``.

    Parents are logged nested under the submodule that triggered them (``testfleet`` under
    ``testfleet.plugin``), so only depth-0 lines are summed; adding the package line to the
    plugin line would count the package twice.
    """
    total = None
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        depth = (len(match.group(3)) - 1) // 2
        name = match.group(4)
        if depth == 0 and (name == "testfleet" or name.startswith("testfleet.")):
            total = (total or 0) + int(match.group(2))
    return total


def import_cost(env: Mapping[str, str], cwd: Path, preamble: str) -> tuple[float | None, str]:
    """Median import time of ``testfleet.plugin`` in ms, or None and the reason.

    ``preamble`` runs first in the same interpreter (e.g. ``import pytest``), so that what
    is measured is what testfleet adds on top of it.
    """
    code = f"{preamble}import testfleet.plugin"
    cmd = [sys.executable, "-X", "importtime", "-c", code]
    samples: list[float] = []
    for attempt in range(IMPORT_REPEAT + 1):  # the first is a warm-up of the OS caches
        result = subprocess.run(
            cmd, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            return None, benchlib.last_error_line(result.stderr)
        micros = testfleet_import_us(result.stderr)
        if micros is None:
            return None, "no testfleet line in the -X importtime output"
        if attempt:
            samples.append(micros / 1000)
    return statistics.median(samples), f"`python -X importtime -c {code!r}`"


def stats(records: Sequence[RunRecord], suite: str, tool: str, attr: str) -> Spread | None:
    """Spread of one measure over the successful runs of a tool on a suite."""
    values = [getattr(r, attr) for r in records if r.suite == suite and r.tool == tool and r.ok]
    return benchlib.spread(values)


def _median(records: Sequence[RunRecord], suite: str, tool: str, attr: str) -> float | None:
    found = stats(records, suite, tool, attr)
    return found.median if found else None


def _cell(
    cfg: Config, records: Sequence[RunRecord], suite: str, tool: str, attr: str = "wall"
) -> str:
    """A table cell: the spread (marked when outcomes differed), or why there is none."""
    if tool in cfg.missing:
        return "not installed"
    found = stats(records, suite, tool, attr)
    runs = [r for r in records if r.suite == suite and r.tool == tool]
    if found:
        differs = attr == "wall" and any(r.differs for r in runs if r.ok)
        return found.fmt() + (" differs" if differs else "")
    return "failed" if runs else DASH


def outcomes_cell(cfg: Config, records: Sequence[RunRecord], suite: str, tool: str) -> str:
    """``same``, or ``differs: 397 passed, 3 errors`` (with how many runs, when not all)."""
    if tool in cfg.missing:
        return "not installed"
    runs = [r for r in records if r.suite == suite and r.tool == tool and r.counts is not None]
    if not runs:
        return DASH
    differing = [r.differs for r in runs if r.differs]
    if not differing:
        return "same"
    shown = "differs: " + differing[0]
    if len(set(differing)) > 1 or len(differing) < len(runs):
        shown += f" ({len(differing)} of {len(runs)} runs differ)"
    return shown


def wall_matrix(cfg: Config, records: Sequence[RunRecord], metas: Mapping[str, Any]) -> str:
    """Suites by tools, wall seconds, like BASELINE.md's main table."""
    headers = ["suite", *cfg.tools, f"LB({cfg.workers})"]
    rows = []
    for suite in cfg.suites:
        lb = suites.lower_bound(metas[suite], cfg.workers)
        cells = [_cell(cfg, records, suite, tool) for tool in cfg.tools]
        rows.append([suite, *cells, f"{lb:.2f}" if lb else DASH])
    return benchlib.md_table(headers, rows)


def detail_table(cfg: Config, records: Sequence[RunRecord], metas: Mapping[str, Any]) -> str:
    """One row per suite and tool: ratios to serial and xdist, to LB, CPU and memory."""
    headers = [
        "suite",
        "tool",
        "wall s",
        "/ serial",
        "/ xdist",
        "wall / LB",
        "CPU s",
        "max RSS MiB",
        "peak PSS MiB",
        "outcomes vs serial",
        "runs ok",
    ]
    rows = []
    for suite in cfg.suites:
        lb = suites.lower_bound(metas[suite], cfg.workers)
        serial = _median(records, suite, "serial", "wall")
        xdist = _median(records, suite, "xdist", "wall")
        for tool in cfg.tools:
            wall = _median(records, suite, tool, "wall")
            rss = stats(records, suite, tool, "maxrss_kib")
            pss = stats(records, suite, tool, "peak_pss_kib")
            runs = [r for r in records if r.suite == suite and r.tool == tool]
            rows.append(
                [
                    suite,
                    tool,
                    _cell(cfg, records, suite, tool),
                    benchlib.ratio(wall, serial),
                    benchlib.ratio(wall, xdist),
                    benchlib.ratio(wall, lb),
                    _cell(cfg, records, suite, tool, "cpu"),
                    f"{rss.median / 1024:.0f}" if rss else DASH,
                    f"{pss.median / 1024:.0f}" if pss else DASH,
                    outcomes_cell(cfg, records, suite, tool),
                    f"{sum(r.ok for r in runs)}/{len(runs)}",
                ]
            )
    return benchlib.md_table(headers, rows)


def overhead_table(cfg: Config, records: Sequence[RunRecord]) -> str | None:
    """Per-test overhead (wall(trivial5k) - wall(trivial1)) / 5000 and trivial5k CPU."""
    if not {"trivial1", "trivial5k"} <= set(cfg.suites):
        return None
    serial_cpu = _median(records, "trivial5k", "serial", "cpu")
    rows = []
    for tool in cfg.tools:
        one = _median(records, "trivial1", tool, "wall")
        many = _median(records, "trivial5k", tool, "wall")
        cpu = _median(records, "trivial5k", tool, "cpu")
        per_test = f"{(many - one) / TRIVIAL_TESTS * 1000:.3f}" if one and many else DASH
        rows.append(
            [
                tool,
                "not installed" if tool in cfg.missing else f"{one:.2f}" if one else DASH,
                f"{many:.2f}" if many else DASH,
                per_test,
                f"{cpu:.2f}" if cpu else DASH,
                benchlib.ratio(cpu, serial_cpu),
            ]
        )
    headers = [
        "tool",
        "trivial1 wall s",
        "trivial5k wall s",
        "overhead ms/test",
        "trivial5k CPU s",
        "CPU / serial",
    ]
    return benchlib.md_table(headers, rows)


def problem_lines(records: Sequence[RunRecord], setup_problems: Sequence[str]) -> list[str]:
    """Every flagged run, so a failing tool is reported rather than silently missing, and
    every run whose outcomes differed from serial's (its figures are kept)."""
    lines = [f"- setup: {problem}" for problem in setup_problems]
    for r in records:
        lines += [f"- {r.suite} / {r.tool}, rep {r.rep}: {p} (log `{r.log}`)" for p in r.problems]
        if r.differs:
            against = "the expected counts" if r.tool == "serial" else "serial's"
            lines.append(
                f"- {r.suite} / {r.tool}, rep {r.rep}: outcomes differ from {against}: "
                f"{r.differs} (figures kept; log `{r.log}`)"
            )
    return lines or ["- none: every run exited 0 with the expected outcome counts"]


def render(
    cfg: Config,
    *,
    info: Mapping[str, Any],
    shell_env: Mapping[str, str],
    records: Sequence[RunRecord],
    metas: Mapping[str, Any],
    imports: Mapping[str, tuple[float | None, str]],
    setup_problems: Sequence[str],
    raw_json: Path,
) -> str:
    """The Markdown section for the docs file."""
    out = ["## Synthetic suites", ""]
    if cfg.quick or cfg.scale != 1.0 or cfg.repeat < 3:
        out += [
            f"**Smoke run (scale {cfg.scale:g}, {cfg.repeat} repetition(s)): not a "
            "benchmark result.**",
            "",
        ]
    out += benchlib.machine_lines(info, shell_env)
    out += [
        f"- Command: `{benchlib.invocation(sys.argv)}`",
        f"- W = {cfg.workers}; {cfg.repeat} repetition(s), tools interleaved in rotating "
        f"order; duration scale {cfg.scale:g}; seed {suites.DEFAULT_SEED}; medians with "
        "(min to max) over the runs that exited 0 with the expected counts; ratios are of "
        "medians from this same invocation",
        "- Tool commands, run in each suite's directory:",
    ]
    for tool in cfg.tools:
        cmd = benchlib.pytest_command(benchlib.tool_args(tool, cfg.workers))
        shown = f"`{benchlib.display_command(cmd)}`"
        if tool in cfg.missing:
            shown += f" (not installed: `python -m pip install {cfg.missing[tool]}`)"
        out.append(f"  - {tool}: {shown}")
    out.append(
        "- Memory: max RSS is the largest single process of the tree (`wait4`); peak PSS is "
        "the largest sum of `Pss:` (`/proc/<pid>/smaps_rollup`) over the run's process tree "
        f"and group, sampled every {pss.PSS_INTERVAL * 1000:.0f} ms from the benchmark's "
        "own thread (shared pages counted once)"
    )
    out += [f"- Raw per-run data: `{benchlib.relpath(raw_json)}` (logs beside it)", ""]
    out += ["### Wall time, seconds", "", wall_matrix(cfg, records, metas), ""]
    out += ["### Per suite and tool", "", detail_table(cfg, records, metas), ""]
    overhead = overhead_table(cfg, records)
    if overhead:
        out += [
            "### Per-test overhead",
            "",
            "(wall(trivial5k) - wall(trivial1)) / 5000, and trivial5k's CPU time "
            "(user + sys of the process tree).",
            "",
            overhead,
            "",
        ]
    out += ["### Import cost of the plugin", ""]
    for label, (millis, how) in imports.items():
        value = f"{millis:.1f} ms" if millis is not None else f"n/a ({how})"
        detail = f", median of {IMPORT_REPEAT} {how}" if millis is not None else ""
        out.append(f"- {label}: {value}{detail}")
    out += ["", "### Problems", "", *problem_lines(records, setup_problems)]
    return "\n".join(out) + "\n"


def measure_imports(env: Mapping[str, str], cwd: Path) -> dict[str, tuple[float | None, str]]:
    """The plugin's import cost alone, and on top of pytest (what a pytest run pays)."""
    return {
        "`import testfleet.plugin` in a bare interpreter": import_cost(env, cwd, ""),
        "added to an interpreter that already imported pytest": import_cost(
            env, cwd, "import pytest; "
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, warm up, run interleaved, report."""
    cfg = parse_args(argv)
    env = benchlib.tool_environment(os.environ)  # shared by every tool and run
    suite_root = cfg.workdir / "suites" / f"scale-{cfg.scale:g}"
    run_dir = cfg.workdir / "runs" / benchlib.run_stamp()
    suite_dirs = suites.generate(suite_root, scale=cfg.scale, names=cfg.suites)
    metas = {name: suites.load_meta(path) for name, path in suite_dirs.items()}
    info = benchlib.machine_info(env, suite_root)
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}")
    for tool in cfg.tools:
        cmd = benchlib.pytest_command(benchlib.tool_args(tool, cfg.workers))
        print(f"{tool:9}: {benchlib.display_command(cmd)}")
    print(f"suites in {suite_root}; logs in {run_dir}", flush=True)
    setup_problems = cfg.missing_lines() + warm_up(cfg, suite_dirs, env, run_dir)
    for problem in setup_problems:
        print(f"  setup PROBLEM: {problem}")
    records = run_all(cfg, suite_dirs, env, run_dir)
    flag_runs(records, metas)
    imports = measure_imports(env, suite_root)
    raw_json = run_dir / "runs.json"
    raw = {
        "config": {**vars(cfg), "out": str(cfg.out), "workdir": str(cfg.workdir)},
        "machine": info,
        "suites": {k: {x: v[x] for x in ("tests", "sum_d", "max_d")} for k, v in metas.items()},
        "imports_ms": {k: v[0] for k, v in imports.items()},
        "setup_problems": setup_problems,
        "runs": [r.to_json() for r in records],
    }
    raw_json.write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    section = render(
        cfg,
        info=info,
        shell_env=os.environ,
        records=records,
        metas=metas,
        imports=imports,
        setup_problems=setup_problems,
        raw_json=raw_json,
    )
    benchlib.replace_section(cfg.out, "synthetic", section)
    print(section)
    print(f"report section written to {cfg.out}; raw data in {raw_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
