"""Categories of tests and where they are configured.

A category groups tests by file pattern and/or marker, gives them a priority
(lower runs first) and says whether they may run at the same time as each other
(``parallel = false``: the scheduler runs them one after another).

Configuration, in ``pyproject.toml``::

    [tool.testfleet.categories.db]
    patterns = ["tests/db/*", "test_*_db.py"]
    markers = ["db"]
    priority = 5
    parallel = false

or in ``testfleet.toml`` the same tables without the ``tool.testfleet`` prefix
(``[categories.db]``).  When ``testfleet.toml`` has a ``categories`` table it
wins and ``pyproject.toml``'s is not read; when it has none, ``pyproject.toml``'s
applies.  Categories defined there replace :data:`DEFAULT_CATEGORIES`; the
fallback ``other`` (tests no category claims) is always added, and may be given
a ``priority`` and ``parallel`` of its own but no patterns or markers.

Everything here is pure except :func:`load_categories`, which reads the files.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

#: The name of the fallback category.
OTHER_NAME = "other"

#: Keys a category table may hold, and those the fallback ``other`` may.
ALLOWED_KEYS = ("markers", "parallel", "patterns", "priority")
OTHER_ALLOWED_KEYS = ("parallel", "priority")

# Bare TOML keys; a category name must be one, so it needs no quoting.
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
_LINE = re.compile(r"\bline \d+")


@dataclass(frozen=True)
class Category:
    """A named group of tests with a priority and a parallel flag."""

    name: str
    #: Globs matched on the file's basename, or on its rootdir-relative path
    #: when the glob holds a ``/`` (``*`` then crosses directories).
    patterns: tuple[str, ...] = ()
    #: Marker names: a test carrying one belongs here, whatever its file.
    markers: tuple[str, ...] = ()
    #: Lower runs first.
    priority: int = 0
    #: False: the tests of this category never run at the same time as each other.
    parallel: bool = True

    def sort_key(self) -> tuple[int, bool, str]:
        """Priority first; ``other`` after the others of its priority; then the name."""
        return (self.priority, self.name == OTHER_NAME, self.name)


#: The fallback of the default set: after unit, integration and functional.
OTHER = Category(OTHER_NAME, priority=4, parallel=True)

#: The guide's categories, used when no configuration defines any.
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("unit", patterns=("test_*_unit.py",), priority=1),
    Category("integration", patterns=("test_*_integration.py",), priority=2),
    # As the guide has it: functional tests often drive one shared server or
    # browser, so by default they run one at a time; a suite whose functional
    # tests are isolated says `parallel = true` in its own table.
    Category("functional", patterns=("test_*_functional.py",), priority=3, parallel=False),
    OTHER,
)


class CategoryConfigError(ValueError):
    """Categories configuration testfleet cannot use: a usage error (exit code 4).

    ``str()`` is one line: the file, the dotted key at fault (when there is one),
    what is wrong and what is allowed.
    """

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        #: The file the configuration came from.
        self.source = source
        #: The dotted TOML key at fault, e.g. ``tool.testfleet.categories.db.paralel``.
        self.key = key
        #: What is wrong and what is allowed.
        self.problem = " ".join(problem.split())
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + self.problem)

    def __reduce__(self) -> tuple[type[CategoryConfigError], tuple[str, str | None, str]]:
        return (type(self), (self.source, self.key, self.problem))


def other_category(categories: Sequence[Category]) -> Category:
    """The fallback of ``categories``: their ``other``, or one after all of them."""
    for category in categories:
        if category.name == OTHER_NAME:
            return category
    last = max((c.priority for c in categories), default=OTHER.priority - 1)
    return Category(OTHER_NAME, priority=last + 1)


def parse_categories(
    table: Mapping[str, object], source: str, *, key: str = "tool.testfleet.categories"
) -> list[Category]:
    """Validate one ``categories`` table; return the categories in priority order.

    ``source`` names the file and ``key`` the table's dotted key in it, for
    error messages.  Without a category of its own (only ``other``, or nothing)
    the table keeps :data:`DEFAULT_CATEGORIES`.  Raises
    :class:`CategoryConfigError` on the first problem found.
    """
    defined: list[Category] = []
    other: Mapping[str, object] | None = None
    seen: dict[str, str] = {}
    for name, value in table.items():
        where = _dotted(key, name)
        if not _NAME.fullmatch(name):
            raise CategoryConfigError(
                source, where, "bad category name; allowed: letters, digits, '_' and '-'"
            )
        if name.lower() == OTHER_NAME and name != OTHER_NAME:
            raise CategoryConfigError(
                source,
                where,
                f"reserved name; allowed: {OTHER_NAME!r} itself for the fallback, or another name",
            )
        if name.lower() in seen:
            raise CategoryConfigError(
                source,
                where,
                f"category names must be unique ignoring case; {seen[name.lower()]!r} "
                f"is defined already",
            )
        seen[name.lower()] = name
        if not isinstance(value, Mapping):
            allowed = OTHER_ALLOWED_KEYS if name == OTHER_NAME else ALLOWED_KEYS
            raise CategoryConfigError(
                source,
                where,
                f"must be a table, not {_toml_type(value)}; allowed keys: {', '.join(allowed)}",
            )
        if name == OTHER_NAME:
            other = value
        else:
            defined.append(_category(name, value, source, where))
    categories = defined or [c for c in DEFAULT_CATEGORIES if c.name != OTHER_NAME]
    fallback = other_category(categories)
    if other is not None:
        fallback = _other(other, fallback, source, _dotted(key, OTHER_NAME))
    return sorted([*categories, fallback], key=Category.sort_key)


def load_categories(rootdir: Path) -> list[Category]:
    """The categories configured in ``rootdir``, in priority order.

    ``testfleet.toml``'s ``[categories]`` if it has one, else ``pyproject.toml``'s
    ``[tool.testfleet.categories]`` if it has one, else the defaults.  A file
    that exists is parsed whole, so a TOML syntax error in it is reported even
    when it holds no categories.  Raises :class:`CategoryConfigError`.
    """
    own = rootdir / "testfleet.toml"
    if own.is_file():
        document = read_toml(own)
        if "categories" in document:
            return _parse_at(document, ("categories",), str(own))
    pyproject = rootdir / "pyproject.toml"
    if pyproject.is_file():
        document = read_toml(pyproject)
        tool = _table_at(document, ("tool",), str(pyproject))
        testfleet = _table_at(tool, ("tool", "testfleet"), str(pyproject))
        if "categories" in testfleet:
            return _parse_at(document, ("tool", "testfleet", "categories"), str(pyproject))
    return sorted(DEFAULT_CATEGORIES, key=Category.sort_key)


def _category(name: str, table: Mapping[str, object], source: str, where: str) -> Category:
    _check_keys(table, ALLOWED_KEYS, source, where)
    patterns = _strings(
        table, "patterns", source, where, problem_of=_pattern_problem, what="glob strings"
    )
    markers = _strings(
        table, "markers", source, where, problem_of=_marker_problem, what="marker names"
    )
    if not patterns and not markers:
        raise CategoryConfigError(
            source,
            where,
            "needs at least one pattern or marker; allowed keys: " + ", ".join(ALLOWED_KEYS),
        )
    priority = _priority(table, source, where, default=0)
    parallel = _parallel(table, source, where)
    return Category(name, patterns, markers, priority, parallel)


def _other(table: Mapping[str, object], fallback: Category, source: str, where: str) -> Category:
    for forbidden in ("patterns", "markers"):
        if forbidden in table:
            raise CategoryConfigError(
                source,
                _dotted(where, forbidden),
                "'other' takes the tests no category claims, so it has no patterns or "
                f"markers; allowed keys: {', '.join(OTHER_ALLOWED_KEYS)}",
            )
    _check_keys(table, OTHER_ALLOWED_KEYS, source, where)
    priority = _priority(table, source, where, default=fallback.priority)
    return replace(fallback, priority=priority, parallel=_parallel(table, source, where))


def _check_keys(
    table: Mapping[str, object], allowed: Sequence[str], source: str, where: str
) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise CategoryConfigError(
            source, _dotted(where, unknown[0]), f"unknown key; allowed keys: {', '.join(allowed)}"
        )


def _strings(
    table: Mapping[str, object],
    field: str,
    source: str,
    where: str,
    *,
    problem_of: Callable[[str], str | None],
    what: str,
) -> tuple[str, ...]:
    value = table.get(field, [])
    key = _dotted(where, field)
    if not isinstance(value, list):
        raise CategoryConfigError(
            source, key, f"must be an array of {what}, not {_toml_type(value)}"
        )
    for item in value:
        if not isinstance(item, str):
            raise CategoryConfigError(
                source, key, f"must be an array of {what}; {item!r} is {_toml_type(item)}"
            )
    strings: list[str] = value
    for string in strings:
        problem = problem_of(string)
        if problem:
            raise CategoryConfigError(source, key, f"{string!r}: {problem}")
    return tuple(strings)


def _pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable glob, or None."""
    allowed = "allowed: a glob relative to the rootdir, with / between directories"
    if not pattern:
        return f"an empty pattern matches nothing; {allowed}"
    if pattern.startswith("/") or _WINDOWS_DRIVE.match(pattern):
        return f"absolute path; {allowed}"
    if "\\" in pattern:
        return f"backslash in pattern; {allowed}"
    if any(part in ("", ".", "..") for part in pattern.split("/")):
        # An empty part is "a//b" or a trailing "/", which no file path matches.
        return f"'.', '..' and empty parts never match; {allowed}"
    if _unclosed_bracket(pattern):
        return f"unclosed '[' (a set such as [0-9] needs its ']'); {allowed}"
    return None


