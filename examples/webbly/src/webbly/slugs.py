"""Slugs: the URL-safe names of pages and tags."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_SLUG_LENGTH = 80
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_SLUGS = frozenset({"admin", "api", "media", "search", "tags", "static", "new"})

_NON_WORD = re.compile(r"[^a-z0-9]+")
_TRANSLITERATIONS = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "œ": "oe"})


def slugify(text: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Turn arbitrary text into a slug: ASCII letters and digits joined by hyphens.

    Accents are folded ("Café" -> "cafe"), everything else becomes a separator,
    and the result is cut at a hyphen boundary to at most ``max_length``
    characters. Returns an empty string when nothing usable is left.
    """
    folded = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLITERATIONS))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    slug = _NON_WORD.sub("-", ascii_text).strip("-")
    if len(slug) <= max_length:
        return slug
    cut = slug[:max_length]
    if slug[max_length] != "-" and "-" in cut:
        cut = cut.rsplit("-", 1)[0]
    return cut.strip("-")


def slug_problem(slug: str) -> str | None:
    """Explain why ``slug`` cannot name a page, or return None when it can."""
    if not slug:
        return "must not be empty"
    if len(slug) > MAX_SLUG_LENGTH:
        return f"must be at most {MAX_SLUG_LENGTH} characters"
    if not SLUG_PATTERN.match(slug):
        return "may contain only lowercase letters, digits and single hyphens between them"
    if slug in RESERVED_SLUGS:
        return f"'{slug}' is reserved"
    return None


def unique_slug(base: str, taken: Callable[[str], bool]) -> str:
    """Return ``base`` or the first of ``base-2``, ``base-3``... that is not taken."""
    candidate = base if base not in RESERVED_SLUGS else f"{base}-page"
    if not taken(candidate):
        return candidate
    number = 2
    while True:
        suffix = f"-{number}"
        stem = candidate[: MAX_SLUG_LENGTH - len(suffix)].rstrip("-")
        attempt = f"{stem}{suffix}"
        if not taken(attempt):
            return attempt
        number += 1
