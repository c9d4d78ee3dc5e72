"""Run networkx's own test suite serially, with testfleet and its peers; compare outcomes.

A real suite catches what the synthetic ones cannot: fixtures, skips, xfails, doctests and
tests that depend on one another. Each tool's junit XML is compared test by test (junit
classname + name) with the serial run of the same repetition, and the walls are reported
next to each other, with CPU, max RSS and peak PSS (proportional set size summed over the
run's process tree, sampled). Runs are interleaved (rotating order) like ``run.py``'s.
``--tools`` takes any of ``benchlib.TOOLS`` (the peers pytest-xdist, pytest-parallex and
pytest-zygote among them); a tool whose plugin is not installed is reported, not run.

networkx, numpy and scipy must be importable (pandas and lxml too, for the full suite that
BASELINE.md timed); this script does not install anything. Every tool first runs once,
untimed, so that its timed runs find Python's bytecode cache warm, as the others do. One
repetition of the full suite takes ~10 minutes, warm-up included, each further one ~5;
``-k PATTERN`` or ``--package networkx.algorithms`` make a quick subset.

Note: this file is named like the package it tests. Run as a script, its directory comes
first on ``sys.path``, so it must never ``import networkx`` itself; the dependency check and
the test runs happen in subprocesses started from a neutral directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib
from benchlib import DASH

REQUIRED = ("networkx", "numpy", "scipy")
OPTIONAL = ("pandas", "lxml")
INSTALL_HINT = "networkx==3.6.1 numpy scipy pandas lxml"
BASELINE_NETWORKX = "3.6.1"
DEFAULT_TOOLS = ("serial", "testfleet", "xdist")
EXAMPLES_SHOWN = 10
# Prints the version of each module, or null when it cannot be imported.
_CHECK_SCRIPT = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = getattr(importlib.import_module(name), "__version__", "unknown")
    except Exception as exc:
        found[name] = None
print(json.dumps(found))
"""

TestKey = tuple[str, str]
TABLE_HEADERS: tuple[str, ...] = (
    "tool",
    "wall s",
    "/ serial",
    "/ xdist",
    "CPU s",
    "max RSS MiB",
    "peak PSS MiB",
    "junit entries",
    "summary (last run)",
    "outcome differences",
    "exit codes",
)


@dataclass
class Config(benchlib.ToolChoice):
    """The resolved options of one invocation."""

    tools: list[str]
    workers: int
    repeat: int
    out: Path
    workdir: Path
    logs: Path  # this invocation's logs, junit files and raw JSON
    keyword: str | None
    package: str
    extra_env: dict[str, str]
    timeout: float
    #: tools asked for whose plugin is not installed -> its distribution name
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        """The neutral directory the runs start in."""
        return self.workdir / "networkx"


