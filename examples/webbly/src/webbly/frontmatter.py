"""Front matter: ``key: value`` headers between ``---`` lines at the top of a Markdown file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FENCE = "---"


class FrontMatterError(ValueError):
    """The header block is not closed or a line is not ``key: value``."""


@dataclass(frozen=True)
class Document:
    """A Markdown file split into its metadata and its body."""

    meta: dict[str, str | list[str]] = field(default_factory=dict)
    body: str = ""

    def get_text(self, key: str, default: str = "") -> str:
        """A metadata value as a string (lists are joined with commas)."""
        value = self.meta.get(key, default)
        return ", ".join(value) if isinstance(value, list) else value

    def get_list(self, key: str) -> list[str]:
        """A metadata value as a list (a string is split on commas)."""
        value = self.meta.get(key, [])
        if isinstance(value, list):
            return value
        return [part.strip() for part in value.split(",") if part.strip()]


def parse(text: str) -> Document:
    """Split ``text`` into front matter and body.

    Values in ``[a, b]`` brackets become lists; quotes around a value are
    removed. Text without a leading ``---`` line is all body.
    """
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != FENCE:
        return Document({}, text)
    meta: dict[str, str | list[str]] = {}
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == FENCE:
            body = "\n".join(lines[index + 1 :]).lstrip("\n")
            if text.endswith("\n") and body:
                body += "\n"
            return Document(meta, body)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or not key or " " in key:
            raise FrontMatterError(f"line {index + 1}: expected 'key: value', got {line!r}")
        meta[key] = _value(value.strip())
    raise FrontMatterError("front matter is not closed by a '---' line")


def dump(meta: Mapping[str, str | list[str]], body: str) -> str:
    """Write metadata and body back into front matter form; ``parse`` reads it back."""
    lines = [FENCE]
    for key, value in meta.items():
        if isinstance(value, list):
            lines.append(f"{key}: [{', '.join(value)}]")
        else:
            lines.append(f"{key}: {value}")
    lines.append(FENCE)
    return "\n".join(lines) + "\n" + body


def _value(raw: str) -> str | list[str]:
    if raw.startswith("[") and raw.endswith("]"):
        return [_unquote(part.strip()) for part in raw[1:-1].split(",") if part.strip()]
    return _unquote(raw)


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw
