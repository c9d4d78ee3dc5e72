"""Put each collected test in exactly one category.

Markers first: a test carrying a category's marker belongs to the first such
category in priority order, whatever its file is called.  Then file patterns,
in priority order: a pattern without ``/`` is matched against the file's
basename, one with ``/`` against the whole rootdir-relative path (where ``*``
crosses directories).  A test nothing claims goes to ``other``.

Matching is case-sensitive on every platform (``fnmatchcase``), so a run
classifies the same on Linux, macOS and Windows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from fnmatch import fnmatchcase

from testfleet.categories.config import Category, other_category


def classify(path: str, markers: Collection[str], categories: Sequence[Category]) -> Category:
    """The category of a test in file ``path`` carrying ``markers``.

    ``path`` is relative to the rootdir with ``/`` separators.  The result is
    one of ``categories``, or their fallback ``other`` (see
    :func:`~testfleet.categories.config.other_category`).
    """
    return _Classifier(categories).classify(path, markers)


def classify_all(
    entries: Sequence[tuple[str, str, Collection[str]]], categories: Sequence[Category]
) -> dict[str, Category]:
    """Map each ``(nodeid, path, markers)`` entry's node id to its category."""
    classifier = _Classifier(categories)
    return {nodeid: classifier.classify(path, markers) for nodeid, path, markers in entries}


class _Classifier:
    """The categories in match order, sorted once for a whole collection."""

    def __init__(self, categories: Sequence[Category]) -> None:
        self.ordered = sorted(categories, key=Category.sort_key)
        self.fallback = other_category(categories)
        self.by_marker = [c for c in self.ordered if c.markers]
        self.by_pattern = [c for c in self.ordered if c.patterns]

    def classify(self, path: str, markers: Collection[str]) -> Category:
        if markers:
            for category in self.by_marker:
                if any(marker in markers for marker in category.markers):
                    return category
        basename = path.rpartition("/")[2]
        for category in self.by_pattern:
            for pattern in category.patterns:
                if fnmatchcase(path if "/" in pattern else basename, pattern):
                    return category
        return self.fallback