@dataclass
class NxRun:
    """One timed run of the networkx suite by one tool."""

    record: benchlib.RunRecord
    junit: str
    outcomes: dict[TestKey, list[str]] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    difference_count: int | None = None


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` options, e.g. ``OPENBLAS_NUM_THREADS=1``, applied to every tool alike."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def parse_args(argv: Sequence[str] | None) -> Config:
    """Command-line options. Serial is always run: it is the reference for outcomes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", default=",".join(DEFAULT_TOOLS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    parser.add_argument(
        "-k",
        "--only-tests",
        dest="keyword",
        metavar="PATTERN",
        help="pytest -k expression selecting a subset",
    )
    parser.add_argument(
        "--package", default="networkx", help="what --pyargs gets; a subpackage collects faster"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set in the environment of every tool (repeatable)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.workers < 1:
        parser.error("--repeat and --workers must be >= 1")
    tools = benchlib.parse_csv(args.tools, benchlib.TOOLS, "tools")
    if "serial" not in tools:
        tools.insert(0, "serial")
    return Config(
        tools=tools,
        workers=args.workers,
        repeat=args.repeat,
        out=args.out,
        workdir=args.workdir.resolve(),
        logs=args.workdir.resolve() / "networkx" / "runs" / benchlib.run_stamp(),
        keyword=args.keyword,
        package=args.package,
        extra_env=parse_env(args.env),
        timeout=args.timeout,
        missing=benchlib.missing_tools(tools),
    )


def prepare_neutral_dir(path: Path) -> None:
    """A directory with an empty pytest.ini to run from.

    pytest looks for its rootdir and ini file upwards from the current directory when the
    arguments are ``--pyargs`` names; run from the repository, the project's own
    pyproject.toml (``filterwarnings = error``, ``-p pytester``) would apply to networkx.
    """
    path.mkdir(parents=True, exist_ok=True)
    (path / "pytest.ini").write_text(
        "# Generated by benchmarks/networkx.py: keeps outer configuration out.\n[pytest]\n",
        encoding="utf-8",
    )


def check_dependencies(env: Mapping[str, str], cwd: Path) -> tuple[dict[str, str | None], str]:
    """Versions of the needed modules as the runs will see them, and an error if any lack."""
    modules = [*REQUIRED, *OPTIONAL]
    result = subprocess.run(
        [sys.executable, "-c", _CHECK_SCRIPT, *modules],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return {}, f"the dependency check itself failed: {benchlib.last_error_line(result.stderr)}"
    found: dict[str, str | None] = json.loads(result.stdout)
    missing = [name for name in REQUIRED if found.get(name) is None]
    if not missing:
        return found, ""
    return found, (
        f"networkx benchmark: {', '.join(missing)} cannot be imported by {sys.executable}.\n"
        f"Install them (this script does not) with:\n"
        f"    {sys.executable} -m pip install {INSTALL_HINT}"
    )


def dependency_notes(found: Mapping[str, str | None]) -> list[str]:
    """Warnings about a setup that differs from BASELINE.md's (fewer tests run there)."""
    notes = []
    absent = [name for name in OPTIONAL if found.get(name) is None]
    if absent:
        notes.append(
            f"{', '.join(absent)} not installed: the networkx tests needing them are skipped "
            f"(BASELINE.md had them; `pip install {' '.join(absent)}`)"
        )
    if found.get("networkx") not in (None, BASELINE_NETWORKX):
        notes.append(f"networkx {found['networkx']}, BASELINE.md timed {BASELINE_NETWORKX}")
    return notes


def junit_outcomes(path: Path) -> dict[TestKey, list[str]]:
    """Outcome of every junit testcase, keyed by (classname, name).

    A key can repeat (same name collected twice); its outcomes are kept as a sorted list so
    two runs compare as multisets. An error (e.g. in teardown) outranks the test's result.
    """
    outcomes: dict[TestKey, list[str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if "error" in tags:
            outcome = "error"
        elif "failure" in tags:
            outcome = "failed"
        elif "skipped" in tags:
            outcome = "skipped"
        else:
            outcome = "passed"
        key = (case.get("classname", ""), case.get("name", ""))
        outcomes.setdefault(key, []).append(outcome)
    return {key: sorted(values) for key, values in outcomes.items()}


def compare(
    reference: Mapping[TestKey, list[str]], other: Mapping[TestKey, list[str]]
) -> list[str]:
    """One line per test whose outcomes differ between the reference and another run."""
    lines = []
    for key in sorted(set(reference) | set(other)):
        ref, got = reference.get(key), other.get(key)
        if ref != got:
            name = "::".join(key)
            lines.append(f"{name}: serial {ref or 'absent'}, this run {got or 'absent'}")
    return lines


def tool_command(cfg: Config, tool: str, junit: Path) -> list[str]:
    """The command of one run of ``tool``; the junit path is relative to the run's directory."""
    selection = ["-k", cfg.keyword] if cfg.keyword else []
    extra = ["--pyargs", cfg.package, *benchlib.tool_args(tool, cfg.workers), *selection]
    shown = junit.relative_to(cfg.run_dir) if junit.is_relative_to(cfg.run_dir) else junit
    return benchlib.pytest_command([*extra, f"--junitxml={shown}"])


def run_tool(cfg: Config, rep: int, tool: str, position: int, env: Mapping[str, str]) -> NxRun:
    """One timed run of the suite by ``tool``, with its junit outcomes."""
    junit = cfg.logs / f"r{rep}-{tool}.xml"
    cmd = tool_command(cfg, tool, junit)
    log = cfg.logs / f"r{rep}-{tool}.log"
    measure = benchlib.run_measured(
        cmd, cwd=cfg.run_dir, env=env, log_path=log, timeout=cfg.timeout
    )
    text = log.read_text(encoding="utf-8", errors="replace")
    counts = benchlib.parse_summary(text)
    problems = benchlib.basic_problems(measure, counts, text)
    if measure.returncode == 1 and counts and not measure.timed_out:
        problems = []  # some tests failed: judged by the comparison with serial, not here
    record = benchlib.RunRecord.measured(
        rep=rep,
        suite=cfg.package,
        tool=tool,
        position=position,
        cmd=cmd,
        log=log,
        measure=measure,
        counts=counts,
        problems=problems,
    )
    run = NxRun(record=record, junit=benchlib.relpath(junit))
    if junit.is_file():
        run.outcomes = junit_outcomes(junit)
    else:
        record.problems.append("no junit XML written")
    return run


def completed(run: NxRun) -> bool:
    """Whether the run went through the suite (exit 0, or 1 for failing tests)."""
    return run.record.returncode in (0, 1) and not run.record.timed_out


def compare_runs(runs: Sequence[NxRun]) -> None:
    """Compare each run with the serial run of its repetition."""
    serial = {run.record.rep: run for run in runs if run.record.tool == "serial"}
    for run in runs:
        reference = serial.get(run.record.rep)
        if run is reference or reference is None or not reference.outcomes:
            continue
        if not run.outcomes:
            continue
        run.differences = compare(reference.outcomes, run.outcomes)
        run.difference_count = len(run.differences)
        if run.differences:
            run.record.problems.append(f"{len(run.differences)} outcome(s) differ from serial")


def print_run(run: NxRun) -> None:
    """A progress line per run."""
    r = run.record
    diff = DASH if run.difference_count is None else str(run.difference_count)
    status = "ok" if r.ok else "PROBLEM: " + "; ".join(r.problems)
    print(
        f"  rep {r.rep} {r.tool:9} wall {r.wall:7.2f} s cpu {r.cpu:7.2f} s "
        f"rss {r.maxrss_kib / 1024:6.1f} MiB pss {r.peak_pss_kib / 1024:6.1f} MiB "
        f"exit {r.returncode} {r.counts} "
        f"junit {sum(len(v) for v in run.outcomes.values())} diffs {diff} {status}",
        flush=True,
    )


def _tool_rows(cfg: Config, runs: Sequence[NxRun]) -> list[list[str]]:
    """One table row per tool: walls, ratios, CPU, memory (max RSS, peak PSS), outcomes,
    differences; a tool that is not installed has a row that says so."""

    def walls(tool: str) -> list[float]:
        """Walls of the runs that completed; outcome differences are reported apart."""
        return [r.record.wall for r in runs if r.record.tool == tool and completed(r)]

    serial = benchlib.spread(walls("serial"))
    xdist = benchlib.spread(walls("xdist"))
    rows = []
    for tool in cfg.tools:
        mine = [r for r in runs if r.record.tool == tool]
        if tool in cfg.missing or not mine:
            shown = "not installed" if tool in cfg.missing else "not run"
            rows.append([tool, shown, *[DASH] * (len(TABLE_HEADERS) - 2)])
            continue
        wall = benchlib.spread(walls(tool))
        cpu = benchlib.spread([r.record.cpu for r in mine])
        rss = benchlib.spread([r.record.maxrss_kib / 1024 for r in mine])
        pss = benchlib.spread([r.record.peak_pss_kib / 1024 for r in mine])
        diffs = [str(r.difference_count) for r in mine if r.difference_count is not None]
        last = mine[-1]
        rows.append(
            [
                tool,
                wall.fmt() if wall else "failed",
                benchlib.ratio(wall.median if wall else None, serial.median if serial else None),
                benchlib.ratio(wall.median if wall else None, xdist.median if xdist else None),
                cpu.fmt() if cpu else DASH,
                f"{rss.median:.0f}" if rss else DASH,
                f"{pss.median:.0f}" if pss else DASH,
                str(sum(len(v) for v in last.outcomes.values())),
                ", ".join(f"{v} {k}" for k, v in (last.record.counts or {}).items()) or DASH,
                "reference" if tool == "serial" else (", ".join(diffs) or DASH),
                ", ".join(str(r.record.returncode) for r in mine),
            ]
        )
    return rows


def render(
    cfg: Config,
    *,
    info: Mapping[str, Any],
    shell_env: Mapping[str, str],
    runs: Sequence[NxRun],
    notes: Sequence[str],
    found: Mapping[str, str | None],
    setup_problems: Sequence[str] = (),
) -> str:
    """The Markdown section for the docs file."""
    versions = ", ".join(f"{name} {found.get(name) or 'absent'}" for name in found)
    out = ["## networkx's own suite", ""]
    selection = f" -k {shlex.quote(cfg.keyword)}" if cfg.keyword else ""
    if cfg.keyword or cfg.package != "networkx":
        out += [
            f"**Subset run (`--pyargs {cfg.package}{selection}`): not the full suite.**",
            "",
        ]
    out += benchlib.machine_lines(info, shell_env)
    out += [
        f"- Modules: {versions}",
        f"- Command: `{benchlib.invocation(sys.argv)}`",
        f"- W = {cfg.workers}; {cfg.repeat} repetition(s), tools interleaved in rotating "
        "order; each run's junit outcomes compared test by test (classname + name) with the "
        "serial run of the same repetition",
        f"- Tool commands, run in `{benchlib.relpath(cfg.workdir / 'networkx')}` (empty "
        "pytest.ini, so no outer configuration applies):",
    ]
    for tool in cfg.tools:
        shown = next((r.record.command for r in runs if r.record.tool == tool), None)
        if shown is None:  # not run: the command it would have had
            shown = benchlib.display_command(tool_command(cfg, tool, cfg.logs / f"r1-{tool}.xml"))
        dist = cfg.missing.get(tool)
        note = f" (not installed: `python -m pip install {dist}`)" if dist else ""
        out.append(f"  - {tool}: `{shown}`{note}")
    out += [f"- Note: {note}" for note in notes]
    out.append(
        "- Memory: max RSS is the largest single process of the tree (`wait4`); peak PSS is "
        "the largest sum of `Pss:` over the run's process tree, sampled while it ran "
        "(shared pages counted once); medians over every run"
    )
    table = benchlib.md_table(TABLE_HEADERS, _tool_rows(cfg, runs))
    out += ["", table, "", "### Problems", ""]
    problems = [f"- setup: {problem}" for problem in setup_problems]
    for run in runs:
        r = run.record
        problems += [f"- {r.tool}, rep {r.rep}: {p} (log `{r.log}`)" for p in r.problems]
        problems += [f"  - {line}" for line in run.differences[:EXAMPLES_SHOWN]]
        if len(run.differences) > EXAMPLES_SHOWN:
            problems.append(f"  - ... and {len(run.differences) - EXAMPLES_SHOWN} more")
    out += problems or ["- none: every run gave serial's outcome for every test"]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Check dependencies, run interleaved, compare, report."""
    cfg = parse_args(argv)
    env = benchlib.tool_environment(os.environ, cfg.extra_env)  # shared by every tool
    neutral = cfg.run_dir
    prepare_neutral_dir(neutral)
    found, error = check_dependencies(env, neutral)
    if error:
        print(error, file=sys.stderr)
        return 2
    notes = dependency_notes(found)
    for note in notes:
        print(f"note: {note}")
    info = benchlib.machine_info(env, neutral)
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}", flush=True)
    commands = {
        tool: tool_command(cfg, tool, cfg.logs / f"warmup-{tool}.xml") for tool in cfg.runnable
    }
    setup_problems = cfg.missing_lines() + benchlib.warm_up(
        commands, cwd=neutral, env=env, logs=cfg.logs, label=cfg.package, timeout=cfg.timeout
    )
    for problem in setup_problems:
        print(f"  setup PROBLEM: {problem}", flush=True)
    runs: list[NxRun] = []
    for rep in range(1, cfg.repeat + 1):
        for position, tool in enumerate(benchlib.rotated(cfg.runnable, rep - 1)):
            runs.append(run_tool(cfg, rep, tool, position, env))
            print_run(runs[-1])
    compare_runs(runs)
    for run in runs:
        if run.differences:
            print(f"  {run.record.tool} rep {run.record.rep}: {run.difference_count} diffs")
    logs = cfg.logs
    raw = {
        "machine": info,
        "modules": found,
        "notes": notes,
        "setup_problems": setup_problems,
        "runs": [
            {**run.record.to_json(), "junit": run.junit, "differences": run.differences}
            for run in runs
        ],
    }
    (logs / "runs.json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    section = render(
        cfg,
        info=info,
        shell_env=os.environ,
        runs=runs,
        notes=notes,
        found=found,
        setup_problems=setup_problems,
    )
    benchlib.replace_section(cfg.out, "networkx", section)
    print(section)
    print(f"report section written to {cfg.out}; raw data in {logs / 'runs.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
