"""Webbly with its seeded site as a shared fixture (once per run) and per worker.

Webbly's ``seeded_site`` (500 pages with revisions, tags, media, users: about a second
of work) is a ``@testfleet.shared_fixture``: a ``--workers`` run builds it once, in the
controller, before the fork. ``WEBBLY_SEED_PER_WORKER=1`` makes it an ordinary session
fixture, which every worker builds for itself, as under pytest-xdist. Each run logs
every build to its own ``WEBBLY_FIXTURE_LOG`` file, and the render cache's misses are
read off the ``testfleet cache:`` line, so the table shows how many times each
expensive fixture ran, beside the wall. All runs use ``--no-history``: the same plan
for both variants.

Usage: ``python benchmarks/shared_fixture.py [--repeat 3] [--workers 2,4]
[--out docs/benchmarks.md]`` (about 10 minutes on 2 cores, warm-up runs included).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

SUITE = "examples/webbly"
PYTEST = [sys.executable, "-m", "pytest", SUITE, "-p", "no:cacheprovider", "-q"]
CACHE_LINE = re.compile(r"testfleet cache: (\d+) hits, (\d+) misses")


def commands(workers: Sequence[int]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each tool: its command and the variables it adds to the environment."""
    tools: dict[str, tuple[list[str], dict[str, str]]] = {}
    for w in workers:
        run = [*PYTEST, "--workers", str(w), "--no-history"]
        tools[f"testfleet W={w} shared"] = (run, {})
        tools[f"testfleet W={w} per worker"] = (run, {"WEBBLY_SEED_PER_WORKER": "1"})
    tools["xdist -n 2"] = ([*PYTEST, "-n", "2"], {})
    return tools


def with_env(cmd: Sequence[str], variables: dict[str, str]) -> list[str]:
    """``cmd`` run through ``env`` with ``variables`` set (shown in the report)."""
    if not variables:
        return list(cmd)
    return ["env", *(f"{k}={v}" for k, v in variables.items()), *cmd]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",")]
    tools = commands(workers)
    env = benchlib.tool_environment(os.environ)
    logs = args.workdir / "runs" / f"shared-{benchlib.run_stamp()}"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}", flush=True)
    problems = benchlib.warm_up(
        {tool: with_env(cmd, extra) for tool, (cmd, extra) in tools.items()},
        cwd=benchlib.REPO_ROOT,
        env=env,
        logs=logs,
        label="shared",
        timeout=900,
    )
    records: list[dict[str, Any]] = []
    for rep in range(1, args.repeat + 1):
        for tool in benchlib.rotated(list(tools), rep - 1):
            cmd, extra = tools[tool]
            slug = re.sub(r"\W+", "-", tool)
            built = logs / f"r{rep}-{slug}.built"
            log = logs / f"r{rep}-{slug}.log"
            measure = benchlib.run_measured(
                with_env(cmd, {**extra, "WEBBLY_FIXTURE_LOG": str(built)}),
                cwd=benchlib.REPO_ROOT,
                env=env,
                log_path=log,
                timeout=900,
            )
            text = log.read_text(errors="replace")
            cache = CACHE_LINE.search(text)
            record = {
                "rep": rep,
                "tool": tool,
                "wall": measure.wall,
                "cpu": measure.cpu,
                "returncode": measure.returncode,
                "counts": benchlib.outcome_counts(benchlib.parse_summary(text)),
                "seeded_builds": len(built.read_text().splitlines()) if built.exists() else 0,
                "render_misses": int(cache.group(2)) if cache else None,
            }
            records.append(record)
            print(
                f"rep {rep} {tool:26} wall {measure.wall:6.2f} s  "
                f"seeded x{record['seeded_builds']}  {record['counts']}",
                flush=True,
            )
    (logs / "runs.json").write_text(json.dumps(records, indent=2))
    body = render(records, tools, args, problems)
    benchlib.replace_section(args.out, "shared", body)
    print(body)
    return 0


def render(
    records: list[dict[str, Any]],
    tools: dict[str, tuple[list[str], dict[str, str]]],
    args: argparse.Namespace,
    problems: Sequence[str],
) -> str:
    lines = [
        "## Fixtures set up once per run: Webbly's seeded site",
        "",
        f"Command: `{benchlib.invocation(sys.argv)}`. {args.repeat} repetitions in rotating "
        f"order, medians (min{benchlib.DASH}max); CPU is user + system of the whole process "
        "tree. `seeded_site builds` counts the runs of Webbly's seeded-site fixture (logged by "
        "the fixture); `render builds` is the render cache's misses (`fleet_cache`).",
        "",
        benchlib.install_note(),
        "",
        "| tool | command | wall (s) | CPU (s) | seeded_site builds | render builds | counts |",
        "|---|---|---|---|---|---|---|",
    ]
    first_counts = next((r["counts"] for r in records if r["returncode"] == 0), None)
    for tool, (cmd, extra) in tools.items():
        mine = [r for r in records if r["tool"] == tool]
        walls = [r["wall"] for r in mine if r["returncode"] == 0]
        wall = (
            f"{statistics.median(walls):.1f} ({min(walls):.1f}{benchlib.DASH}{max(walls):.1f})"
            if walls
            else "-"
        )
        builds = sorted({r["seeded_builds"] for r in mine})
        renders = sorted({str(r["render_misses"]) for r in mine})
        same = all(r["counts"] == first_counts for r in mine)
        lines.append(
            f"| {tool} | `{benchlib.display_command(with_env(cmd, extra))}` | {wall} | "
            f"{statistics.median(r['cpu'] for r in mine):.1f} | "
            f"{', '.join(map(str, builds))} | {', '.join(renders)} | "
            f"{'same' if same else 'DIFFER'} |"
        )
    lines += ["", f"Counts of every run: {first_counts}."]
    lines += [f"\nSetup problem: {problem}" for problem in problems]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
