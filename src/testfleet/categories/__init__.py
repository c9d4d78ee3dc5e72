"""Categories of tests: configuration, classification and the discovery listing.

Pure, like ``scheduling``: data in, data out.  The one exception is
:func:`load_categories`, which reads ``testfleet.toml`` or ``pyproject.toml``.
"""

from __future__ import annotations

from testfleet.categories.classify import classify, classify_all
from testfleet.categories.config import (
    DEFAULT_CATEGORIES,
    OTHER,
    OTHER_NAME,
    Category,
    CategoryConfigError,
    load_categories,
    other_category,
    parse_categories,
)
from testfleet.categories.discover import (
    CategorySummary,
    ResourceSummary,
    summarize,
    summarize_resources,
)
from testfleet.categories.resources import load_resources, parse_resources

__all__ = [
    "DEFAULT_CATEGORIES",
    "OTHER",
    "OTHER_NAME",
    "Category",
    "CategoryConfigError",
    "CategorySummary",
    "ResourceSummary",
    "classify",
    "classify_all",
    "load_categories",
    "load_resources",
    "other_category",
    "parse_categories",
    "parse_resources",
    "summarize",
    "summarize_resources",
]
