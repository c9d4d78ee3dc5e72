"""The ``testfleet`` command: a thin front to pytest and to testfleet's layers."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from testfleet import __version__

if TYPE_CHECKING:
    from testfleet.plugins.inspect import Inspection


def _worker_counts(value: str) -> list[int]:
    try:
        counts = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected worker counts like 1,2,4,8, got {value!r}"
        ) from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"worker counts must be 1 or more, got {value!r}")
    return counts


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``testfleet``."""
    parser = argparse.ArgumentParser(
        prog="testfleet",
        description="Run large pytest suites fast and predictably.",
        epilog="Arguments after -- go to pytest unchanged.",
    )
    parser.add_argument("--version", action="version", version=f"testfleet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run pytest on PATHs with workers (--workers auto) and history",
        description="Run pytest on the given paths with one worker per usable CPU, "
        "recording the run in the history. Arguments after -- go to pytest "
        "unchanged (a --workers there wins).",
        usage="testfleet run [PATH ...] [-- PYTEST_ARG ...]",
    )
    run.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to test")
    run.add_argument(
        "--fleet", metavar="URL", help="be one node of a run over many machines (Redis URL)"
    )
    run.add_argument("--run-id", metavar="ID", help="with --fleet: the run's id on every node")
    run.add_argument("--fleet-node", metavar="NAME", help="with --fleet: this node's name")

    discover = commands.add_parser(
        "discover",
        help="list the categories of a suite with test counts and estimated time",
        usage="testfleet discover [PATH ...] [--json] [--history PATH|URL] [-- PYTEST_ARG ...]",
    )
    discover.add_argument("paths", nargs="*", metavar="PATH")
    discover.add_argument("--json", action="store_true", help="print JSON for machines")
    discover.add_argument("--history", metavar="PATH|URL", help="history store to estimate from")

    plan = commands.add_parser(
        "plan",
        help="predict the wall time of a run for several worker counts",
        usage="testfleet plan [PATH ...] [--workers 1,2,4,8] [--history PATH|URL] "
        "[-- PYTEST_ARG ...]",
    )
    plan.add_argument("paths", nargs="*", metavar="PATH")
    plan.add_argument(
        "--workers",
        type=_worker_counts,
        default=[1, 2, 4, 8],
        metavar="N,N,...",
        help="worker counts to simulate (default 1,2,4,8)",
    )
    plan.add_argument("--history", metavar="PATH|URL", help="history store to plan from")

    fleet = commands.add_parser("fleet", help="work with runs spread over many machines")
    fleet_commands = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    report = fleet_commands.add_parser(
        "report",
        help="summarise a whole fleet run; write one JUnit file of it",
        description="Print the summary and the failures of every node of a fleet run; "
        "exit 1 if any test failed anywhere, 2 if the run is not complete.",
        usage="testfleet fleet report --fleet URL --run-id ID [--junitxml FILE]",
    )
    report.add_argument("--fleet", metavar="URL", required=True, help="the run's Redis URL")
    report.add_argument("--run-id", metavar="ID", required=True, help="the run's id")
    report.add_argument("--junitxml", metavar="FILE", type=Path, help="write JUnit XML here")

    history = commands.add_parser("history", help="work with history stores")
    history_commands = history.add_subparsers(
        dest="history_command", metavar="ACTION", required=True
    )
    merge = history_commands.add_parser(
        "merge",
        help="merge SQLite histories (the shards of a CI run) into one",
        usage="testfleet history merge SOURCE.db [SOURCE.db ...] -o OUT.db",
    )
    merge.add_argument("sources", nargs="+", type=Path, metavar="SOURCE.db")
    merge.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.db")
    for module in _history_commands():
        module.add_parser(commands)
    return parser


def _history_commands() -> list[ModuleType]:
    """The modules of the commands that read the history: trends, flaky, report."""
    from testfleet.commands import flaky, report, trends

    return [trends, flaky, report]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``testfleet`` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" belongs to pytest, not to us.
    ours, passthrough = args, []
    if "--" in args:
        split = args.index("--")
        ours, passthrough = args[:split], args[split + 1 :]
    options = build_parser().parse_args(ours)
    # pytest chooses its rootdir before it knows testfleet's options, so it would
    # take the value of `--history /tmp/h.db` for a test path: join such values.
    from testfleet.plugins.paths import join_values

    passthrough = join_values(passthrough)
    if options.command == "run":
        fleet = [
            f"{flag}={value}"
            for flag, value in (
                ("--fleet", options.fleet),
                ("--run-id", options.run_id),
                ("--fleet-node", options.fleet_node),
            )
            if value is not None
        ]
        return run(options.paths, [*fleet, *passthrough])
    if options.command == "fleet":
        return fleet_report(options.fleet, options.run_id, options.junitxml)
    if options.command == "discover":
        return discover(options.paths, passthrough, history=options.history, as_json=options.json)
    if options.command == "plan":
        return plan(options.paths, passthrough, history=options.history, counts=options.workers)
    for module in _history_commands():
        if options.command == module.NAME:
            return int(module.run(options))
    return merge(options.sources, options.output)


def run(paths: Sequence[str], pytest_args: Sequence[str]) -> int:
    """Run pytest in this process, so the workers fork from it after collection."""
    import pytest

    return int(pytest.main(["--workers=auto", *paths, *pytest_args]))


