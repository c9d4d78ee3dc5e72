"""Resource capacities and where they are configured.

In ``pyproject.toml``::

    [tool.testfleet.resources]
    smtp = 1
    browser = 2

or in ``testfleet.toml`` the same table without the ``tool.testfleet`` prefix
(``[resources]``), with the precedence categories have: ``testfleet.toml``'s
table wins when it has one.  A resource nobody configured has capacity 1.

Everything here is pure except :func:`load_resources`, which reads the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from testfleet.categories.config import (
    CategoryConfigError,
    _dotted,
    _table_at,
    _toml_type,
    read_toml,
)


def parse_resources(
    table: Mapping[str, object], source: str, *, key: str = "tool.testfleet.resources"
) -> dict[str, int]:
    """Validate one ``resources`` table: each value a whole number of slots, at least 1.

    Raises :class:`~testfleet.categories.CategoryConfigError` naming the key
    and ``source`` on the first problem.
    """
    capacities: dict[str, int] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            shown = f"{value!r}" if isinstance(value, int | float | str) else _toml_type(value)
            raise CategoryConfigError(
                source,
                _dotted(key, name),
                f"capacity must be a whole number of at least 1 (how many tests may hold "
                f"the resource at once), not {shown}",
            )
        capacities[name] = value
    return capacities


def load_resources(rootdir: Path) -> dict[str, int]:
    """The capacities configured in ``rootdir``: ``testfleet.toml``'s ``[resources]``
    if it has one, else ``pyproject.toml``'s ``[tool.testfleet.resources]``, else none."""
    own = rootdir / "testfleet.toml"
    if own.is_file():
        document = read_toml(own)
        if "resources" in document:
            return parse_resources(
                _table_at(document, ("resources",), str(own)), str(own), key="resources"
            )
    pyproject = rootdir / "pyproject.toml"
    if pyproject.is_file():
        document = read_toml(pyproject)
        tool = _table_at(document, ("tool",), str(pyproject))
        testfleet = _table_at(tool, ("tool", "testfleet"), str(pyproject))
        if "resources" in testfleet:
            table = _table_at(testfleet, ("tool", "testfleet", "resources"), str(pyproject))
            return parse_resources(table, str(pyproject))
    return {}
