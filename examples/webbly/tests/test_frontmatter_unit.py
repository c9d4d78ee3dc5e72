"""Front matter parsing and writing."""

from __future__ import annotations

import pytest

from webbly.frontmatter import Document, FrontMatterError, dump, parse


def test_parses_keys_and_body() -> None:
    document = parse("---\ntitle: Hello\nstate: published\n---\n# Body\n\ntext\n")
    assert document.meta == {"title": "Hello", "state": "published"}
    assert document.body == "# Body\n\ntext\n"


def test_without_front_matter_everything_is_body() -> None:
    assert parse("# Just markdown\n") == Document({}, "# Just markdown\n")


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("tags: [a, b, c]", ["a", "b", "c"]),
        ("tags: []", []),
        ("tags: ['quoted', \"double\"]", ["quoted", "double"]),
        ('title: "Quoted: with colon"', "Quoted: with colon"),
        ("title: 'single'", "single"),
        ("title: Colon: inside", "Colon: inside"),
        ("title:", ""),
    ],
)
def test_values(line: str, value: object) -> None:
    key = line.partition(":")[0]
    assert parse(f"---\n{line}\n---\nbody").meta[key] == value


def test_keys_are_lowercased_and_comments_skipped() -> None:
    document = parse("---\n# comment\nTitle: X\n\n---\n")
    assert document.meta == {"title": "X"}


def test_byte_order_mark_is_ignored() -> None:
    assert parse("\ufeff---\ntitle: T\n---\nb").meta == {"title": "T"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntitle: x\n", "not closed"),
        ("---\njust a line\n---\n", "expected 'key: value'"),
        ("---\ntwo words: x\n---\n", "expected 'key: value'"),
        ("---\n: empty key\n---\n", "expected 'key: value'"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(FrontMatterError, match=message):
        parse(text)


def test_get_text_and_get_list() -> None:
    document = parse("---\ntags: a, b\ncats: [x, y]\n---\n")
    assert document.get_list("tags") == ["a", "b"]
    assert document.get_text("cats") == "x, y"
    assert document.get_list("missing") == []
    assert document.get_text("missing", "default") == "default"


@pytest.mark.parametrize(
    ("meta", "body"),
    [
        ({"title": "T", "tags": ["a", "b"]}, "# Body\n\ntext\n"),
        ({"title": "Colon: here", "state": "draft"}, "no trailing newline"),
        ({}, "empty meta\n"),
        ({"tags": []}, "x\n"),
    ],
)
def test_dump_round_trips(meta: dict[str, str | list[str]], body: str) -> None:
    assert parse(dump(meta, body)) == Document(meta, body)