def _inspect(
    paths: Sequence[str], pytest_args: Sequence[str], history: str | None
) -> tuple[int, Inspection]:
    """Collect the suite quietly; on failure pytest's own output goes to stderr."""
    import pytest

    from testfleet.plugins.inspect import InspectPlugin

    plugin = InspectPlugin(history)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = int(
            pytest.main(
                [*paths, "--collect-only", "-q", "-p", "no:cacheprovider", *pytest_args],
                plugins=[plugin],
            )
        )
    if code not in (0, 5):
        sys.stderr.write(output.getvalue())
    return code, plugin.result


def discover(
    paths: Sequence[str], pytest_args: Sequence[str], *, history: str | None, as_json: bool
) -> int:
    """Print each category with its test count, estimated time and patterns."""
    from testfleet.categories import summarize, summarize_resources
    from testfleet.reporting.discover import format_table, to_json

    code, found = _inspect(paths, pytest_args, history)
    if code not in (0, 5) or found.estimates is None:
        return code
    rows = summarize(found.assigned, found.estimates.per_test, found.categories)
    held = summarize_resources(found.holds, found.estimates.per_test, found.capacities)
    print(to_json(rows, held) if as_json else format_table(rows, held))
    if found.history_problem:
        print(f"{found.history_problem} (estimated without history)", file=sys.stderr)
    return 0


def plan(
    paths: Sequence[str],
    pytest_args: Sequence[str],
    *,
    history: str | None,
    counts: Sequence[int],
) -> int:
    """Predict the run phase for each worker count by simulating the planner."""
    from testfleet.plugins.suite import plan_items, resources_of
    from testfleet.reporting.plan import Prediction, format_plan
    from testfleet.scheduling.plan import lower_bound, resource_chains
    from testfleet.scheduling.plan import plan as make_plan
    from testfleet.scheduling.simulate import makespan, simulate

    code, found = _inspect(paths, pytest_args, history)
    if code not in (0, 5) or found.estimates is None:
        return code
    items = plan_items(found.infos, found.assigned, found.estimates)
    durations = [item.estimate for item in items]
    weights = {item.index: item.estimate for item in items}
    resources = resources_of(items, found.capacities)
    chains = list(resource_chains(items, found.capacities).values())
    group_cost = found.estimates.group_cost
    predictions = [
        Prediction(
            workers=w,
            predicted=makespan(
                simulate(
                    make_plan(items, w, group_cost, found.capacities),
                    w,
                    weights=weights,
                    resources=resources,
                )
            ),
            lower_bound=lower_bound(durations, w, chains),
        )
        for w in counts
    ]
    from testfleet.engine.threads import available_cpus

    print(
        format_plan(
            predictions, tests=len(items), estimated=found.has_history, cpus=available_cpus()
        )
    )
    if found.history_problem:
        print(f"{found.history_problem} (planned without history)", file=sys.stderr)
    return 0


#: Exit codes of ``testfleet fleet report``, as pytest's: failures, an incomplete
#: run, a run that is not there.
_FAILED, _INCOMPLETE, _USAGE = 1, 2, 4


def fleet_report(url: str, run_id: str, junitxml: Path | None) -> int:
    """Print the run's line and failures; write its JUnit XML; return the exit code."""
    try:
        import redis
    except ImportError:
        print(
            "testfleet: fleet report needs the redis package: pip install 'testfleet[fleet]'",
            file=sys.stderr,
        )
        return _USAGE

    from testfleet.distributed.connection import FleetError, connect, describe_lost
    from testfleet.distributed.protocol import MalformedEntry
    from testfleet.distributed.redis_run import RedisRun
    from testfleet.distributed.settings import FleetSettingsError, check_url
    from testfleet.distributed.settings import run_id as checked_run_id
    from testfleet.model.fleet import FleetSettings
    from testfleet.model.urls import redact
    from testfleet.reporting.fleet import failures, junit_xml, run_line

    try:
        settings = FleetSettings(check_url(url), checked_run_id(run_id, {}), node="report")
        run = RedisRun(connect(url), settings)
        meta = run.meta()
        if meta is None:
            print(
                f"testfleet: no fleet run {run_id!r} at {redact(url)} (never started, or its "
                "keys expired)",
                file=sys.stderr,
            )
            return _USAGE
        results = run.results()
        for line in run.skipped:
            print(line, file=sys.stderr)
    except (FleetError, FleetSettingsError, MalformedEntry) as exc:
        print(exc if isinstance(exc, FleetError) else f"testfleet: {exc}", file=sys.stderr)
        return _USAGE
    except redis.RedisError as exc:
        print(describe_lost(url, exc), file=sys.stderr)
        return _USAGE
    for block in failures(results):
        print(block, end="\n\n")
    print(run_line(results))
    if junitxml is not None:
        junitxml.parent.mkdir(parents=True, exist_ok=True)
        junitxml.write_bytes(junit_xml(results, "pytest", {"testfleet_run_id": run_id}))
    if any(r.fails_run for r in results):
        return _FAILED
    if len(results) < meta.tests:
        print(
            f"testfleet: run {run_id} is not complete: {len(results)} of {meta.tests} tests "
            "have a result",
            file=sys.stderr,
        )
        return _INCOMPLETE
    return 0


def merge(sources: Sequence[Path], output: Path) -> int:
    """Merge SQLite histories into ``output``."""
    from testfleet.history import HistoryError
    from testfleet.history import merge as merge_histories

    try:
        runs = merge_histories(sources, output)
    except HistoryError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"merged {runs} runs from {len(sources)} histories into {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
