"""Plain-text helpers: stripping HTML, counting words, cutting excerpts."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "td", "th",
     "br", "blockquote", "table", "dt", "dd", "hr"}
)
_SKIPPED_TAGS = frozenset({"script", "style"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self._skip_depth:
            self._skip_depth -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML fragment with whitespace collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return collapse_whitespace("".join(parser.parts))


def collapse_whitespace(text: str) -> str:
    """Replace every run of whitespace with one space and trim the ends."""
    return _SPACE.sub(" ", text).strip()


def word_count(text: str) -> int:
    """Number of words, counting contractions such as "don't" as one."""
    return len(_WORD.findall(text))


def reading_minutes(text: str, *, words_per_minute: int = 220) -> int:
    """Estimated minutes to read ``text``; at least 1 for any non-empty text."""
    words = word_count(text)
    return 0 if words == 0 else max(1, math.ceil(words / words_per_minute))


def excerpt(text: str, limit: int = 160, *, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary."""
    text = collapse_whitespace(text)
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    cut = text[:room]
    if " " in cut and text[room] != " ":
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + ellipsis
