"""Slug generation and validation."""

from __future__ import annotations

import pytest

from webbly.slugs import MAX_SLUG_LENGTH, RESERVED_SLUGS, slug_problem, slugify, unique_slug


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello World", "hello-world"),
        ("  leading and trailing  ", "leading-and-trailing"),
        ("Café au lait", "cafe-au-lait"),
        ("Straße", "strasse"),
        ("Ærøskøbing harbour", "aeroskobing-harbour"),
        ("Łódź", "lodz"),
        ("C++ & Rust: a comparison", "c-rust-a-comparison"),
        ("multiple---dashes", "multiple-dashes"),
        ("under_scores_too", "under-scores-too"),
        ("2024 in review", "2024-in-review"),
        ("already-a-slug", "already-a-slug"),
        ("UPPER lower MiXeD", "upper-lower-mixed"),
        ("tabs\tand\nnewlines", "tabs-and-newlines"),
        ("emoji 🎉 party", "emoji-party"),
        ("naïve résumé", "naive-resume"),
        ("Ünïcödé", "unicode"),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "!!!", "🎉🎉", "---", "日本語"])
def test_slugify_returns_empty_when_nothing_usable(text: str) -> None:
    assert slugify(text) == ""


def test_slugify_cuts_long_text_at_a_word_boundary() -> None:
    text = " ".join(["word"] * 40)
    slug = slugify(text)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert slug.endswith("word")
    assert not slug.endswith("-")


def test_slugify_cuts_a_single_long_word_hard() -> None:
    assert slugify("x" * 200, max_length=10) == "x" * 10


def test_slugify_keeps_exact_length_fit() -> None:
    assert slugify("abc-def", max_length=7) == "abc-def"
    assert slugify("abc-defg", max_length=7) == "abc"


@pytest.mark.parametrize("slug", ["a", "hello", "hello-world", "2024", "a-1-b-2", "x" * 80])
def test_valid_slugs_have_no_problem(slug: str) -> None:
    assert slug_problem(slug) is None


@pytest.mark.parametrize(
    ("slug", "fragment"),
    [
        ("", "empty"),
        ("Hello", "lowercase"),
        ("hello world", "lowercase"),
        ("-leading", "hyphens"),
        ("trailing-", "hyphens"),
        ("double--dash", "hyphens"),
        ("under_score", "lowercase"),
        ("x" * 81, "at most"),
        ("admin", "reserved"),
        ("api", "reserved"),
    ],
)
def test_invalid_slugs_explain_why(slug: str, fragment: str) -> None:
    problem = slug_problem(slug)
    assert problem is not None
    assert fragment in problem


def test_unique_slug_returns_base_when_free() -> None:
    assert unique_slug("garden", lambda s: False) == "garden"


def test_unique_slug_counts_up_past_taken_ones() -> None:
    taken = {"garden", "garden-2", "garden-3"}
    assert unique_slug("garden", taken.__contains__) == "garden-4"


def test_unique_slug_avoids_reserved_words() -> None:
    assert unique_slug("admin", lambda s: False) == "admin-page"
    assert all(unique_slug(word, lambda s: False) not in RESERVED_SLUGS
               for word in RESERVED_SLUGS)


def test_unique_slug_stays_within_the_length_limit() -> None:
    base = "a" * MAX_SLUG_LENGTH
    result = unique_slug(base, lambda s: s == base)
    assert result.endswith("-2")
    assert len(result) <= MAX_SLUG_LENGTH
    assert slug_problem(result) is None