def _unclosed_bracket(pattern: str) -> bool:
    """True if a ``[`` has no ``]``: fnmatch would silently match it literally."""
    # Mirrors fnmatch.translate: after "[", an optional "!", then a "]" right
    # there is a member of the set, not its end.
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] != "[":
            i += 1
            continue
        j = i + 1
        if j < n and pattern[j] == "!":
            j += 1
        if j < n and pattern[j] == "]":
            j += 1
        while j < n and pattern[j] != "]":
            j += 1
        if j >= n:
            return True
        i = j + 1
    return False


def _marker_problem(marker: str) -> str | None:
    if marker.isidentifier():
        return None
    return "not a marker name; allowed: a Python identifier such as db or slow_io"


def _priority(table: Mapping[str, object], source: str, where: str, *, default: int) -> int:
    value = table.get("priority", default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CategoryConfigError(
            source,
            _dotted(where, "priority"),
            f"must be an integer (lower runs first), not {_toml_type(value)}",
        )
    return value


def _parallel(table: Mapping[str, object], source: str, where: str) -> bool:
    value = table.get("parallel", True)
    if not isinstance(value, bool):
        raise CategoryConfigError(
            source, _dotted(where, "parallel"), f"must be true or false, not {_toml_type(value)}"
        )
    return value


def read_toml(path: Path) -> dict[str, object]:
    """The TOML document in ``path``; errors name the file (and the line).

    The one reader of testfleet's configuration files: categories, resources,
    the shared cache and per-worker databases all read through it.
    """
    # Imported here, not at the top: only a run that reads configuration pays for it.
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        # Ignored when tomli is not installed where mypy runs (its python_version
        # is 3.10, so it checks this branch); unused-ignore covers when it is.
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CategoryConfigError(str(path), None, f"not UTF-8: {error}") from error
    try:
        document: dict[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        if not _LINE.search(message):
            # "(at end of document)": say which line that is, as for other errors.
            last_line = text.count("\n") + 1
            message = f"{message} (line {last_line})"
        raise CategoryConfigError(str(path), None, f"invalid TOML: {message}") from error
    return document


def _table_at(
    table: Mapping[str, object], path: tuple[str, ...], source: str
) -> Mapping[str, object]:
    """``table``'s sub-table at the last key of ``path``; empty if it is absent."""
    value = table.get(path[-1], {})
    if not isinstance(value, Mapping):
        raise CategoryConfigError(
            source, _dotted(*path), f"must be a table, not {_toml_type(value)}"
        )
    return value


def _parse_at(document: Mapping[str, object], path: tuple[str, ...], source: str) -> list[Category]:
    table: Mapping[str, object] = document
    for depth in range(len(path)):
        table = _table_at(table, path[: depth + 1], source)
    return parse_categories(table, source, key=_dotted(*path))


def _dotted(prefix: str, *parts: str) -> str:
    """``prefix`` (a dotted key already) extended by ``parts``, quoted unless bare."""
    # TOML's basic strings escape as JSON's do.
    return ".".join([prefix, *(p if _NAME.fullmatch(p) else json.dumps(p) for p in parts)])


def _toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return "a date or time"
