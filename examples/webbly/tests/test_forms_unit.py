"""Validation of page and user input."""

from __future__ import annotations

from typing import Any

import pytest

from webbly.errors import ValidationFailed
from webbly.forms import (
    MAX_BODY_LENGTH,
    MAX_TITLE_LENGTH,
    validate_action,
    validate_page,
    validate_user,
)
from webbly.models import PageInput, Role
from webbly.workflow import Action

VALID: dict[str, Any] = {"title": "A title", "body": "Some *body*", "tags": "a, b"}


def errors_for(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_page(data)
    return caught.value.errors


def test_valid_page() -> None:
    assert validate_page(VALID) == PageInput("A title", "Some *body*", None, ("a", "b"), "")


def test_fields_are_trimmed_and_slug_lowercased() -> None:
    result = validate_page({**VALID, "title": "  T  ", "slug": " My-Slug ", "message": " m "})
    assert (result.title, result.slug, result.message) == ("T", "my-slug", "m")


def test_body_keeps_whitespace_but_normalises_newlines() -> None:
    assert validate_page({**VALID, "body": "  a\r\nb  "}).body == "  a\nb  "


def test_tags_may_be_a_list() -> None:
    assert validate_page({**VALID, "tags": ["X", "y", "x"]}).tags == ("x", "y")


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"title": ""}, "title", "required"),
        ({"title": "   "}, "title", "required"),
        ({"title": "x" * (MAX_TITLE_LENGTH + 1)}, "title", "at most"),
        ({"title": 42}, "title", "string"),
        ({"body": ""}, "body", "required"),
        ({"body": "\n\n  "}, "body", "required"),
        ({"body": "x" * (MAX_BODY_LENGTH + 1)}, "body", "at most"),
        ({"slug": "Bad Slug"}, "slug", "lowercase"),
        ({"slug": "admin"}, "slug", "reserved"),
        ({"slug": "a--b"}, "slug", "hyphens"),
        ({"tags": "ok, " + "x" * 41}, "tags", "at most 40"),
        ({"tags": ", ".join(f"t{i}" for i in range(13))}, "tags", "at most 12"),
        ({"tags": [1, 2]}, "tags", "comma-separated"),
        ({"tags": 5}, "tags", "comma-separated"),
        ({"message": "m" * 501}, "message", "at most 500"),
    ],
)
def test_page_errors(changes: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_for({**VALID, **changes})
    assert list(errors) == [field]
    assert fragment in errors[field]


def test_all_errors_are_reported_together() -> None:
    errors = errors_for({"title": "", "body": "", "slug": "bad slug"})
    assert set(errors) == {"title", "body", "slug"}


def test_slug_can_be_required() -> None:
    with pytest.raises(ValidationFailed, match="slug: must not be empty"):
        validate_page(VALID, require_slug=True)


def test_none_values_count_as_empty() -> None:
    assert set(errors_for({"title": None, "body": None})) == {"title", "body"}


@pytest.mark.parametrize("raw", ["publish", " PUBLISH ", "Archive", "restore", "unpublish"])
def test_actions(raw: str) -> None:
    assert validate_action(raw) is Action(raw.strip().lower())


@pytest.mark.parametrize("raw", ["", "delete", None, 3])
def test_bad_actions(raw: object) -> None:
    with pytest.raises(ValidationFailed, match="action: must be one of publish"):
        validate_action(raw)


USER = {"username": "Alice", "email": "alice@example.org", "password": "long-enough",
        "role": "editor"}


def test_valid_user() -> None:
    assert validate_user(USER) == ("alice", "alice@example.org", "long-enough", Role.EDITOR)


def test_role_defaults_to_author() -> None:
    assert validate_user({**USER, "role": ""})[3] is Role.AUTHOR


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "9lives"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 33}, "username"),
        ({"email": "no-at-sign"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": 12345678}, "password"),
        ({"role": "overlord"}, "role"),
    ],
)
def test_user_errors(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_user({**USER, **changes})
    assert list(caught.value.errors) == [field]


def test_validation_failed_message_lists_fields() -> None:
    error = ValidationFailed({"b": "two", "a": "one"})
    assert str(error) == "a: one; b: two"
