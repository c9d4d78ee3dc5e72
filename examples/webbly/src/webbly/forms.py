"""Validation of the fields people submit: page forms, user forms, state actions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from webbly.errors import ValidationFailed
from webbly.models import PageInput, Role
from webbly.slugs import slug_problem
from webbly.tagging import MAX_TAG_LENGTH, MAX_TAGS_PER_PAGE, parse_tags
from webbly.workflow import Action

MAX_TITLE_LENGTH = 200
MAX_BODY_LENGTH = 200_000
MAX_MESSAGE_LENGTH = 500
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{2,31}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def validate_page(data: Mapping[str, Any], *, require_slug: bool = False) -> PageInput:
    """Check a page form or JSON object and return clean :class:`PageInput`.

    Raises :class:`ValidationFailed` listing every bad field at once.
    """
    errors: dict[str, str] = {}
    title = _text(data, "title", errors)
    body = _text(data, "body", errors)
    slug_raw = _text(data, "slug", errors).lower()
    message = _text(data, "message", errors)
    tags_raw = data.get("tags", "")

    if not title:
        errors.setdefault("title", "is required")
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = f"must be at most {MAX_TITLE_LENGTH} characters"
    if not body.strip():
        errors.setdefault("body", "is required")
    elif len(body) > MAX_BODY_LENGTH:
        errors["body"] = f"must be at most {MAX_BODY_LENGTH} characters"
    if slug_raw or require_slug:
        problem = slug_problem(slug_raw)
        if problem:
            errors["slug"] = problem
    if len(message) > MAX_MESSAGE_LENGTH:
        errors["message"] = f"must be at most {MAX_MESSAGE_LENGTH} characters"

    tags: tuple[str, ...] = ()
    if isinstance(tags_raw, (str, list, tuple)) and all(isinstance(t, str) for t in tags_raw):
        too_long = [t for t in _raw_tags(tags_raw) if len(t.strip()) > MAX_TAG_LENGTH]
        tags = parse_tags(tags_raw)
        if too_long:
            errors["tags"] = f"each tag must be at most {MAX_TAG_LENGTH} characters"
        elif len(tags) > MAX_TAGS_PER_PAGE:
            errors["tags"] = f"at most {MAX_TAGS_PER_PAGE} tags"
    else:
        errors["tags"] = "must be a comma-separated string or a list of strings"

    if errors:
        raise ValidationFailed(errors)
    return PageInput(title=title, body=body, slug=slug_raw or None, tags=tags, message=message)


def validate_action(raw: object) -> Action:
    """Parse a publish-state action name such as ``"publish"``."""
    try:
        return Action(str(raw).strip().lower())
    except ValueError:
        choices = ", ".join(action.value for action in Action)
        raise ValidationFailed({"action": f"must be one of {choices}"}) from None


def validate_user(data: Mapping[str, Any]) -> tuple[str, str, str, Role]:
    """Check a new-user form; returns (username, email, password, role)."""
    errors: dict[str, str] = {}
    username = _text(data, "username", errors).lower()
    email = _text(data, "email", errors)
    password = data.get("password", "")
    role_raw = _text(data, "role", errors) or Role.AUTHOR.value

    if not USERNAME_PATTERN.match(username):
        errors.setdefault(
            "username",
            "must be 3-32 characters: a letter, then letters, digits, '_', '.' or '-'",
        )
    if not EMAIL_PATTERN.match(email):
        errors.setdefault("email", "is not a valid address")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"must be at least {MIN_PASSWORD_LENGTH} characters"
    try:
        role = Role(role_raw.lower())
    except ValueError:
        errors["role"] = "must be one of " + ", ".join(r.value for r in Role)
        role = Role.VIEWER
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(password, str)
    return username, email, password, role


def _text(data: Mapping[str, Any], key: str, errors: dict[str, str]) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[key] = "must be a string"
        return ""
    return value.strip() if key != "body" else value.replace("\r\n", "\n")


def _raw_tags(raw: str | list[str] | tuple[str, ...]) -> list[str]:
    return raw.split(",") if isinstance(raw, str) else list(raw)
