"""Plain-text helpers."""

from __future__ import annotations

import pytest

from webbly.textutil import collapse_whitespace, excerpt, html_to_text, reading_minutes, word_count


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello <em>world</em></p>", "Hello world"),
        ("<h1>Title</h1><p>Body</p>", "Title Body"),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
        ("<p>a &amp; b &lt;c&gt;</p>", "a & b <c>"),
        ("<script>alert(1)</script><p>shown</p>", "shown"),
        ("<style>p{}</style>text", "text"),
        ("line<br>break", "line break"),
        ("", ""),
        ("no tags at all", "no tags at all"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_collapse_whitespace() -> None:
    assert collapse_whitespace("  a\n\n b\t c  ") == "a b c"


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("one", 1), ("don't stop", 2), ("it\u2019s fine", 2), ("a, b; c.", 3), ("x-ray", 2)],
)
def test_word_count(text: str, count: int) -> None:
    assert word_count(text) == count


@pytest.mark.parametrize(("words", "minutes"), [(0, 0), (1, 1), (220, 1), (221, 2), (1000, 5)])
def test_reading_minutes(words: int, minutes: int) -> None:
    assert reading_minutes(" ".join(["word"] * words)) == minutes


def test_excerpt_keeps_short_text() -> None:
    assert excerpt("short text", 50) == "short text"


def test_excerpt_cuts_at_word_boundary() -> None:
    result = excerpt("alpha beta gamma delta epsilon", 20)
    assert result == "alpha beta gamma…"
    assert len(result) <= 20


def test_excerpt_strips_trailing_punctuation_before_ellipsis() -> None:
    assert excerpt("one, two, three, four, five", 12) == "one, two…"


def test_excerpt_of_one_long_word() -> None:
    result = excerpt("x" * 50, 10)
    assert result == "x" * 9 + "…"
