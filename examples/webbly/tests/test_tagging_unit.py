"""Parsing and normalising tags."""

from __future__ import annotations

import pytest

from webbly.tagging import MAX_TAG_LENGTH, normalize_tag, parse_tags


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("python, web", ("python", "web")),
        ("Python,PYTHON,python", ("python",)),
        (" a , , b ,", ("a", "b")),
        ("b, a, B", ("b", "a")),
        ("Open Source, open-source", ("open-source",)),
        ("", ()),
        (",,,", ()),
        (["Garden", "garden ", "Soil"], ("garden", "soil")),
        (("x", "y"), ("x", "y")),
        ("Café, cafe", ("cafe",)),
    ],
)
def test_parse_tags(raw: str | list[str], expected: tuple[str, ...]) -> None:
    assert parse_tags(raw) == expected


def test_normalize_tag_limits_length() -> None:
    assert len(normalize_tag("word " * 30)) <= MAX_TAG_LENGTH


def test_normalize_tag_drops_symbols() -> None:
    assert normalize_tag("#howto!") == "howto"
