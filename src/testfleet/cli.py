"""The ``testfleet`` command: a thin front to pytest with testfleet switched on."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from testfleet import __version__


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``testfleet``."""
    parser = argparse.ArgumentParser(
        prog="testfleet",
        description="Run large pytest suites fast and predictably.",
    )
    parser.add_argument("--version", action="version", version=f"testfleet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="run pytest on PATHs with workers (--workers auto)",
        description="Run pytest on the given paths with one worker per usable CPU. "
        "Arguments after -- go to pytest unchanged (a --workers there wins).",
        usage="testfleet run [PATH ...] [-- PYTEST_ARG ...]",
    )
    run.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to test")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``testfleet`` console script; returns pytest's exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" belongs to pytest, not to us.
    ours, passthrough = args, []
    if "--" in args:
        split = args.index("--")
        ours, passthrough = args[:split], args[split + 1 :]
    options = build_parser().parse_args(ours)
    if options.command == "run":
        return run(options.paths, passthrough)
    raise AssertionError(options.command)  # argparse rejects unknown commands


def run(paths: Sequence[str], pytest_args: Sequence[str]) -> int:
    """Run pytest in this process, so the workers fork from it after collection."""
    import pytest

    return int(pytest.main(["--workers", "auto", *paths, *pytest_args]))


if __name__ == "__main__":
    sys.exit(main())
