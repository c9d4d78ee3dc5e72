"""Revision diffs."""

from __future__ import annotations

from webbly.diffing import diff_revisions
from webbly.models import Revision


def revision(number: int, title: str, body: str) -> Revision:
    return Revision(1, number, title, body, 1, "", "2024-01-01T00:00:00Z")


def test_identical_revisions_are_unchanged() -> None:
    diff = diff_revisions(revision(1, "T", "a\nb"), revision(2, "T", "a\nb"))
    assert diff.unchanged
    assert diff.lines == ()


def test_added_and_removed_lines_are_counted() -> None:
    diff = diff_revisions(revision(1, "T", "a\nb\nc"), revision(2, "T", "a\nB\nc\nd"))
    assert (diff.added, diff.removed) == (2, 1)
    assert "-b" in diff.lines
    assert "+B" in diff.lines
    assert "+d" in diff.lines


def test_title_changes_show_up() -> None:
    diff = diff_revisions(revision(1, "Old", "x"), revision(2, "New", "x"))
    assert "-# Old" in diff.lines
    assert "+# New" in diff.lines


def test_headers_name_revisions() -> None:
    diff = diff_revisions(revision(3, "T", "x"), revision(5, "T", "y"))
    assert diff.lines[0] == "--- revision 3"
    assert diff.lines[1] == "+++ revision 5"
    assert (diff.old_number, diff.new_number) == (3, 5)


def test_context_lines_are_limited() -> None:
    old = "\n".join(str(n) for n in range(20))
    new = old.replace("10", "ten")
    diff = diff_revisions(revision(1, "T", old), revision(2, "T", new), context=1)
    body = [line for line in diff.lines[3:] if line[:1] == " "]
    assert body == [" 9", " 11"]


def test_text_joins_lines() -> None:
    diff = diff_revisions(revision(1, "T", "a"), revision(2, "T", "b"))
    assert diff.text == "\n".join(diff.lines)
