"""Parsing search box input into FTS5 expressions."""

from __future__ import annotations

import sqlite3

import pytest

from webbly.searchquery import MAX_TERMS, Term, parse_query


@pytest.mark.parametrize(
    ("raw", "expression"),
    [
        ("garden", '"garden"'),
        ("garden soil", '"garden" AND "soil"'),
        ('"raised bed"', '"raised bed"'),
        ("comp*", '"comp"*'),
        ("garden -weeds", '"garden" NOT "weeds"'),
        ('garden -"slug pellets"', '"garden" NOT "slug pellets"'),
        ("tomato OR basil", '("tomato" OR "basil")'),
        ("soil tomato OR basil", '"soil" AND ("tomato" OR "basil")'),
        ("a OR b OR c", '("a" OR "b" OR "c")'),
        ("title:garden", 'title : "garden"'),
        ("tag:cooking", 'tags : "cooking"'),
        ("tags:cooking bread", 'tags : "cooking" AND "bread"'),
        ("body:flour", 'body : "flour"'),
        ("NOT AND NEAR", '"NOT" AND "AND" AND "NEAR"'),
        ('say "hello', '"say" AND "hello"'),
        ("c++", '"c++"'),
        ("x:y", '"x y"'),
        ("  spaced   out  ", '"spaced" AND "out"'),
    ],
)
def test_expressions(raw: str, expression: str) -> None:
    assert parse_query(raw).to_fts() == expression


@pytest.mark.parametrize("raw", ["", "   ", "-only", "!!! ???", "OR", "OR OR", '""', "*"])
def test_queries_without_positive_terms_match_nothing(raw: str) -> None:
    parsed = parse_query(raw)
    assert parsed.is_empty
    assert parsed.to_fts() is None


def test_leading_or_is_ignored() -> None:
    assert parse_query("OR garden").to_fts() == '"garden"'


def test_lowercase_or_is_a_word() -> None:
    assert parse_query("this or that").to_fts() == '"this" AND "or" AND "that"'


def test_term_count_is_capped() -> None:
    parsed = parse_query(" ".join(f"w{i}" for i in range(40)))
    assert len(parsed.words()) == MAX_TERMS


def test_words_lists_positive_terms_only() -> None:
    assert parse_query("a -b c OR d").words() == ["a", "c", "d"]


def test_quotes_inside_terms_cannot_break_out() -> None:
    assert Term('a"b').to_fts() == '"a b"'


@pytest.mark.parametrize(
    "raw",
    ['"unbalanced', "a AND", "(x", "NEAR(a b)", "col:", "-", "a -", "^start", "a:b:c", "*wild",
     'title:"two words"', "-a -b c", "x OR -y", "'single'", "emoji 🎉"],
)
def test_every_parsed_query_is_valid_fts5(raw: str) -> None:
    expression = parse_query(raw).to_fts()
    if expression is None:
        return
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE VIRTUAL TABLE d USING fts5(slug UNINDEXED, title, body, tags)")
        conn.execute("SELECT * FROM d WHERE d MATCH ?", (expression,)).fetchall()
    conn.close()
