"""Options that take a value, and the rootdir pytest finds before it knows them.

pytest chooses the rootdir and the configuration file from the command line
before it loads plugins (``determine_setup`` runs before the ``pytest11`` entry
points), so it cannot yet know that ``/tmp/x/h.db`` in ``--history /tmp/x/h.db``
is the value of an option: it takes it for a test path, and when that path
exists it looks for the configuration next to it. The suite then loses its own
``pyproject.toml`` (markers, ``addopts``, categories). Written
``--history=/tmp/x/h.db`` the value stays attached to its option.

pytest offers no hook early enough to change that choice, and redoing it later
would leave ``addopts``, ``pythonpath`` and the plugins it loaded behind. So the
plugin checks, once the options are known and before any conftest is imported,
whether a value written apart changed the outcome, and stops with a usage error
that shows the safe spelling. The ``testfleet`` command writes the safe spelling
itself.
"""

from __future__ import annotations

import inspect
import os
import shlex
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pytest

# pytest's own logic, so that the check finds exactly what pytest finds
# (the module is private; these two functions exist from pytest 8.1 on).
from _pytest.config.findpaths import determine_setup, get_dirs_from_args

#: testfleet's options that take a value. The ``testfleet`` command joins these to
#: their value when it passes them on; a test checks the set against the options
#: ``testfleet.plugin`` declares, and the rootdir check reads the declared ones.
VALUE_OPTIONS = frozenset(
    {
        "--fleet",
        "--fleet-key-ttl",
        "--fleet-lease",
        "--fleet-node",
        "--history",
        "--monitor-interval",
        "--report",
        "--retry-failed",
        "--run-id",
        "--shard",
        "--test-timeout",
        "--worker-restart-limit",
        "--workers",
    }
)

#: argparse actions that take no value.
_FLAG_ACTIONS = frozenset(
    {"store_true", "store_false", "store_const", "append_const", "count", "help", "version"}
)


def value_options(group: pytest.OptionGroup) -> frozenset[str]:
    """The long names of the options of ``group`` that take a value."""
    names: set[str] = set()
    for option in group.options:
        # pytest 8 keeps the keywords given to addoption; pytest 9 the argparse
        # action's attributes (where a flag has nargs=0).
        attrs = option.attrs()
        if attrs.get("action") in _FLAG_ACTIONS or attrs.get("nargs") == 0:
            continue
        names.update(name for name in option.names() if name.startswith("--"))
    return frozenset(names)


def separated_values(args: Sequence[str], options: Collection[str]) -> list[tuple[str, str]]:
    """The ``(option, value)`` pairs of ``options`` written as two arguments in ``args``."""
    pairs: list[tuple[str, str]] = []
    for position, arg in enumerate(args):
        if arg == "--":
            break  # what follows is positional, whatever it looks like
        if arg in options and position + 1 < len(args):
            value = args[position + 1]
            if not value.startswith("-"):  # pytest's own search skips such values
                pairs.append((arg, value))
    return pairs


def join_values(args: Sequence[str], options: Collection[str] = VALUE_OPTIONS) -> list[str]:
    """``args`` with each ``--option value`` of ``options`` written ``--option=value``."""
    joined: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            joined.extend(args[position:])
            break
        if arg in options and position + 1 < len(args) and not args[position + 1].startswith("-"):
            joined.append(f"{arg}={args[position + 1]}")
            position += 2
            continue
        joined.append(arg)
        position += 1
    return joined


def check_setup(config: pytest.Config, parser: pytest.Parser) -> None:
    """Stop with a usage error when a testfleet value written apart moved the rootdir.

    Only a value that exists as a path can move it (pytest skips the others), so
    a run without one costs a scan of its arguments.
    """
    # What pytest searched: PYTEST_ADDOPTS, then the command line (not the
    # configuration file's addopts, which it reads only once it has found the file).
    seen = [
        *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
        *(os.fspath(arg) for arg in config.invocation_params.args),
    ]
    ours = [
        (option, value)
        for option, value in separated_values(seen, value_options(parser.getgroup("testfleet")))
        if get_dirs_from_args([value])
    ]
    if not ours:
        return
    known, unknown = parser.parse_known_and_unknown_args(seen)
    if getattr(known, "help", False) or getattr(known, "version", False):
        return  # pytest prints help or its version and stops; nothing to guard
    # Every option is known now, so their values are no longer free arguments.
    free = [*known.file_or_dir, *unknown]
    expected = _setup(free, known, config.invocation_params.dir)
    if (config.rootpath, config.inipath) == expected:
        return
    if _setup([*free, *(value for _, value in ours)], known, config.invocation_params.dir) == (
        expected
    ):
        return  # another plugin's value moved it: not ours to judge
    raise pytest.UsageError(_message(ours, (config.rootpath, config.inipath), expected))


def _setup(args: Sequence[str], known: Any, invocation_dir: Path) -> tuple[Path, Path | None]:
    """The rootdir and configuration file pytest finds for these free arguments."""
    options: dict[str, Any] = {
        "inifile": known.inifilename,
        "args": list(args),
        "rootdir_cmd_arg": known.rootdir or None,
        "invocation_dir": invocation_dir,
    }
    if "override_ini" in inspect.signature(determine_setup).parameters:  # pytest >= 9
        options["override_ini"] = known.override_ini
    found = determine_setup(**options)
    return found[0], found[1]


def _describe(setup: tuple[Path, Path | None]) -> str:
    rootdir, inipath = setup
    if inipath is None:
        return f"rootdir {rootdir} (no configfile)"
    shown = inipath.relative_to(rootdir) if inipath.is_relative_to(rootdir) else inipath
    return f"rootdir {rootdir} (configfile {shown})"


def _message(
    ours: Sequence[tuple[str, str]],
    found: tuple[Path, Path | None],
    expected: tuple[Path, Path | None],
) -> str:
    written = " ".join(f"{option} {shlex.quote(value)}" for option, value in ours)
    safe = " ".join(shlex.quote(f"{option}={value}") for option, value in ours)
    return (
        f"{written}: pytest chose {_describe(found)} instead of {_describe(expected)}, "
        "because it looks for them before it knows testfleet's options and took the value "
        f"for a test path. Join the value to its option with '=': {safe}"
    )
