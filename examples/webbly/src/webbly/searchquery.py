"""Parsing what people type into the search box into a safe SQLite FTS5 expression.

Supported syntax: words (all must match), ``"exact phrases"``, ``prefix*``,
``-excluded`` words or phrases, ``a OR b`` between two terms, and the field
filters ``title:word`` and ``tag:word``. Everything else is treated as text,
so no input can produce an FTS5 syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TERMS = 16
FIELDS = {"title": "title", "tag": "tags", "tags": "tags", "body": "body"}
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')
_WORDISH = re.compile(r"\w")


@dataclass(frozen=True)
class Term:
    """One search term."""

    text: str
    field: str | None = None
    prefix: bool = False
    negated: bool = False

    def to_fts(self) -> str:
        """This term as FTS5 syntax, quoted so its text cannot be read as an operator."""
        quoted = '"' + self.text.replace('"', " ") + '"'
        if self.prefix:
            quoted += "*"
        return f"{self.field} : {quoted}" if self.field else quoted


@dataclass(frozen=True)
class ParsedQuery:
    """A query as groups of alternatives (ANDed together) plus excluded terms."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]

    @property
    def is_empty(self) -> bool:
        """Whether nothing positive is left to search for."""
        return not self.groups

    def to_fts(self) -> str | None:
        """The FTS5 MATCH expression, or None when the query cannot match anything."""
        if not self.groups:
            return None
        parts = []
        for group in self.groups:
            if len(group) == 1:
                parts.append(group[0].to_fts())
            else:
                parts.append("(" + " OR ".join(term.to_fts() for term in group) + ")")
        expression = " AND ".join(parts)
        for term in self.excluded:
            expression += f" NOT {term.to_fts()}"
        return expression

    def words(self) -> list[str]:
        """The positive terms' texts, for highlighting."""
        return [term.text for group in self.groups for term in group]


def parse_query(raw: str, *, max_terms: int = MAX_TERMS) -> ParsedQuery:
    """Parse a search box string; see the module docstring for the syntax."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    pending_or = False
    count = 0
    for match in _TOKEN.finditer(raw):
        negated, field_name, phrase, word = match.groups()
        if word == "OR" and not negated and field_name is None:
            pending_or = bool(groups)
            continue
        text = phrase if phrase is not None else word
        prefix = phrase is None and text.endswith("*") and len(text.rstrip("*")) > 0
        text = text.rstrip("*") if prefix else text
        field = FIELDS.get(field_name.lower()) if field_name else None
        if field_name and field is None:
            text = f"{field_name} {text}"
        text = " ".join(text.split())
        if not _WORDISH.search(text) or count >= max_terms:
            pending_or = False
            continue
        count += 1
        term = Term(text=text, field=field, prefix=prefix, negated=bool(negated))
        if term.negated:
            excluded.append(term)
        elif pending_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    return ParsedQuery(tuple(tuple(group) for group in groups), tuple(excluded))
