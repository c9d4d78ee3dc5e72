"""Storage of tags and of which pages carry them."""

from __future__ import annotations

from collections.abc import Sequence

from webbly.db.connection import Database
from webbly.models import PublishState, TagCount

_CHUNK = 500


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


class TagRepository:
    """Reads and writes ``tags`` and ``page_tags``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure(self, names: Sequence[str]) -> dict[str, int]:
        """Create missing tags; return the id of every name."""
        if not names:
            return {}
        with self.db.transaction():
            for name in names:
                self.db.execute(
                    "INSERT INTO tags (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,)
                )
            rows = self.db.fetchall(
                f"SELECT id, name FROM tags WHERE name IN ({_placeholders(len(names))})",
                tuple(names),
            )
        return {row["name"]: int(row["id"]) for row in rows}

    def set_for_page(self, page_id: int, names: Sequence[str]) -> None:
        """Replace a page's tags with ``names``, keeping their order."""
        with self.db.transaction():
            self.db.execute("DELETE FROM page_tags WHERE page_id = ?", (page_id,))
            ids = self.ensure(names)
            self.db.executemany(
                "INSERT INTO page_tags (page_id, tag_id, position) VALUES (?, ?, ?)",
                [(page_id, ids[name], position) for position, name in enumerate(names)],
            )

    def for_pages(self, page_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """Tags of each page in ``page_ids``, in the order they were given."""
        found: dict[int, list[str]] = {page_id: [] for page_id in page_ids}
        unique = list(found)
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            rows = self.db.fetchall(
                "SELECT pt.page_id, t.name FROM page_tags pt JOIN tags t ON t.id = pt.tag_id"
                f" WHERE pt.page_id IN ({_placeholders(len(chunk))})"
                " ORDER BY pt.page_id, pt.position",
                tuple(chunk),
            )
            for row in rows:
                found[int(row["page_id"])].append(row["name"])
        return {page_id: tuple(names) for page_id, names in found.items()}

    def counts(self, state: PublishState | None = PublishState.PUBLISHED) -> list[TagCount]:
        """Tags with the number of pages (in ``state``, or any) carrying them; most used first."""
        where, params = ("WHERE p.state = ?", (state.value,)) if state else ("", ())
        rows = self.db.fetchall(
            "SELECT t.name AS name, count(*) AS n FROM tags t"
            " JOIN page_tags pt ON pt.tag_id = t.id JOIN pages p ON p.id = pt.page_id"
            f" {where} GROUP BY t.name ORDER BY n DESC, t.name",
            params,
        )
        return [TagCount(row["name"], int(row["n"])) for row in rows]

    def names(self) -> list[str]:
        """Every tag name, sorted."""
        return [row["name"] for row in self.db.fetchall("SELECT name FROM tags ORDER BY name")]

    def prune(self) -> int:
        """Delete tags no page carries; return how many went."""
        return self.db.execute(
            "DELETE FROM tags WHERE id NOT IN (SELECT DISTINCT tag_id FROM page_tags)"
        )
