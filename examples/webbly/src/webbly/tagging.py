"""Tags: parsing what people type into a clean, ordered tuple of names."""

from __future__ import annotations

from collections.abc import Iterable

from webbly.slugs import slugify

MAX_TAG_LENGTH = 40
MAX_TAGS_PER_PAGE = 12


def normalize_tag(name: str) -> str:
    """The canonical form of a tag: a slug of at most ``MAX_TAG_LENGTH`` characters."""
    return slugify(name, max_length=MAX_TAG_LENGTH)


def parse_tags(raw: str | Iterable[str]) -> tuple[str, ...]:
    """Split a comma-separated string (or take a list), normalize, drop blanks and repeats.

    The first occurrence decides the order, so "b, a, B" gives ("b", "a").
    """
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for item in items:
        tag = normalize_tag(item)
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)
