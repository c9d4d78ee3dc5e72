"""``testfleet report``: the HTML or JSON report of any recorded run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testfleet.model.history import RunRecord

NAME = "report"


def add_parser(commands: Any) -> None:
    """Add ``testfleet report`` to the subcommands."""
    parser = commands.add_parser(
        NAME,
        help="write the HTML or JSON report of a recorded run (default: the newest)",
        usage="testfleet report [RUN] -o PATH.html|PATH.json [--history PATH|URL]",
    )
    parser.add_argument("run_id", nargs="?", type=int, metavar="RUN", help="the run's id")
    parser.add_argument("-o", "--output", required=True, metavar="PATH", help="where to write")
    parser.add_argument("--history", metavar="PATH|URL", help="history store to read")


def run(options: argparse.Namespace) -> int:
    """Write the report; return the exit code (4 when the store, run or path will not do)."""
    from testfleet.commands.stores import open_history
    from testfleet.history import HistoryError
    from testfleet.model.history import FinishedRun
    from testfleet.plugins.report import SUFFIXES, history_of, reason, write_report

    output = Path(options.output)
    if output.suffix.lower() not in SUFFIXES:
        return _fail(
            f"testfleet report: -o {options.output} names neither an HTML nor a JSON file; "
            "expected -o PATH.html or -o PATH.json"
        )
    try:
        with open_history(None, options.history) as store:
            runs = store.runs()
            chosen = _choose(runs, options.run_id)
            if isinstance(chosen, str):
                return _fail(f"testfleet report: {chosen}")
            assert chosen.run_id is not None  # read from the store
            finished = FinishedRun(
                chosen, tuple(store.results(chosen.run_id)), store.details(chosen.run_id)
            )
            _, flaky, finished = history_of(store, finished)
    except HistoryError as exc:
        return _fail(str(exc))
    try:
        write_report(output, finished, runs=runs, flaky=flaky)
    except (OSError, ValueError) as exc:
        return _fail(
            f"testfleet report: could not write {output} ({reason(exc)}); pass -o PATH "
            "where you can write"
        )
    print(f"testfleet: report of run #{chosen.run_id} written to {output}")
    return 0


def _choose(runs: Sequence[RunRecord], run_id: int | None) -> RunRecord | str:
    """The run asked for, or the newest finished one; else why there is none."""
    if run_id is None:
        for record in runs:  # newest first
            if record.finished is not None:
                return record
        return "the history holds no finished run yet; run the suite first"
    for record in runs:
        if record.run_id == run_id:
            return record
    if not runs:
        return f"no run #{run_id}: the history holds no runs yet"
    ids = sorted(r.run_id for r in runs if r.run_id is not None)
    return f"no run #{run_id} in the history; its runs are #{ids[0]} to #{ids[-1]}"


def _fail(message: str) -> int:
    """Say what is wrong on one line; the exit code of a usage error."""
    from testfleet.commands.stores import USAGE

    print(message, file=sys.stderr)
    return USAGE
