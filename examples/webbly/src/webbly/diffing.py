"""Differences between two revisions of a page."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from webbly.models import Revision


@dataclass(frozen=True)
class RevisionDiff:
    """A unified diff plus the counts a history view shows."""

    old_number: int
    new_number: int
    lines: tuple[str, ...]
    added: int
    removed: int

    @property
    def text(self) -> str:
        """The diff as one string."""
        return "\n".join(self.lines)

    @property
    def unchanged(self) -> bool:
        """Whether the two revisions have the same title and body."""
        return self.added == 0 and self.removed == 0


def diff_revisions(old: Revision, new: Revision, *, context: int = 3) -> RevisionDiff:
    """Compare title and body of two revisions line by line."""
    old_lines = [f"# {old.title}", *old.body.splitlines()]
    new_lines = [f"# {new.title}", *new.body.splitlines()]
    lines = tuple(
        difflib.unified_diff(
            old_lines,
            new_lines,
            fromfile=f"revision {old.number}",
            tofile=f"revision {new.number}",
            n=context,
            lineterm="",
        )
    )
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return RevisionDiff(old.number, new.number, lines, added, removed)
