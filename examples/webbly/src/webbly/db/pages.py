"""Storage of pages and their revisions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from webbly.db.connection import Database, Row
from webbly.db.tags import TagRepository
from webbly.models import Page, PublishState, Revision

_SELECT = (
    "SELECT p.id, p.slug, p.title, p.state, p.author_id, p.current_revision, p.created_at,"
    " p.updated_at, p.published_at, r.body FROM pages p"
    " JOIN revisions r ON r.page_id = p.id AND r.number = p.current_revision"
)
_ORDERS = {
    "updated": "p.updated_at DESC, p.id DESC",
    "created": "p.created_at DESC, p.id DESC",
    "published": "p.published_at DESC, p.id DESC",
    "title": "lower(p.title), p.id",
    "slug": "p.slug",
}
ORDERS = tuple(_ORDERS)


@dataclass(frozen=True)
class PageFilter:
    """Which pages a listing includes."""

    states: tuple[PublishState, ...] = ()
    tag: str | None = None
    author_id: int | None = None

    def where(self) -> tuple[str, tuple[object, ...]]:
        """SQL WHERE clause (possibly empty) and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.states:
            clauses.append(f"p.state IN ({', '.join('?' * len(self.states))})")
            params.extend(state.value for state in self.states)
        if self.tag is not None:
            clauses.append(
                "p.id IN (SELECT pt.page_id FROM page_tags pt JOIN tags t ON t.id = pt.tag_id"
                " WHERE t.name = ?)"
            )
            params.append(self.tag)
        if self.author_id is not None:
            clauses.append("p.author_id = ?")
            params.append(self.author_id)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _revision(row: Row) -> Revision:
    return Revision(
        page_id=int(row["page_id"]),
        number=int(row["number"]),
        title=row["title"],
        body=row["body"],
        author_id=int(row["author_id"]),
        message=row["message"],
        created_at=row["created_at"],
    )


class PageRepository:
    """Reads and writes ``pages`` and ``revisions``; attaches tags from :class:`TagRepository`."""

    def __init__(self, db: Database, tags: TagRepository) -> None:
        self.db = db
        self.tags = tags

    def _pages(self, rows: Sequence[Row]) -> list[Page]:
        tag_map = self.tags.for_pages([int(row["id"]) for row in rows])
        return [
            Page(
                id=int(row["id"]),
                slug=row["slug"],
                title=row["title"],
                body=row["body"],
                state=PublishState(row["state"]),
                author_id=int(row["author_id"]),
                revision=int(row["current_revision"]),
                tags=tag_map.get(int(row["id"]), ()),
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                published_at=row["published_at"],
            )
            for row in rows
        ]

    def insert(self, slug: str, title: str, author_id: int, now: str) -> int:
        """Create a draft page row pointing at revision 1 (add that revision next)."""
        return self.db.insert(
            "INSERT INTO pages (slug, title, state, author_id, current_revision, created_at,"
            " updated_at) VALUES (?, ?, 'draft', ?, 1, ?, ?) RETURNING id",
            (slug, title, author_id, now, now),
        )

    def add_revision(self, page_id: int, number: int, title: str, body: str,
                     author_id: int, message: str, now: str) -> None:
        """Store revision ``number`` and make it the page's current one."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO revisions (page_id, number, title, body, author_id, message,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (page_id, number, title, body, author_id, message, now),
            )
            self.db.execute(
                "UPDATE pages SET title = ?, current_revision = ?, updated_at = ? WHERE id = ?",
                (title, number, now, page_id),
            )

    def set_state(self, page_id: int, state: PublishState, published_at: str | None,
                  now: str) -> None:
        """Record a publish-state change."""
        self.db.execute(
            "UPDATE pages SET state = ?, published_at = ?, updated_at = ? WHERE id = ?",
            (state.value, published_at, now, page_id),
        )

    def touch(self, page_id: int, now: str) -> None:
        """Mark a page as changed (for example after its tags changed)."""
        self.db.execute("UPDATE pages SET updated_at = ? WHERE id = ?", (now, page_id))

    def delete(self, page_id: int) -> None:
        """Delete a page with its revisions and tag links."""
        self.db.execute("DELETE FROM pages WHERE id = ?", (page_id,))

    def by_slug(self, slug: str) -> Page | None:
        """The page called ``slug``, if any."""
        rows = self.db.fetchall(f"{_SELECT} WHERE p.slug = ?", (slug,))
        return self._pages(rows)[0] if rows else None

    def by_id(self, page_id: int) -> Page | None:
        """The page with ``page_id``, if any."""
        rows = self.db.fetchall(f"{_SELECT} WHERE p.id = ?", (page_id,))
        return self._pages(rows)[0] if rows else None

    def slug_taken(self, slug: str) -> bool:
        """Whether some page already uses ``slug``."""
        return self.db.fetchone("SELECT 1 AS one FROM pages WHERE slug = ?", (slug,)) is not None

    def find(self, page_filter: PageFilter = PageFilter(), *, order: str = "updated",
             limit: int = 20, offset: int = 0) -> list[Page]:
        """One window of pages matching ``page_filter``."""
        if order not in _ORDERS:
            raise ValueError(f"unknown order {order!r}; choose from {', '.join(_ORDERS)}")
        where, params = page_filter.where()
        rows = self.db.fetchall(
            f"{_SELECT}{where} ORDER BY {_ORDERS[order]} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return self._pages(rows)

    def count(self, page_filter: PageFilter = PageFilter()) -> int:
        """Number of pages matching ``page_filter``."""
        where, params = page_filter.where()
        return int(self.db.scalar(f"SELECT count(*) FROM pages p{where}", params))

    def iter_all(self, page_filter: PageFilter = PageFilter(), *,
                 batch: int = 200) -> Iterator[Page]:
        """Every matching page by id, fetched in batches (for reindexing and exports)."""
        where, params = page_filter.where()
        joiner = " AND " if where else " WHERE "
        last = 0
        while True:
            rows = self.db.fetchall(
                f"{_SELECT}{where}{joiner}p.id > ? ORDER BY p.id LIMIT ?",
                (*params, last, batch),
            )
            if not rows:
                return
            yield from self._pages(rows)
            last = int(rows[-1]["id"])

    def revisions(self, page_id: int) -> list[Revision]:
        """Every revision of a page, oldest first."""
        rows = self.db.fetchall(
            "SELECT page_id, number, title, body, author_id, message, created_at"
            " FROM revisions WHERE page_id = ? ORDER BY number",
            (page_id,),
        )
        return [_revision(row) for row in rows]

    def revision(self, page_id: int, number: int) -> Revision | None:
        """One revision of a page, if it exists."""
        row = self.db.fetchone(
            "SELECT page_id, number, title, body, author_id, message, created_at"
            " FROM revisions WHERE page_id = ? AND number = ?",
            (page_id, number),
        )
        return None if row is None else _revision(row)

    def revision_count(self) -> int:
        """Number of revisions of all pages."""
        return int(self.db.scalar("SELECT count(*) FROM revisions"))
