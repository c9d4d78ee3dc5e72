"""The quarantine: tests whose failures are reported but do not fail the run.

Configured as ``quarantine`` in ``testfleet.toml`` or under ``[tool.testfleet]``
in ``pyproject.toml``: a list of node ids, or the path (relative to the
rootdir) of a file with one node id per line (``#`` starts a comment).  A node
id without parameters (``tests/test_a.py::test_b``) quarantines every
parametrization of that test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from testfleet.categories.config import CategoryConfigError, _table_at, read_toml


def is_quarantined(nodeid: str, names: frozenset[str]) -> bool:
    """Whether ``nodeid`` is in quarantine: named itself, or its test without parameters."""
    if not names:
        return False
    return nodeid in names or nodeid.partition("[")[0] in names


def parse_quarantine(value: object, source: str, key: str, rootdir: Path) -> frozenset[str]:
    """The node ids ``value`` names: a list of them, or a file of them (one per line)."""
    if isinstance(value, str):
        path = rootdir / value
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CategoryConfigError(
                source, key, f"names the quarantine file {path}, which cannot be read ({exc})"
            ) from None
        lines = (line.partition("#")[0].strip() for line in text.splitlines())
        return frozenset(line for line in lines if line)
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return frozenset(v.strip() for v in value)
    raise CategoryConfigError(
        source,
        key,
        "must be a list of node ids (strings) or the path of a file with one node id per line",
    )


def load_quarantine(rootdir: Path) -> frozenset[str]:
    """The quarantined node ids configured in ``rootdir``; none when nothing says any.

    ``testfleet.toml``'s ``quarantine`` if it has one, else ``pyproject.toml``'s
    ``[tool.testfleet] quarantine``.  Raises :class:`CategoryConfigError`.
    """
    own = rootdir / "testfleet.toml"
    if own.is_file():
        document = read_toml(own)
        if "quarantine" in document:
            return parse_quarantine(document["quarantine"], str(own), "quarantine", rootdir)
    pyproject = rootdir / "pyproject.toml"
    if pyproject.is_file():
        document = read_toml(pyproject)
        tool = _table_at(document, ("tool",), str(pyproject))
        testfleet: Mapping[str, object] = _table_at(tool, ("tool", "testfleet"), str(pyproject))
        if "quarantine" in testfleet:
            return parse_quarantine(
                testfleet["quarantine"], str(pyproject), "tool.testfleet.quarantine", rootdir
            )
    return frozenset()
