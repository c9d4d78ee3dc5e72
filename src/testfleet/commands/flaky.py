"""``testfleet flaky``: the tests whose outcome flips, scored from the history."""

from __future__ import annotations

import argparse
import sys
from typing import Any

NAME = "flaky"

#: The newest finished runs read: enough for a window of 20 results per test
#: when most runs run part of the suite, and a bounded read however long the
#: history grew.
RUNS_READ = 200


def add_parser(commands: Any) -> None:
    """Add ``testfleet flaky`` to the subcommands."""
    parser = commands.add_parser(
        NAME,
        help="list flaky tests with a score and its evidence, from the history",
        usage="testfleet flaky [PATH] [--json] [--history PATH|URL]",
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="the project (default: here)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--history", metavar="PATH|URL", help="history store to read")


def run(options: argparse.Namespace) -> int:
    """Print the flaky tests; return the exit code."""
    from testfleet.commands.stores import USAGE, finished_runs, open_history
    from testfleet.history import HistoryError
    from testfleet.monitoring.flaky import observe, scores
    from testfleet.reporting.flaky import format_flaky, to_json

    try:
        with open_history(options.path, options.history) as store:
            # A generator: each run's results are read and turned into
            # observations in turn, never all held at once.
            observed = observe(
                (run, store.results(run.run_id))
                for run in finished_runs(store, RUNS_READ)
                if run.run_id is not None
            )
    except HistoryError as exc:
        print(exc, file=sys.stderr)
        return USAGE
    found = scores(observed.history, excluded=observed.outages)
    show = to_json if options.json else format_flaky
    print(show(found, runs=observed.runs, outages=observed.outages))
    return 0
