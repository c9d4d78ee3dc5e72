"""``testfleet trends``: the recorded runs over time, the suite's direction, and the tests
that got slower."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from testfleet.commands.stores import USAGE, finished_runs, open_history

NAME = "trends"


def _at_least_one(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value!r}")
    return number


def add_parser(commands: Any) -> None:
    """Add ``testfleet trends`` to the subcommands."""
    parser = commands.add_parser(
        NAME,
        help="show recorded runs over time, the suite's direction and tests that got slower",
        usage="testfleet trends [PATH] [--last N] [--recent N] [--baseline N] [--json] "
        "[--history PATH|URL]",
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="the project (default: here)")
    parser.add_argument(
        "--last", type=_at_least_one, default=20, metavar="N", help="runs to show (default 20)"
    )
    parser.add_argument(
        "--recent",
        type=_at_least_one,
        default=5,
        metavar="N",
        help="a test got slower: the median of its last N runs (default 5) ...",
    )
    parser.add_argument(
        "--baseline",
        type=_at_least_one,
        default=20,
        metavar="N",
        help="... against the N runs before those (default 20)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--history", metavar="PATH|URL", help="history store to read")


def run(options: argparse.Namespace) -> int:
    """Print the trends; return the exit code."""
    from testfleet.history import HistoryError
    from testfleet.monitoring.trends import Windows, durations_by_test, trends
    from testfleet.reporting.trends import format_trends, to_json

    windows = Windows(recent=options.recent, baseline=options.baseline)
    try:
        with open_history(options.path, options.history) as store:
            runs = finished_runs(store, max(options.last, windows.runs))
            # Only the runs the windows reach: a long history costs no more.
            results = [
                store.results(r.run_id) for r in runs[: windows.runs] if r.run_id is not None
            ]
    except HistoryError as exc:
        print(exc, file=sys.stderr)
        return USAGE
    found = trends(runs[: options.last], durations_by_test(results), windows)
    print(to_json(found) if options.json else format_trends(found))
    return 0
