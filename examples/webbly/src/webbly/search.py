"""The full-text search index: an SQLite FTS5 table in its own file.

The index is separate from the main database so it works the same whether
pages live in SQLite or PostgreSQL, and so it can be rebuilt at any time
from the pages themselves (see :meth:`webbly.pages.PageService.reindex`).
"""

from __future__ import annotations

import html
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from webbly.searchquery import ParsedQuery, parse_query

_OPEN, _CLOSE = "\x02", "\x03"
_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents USING fts5("
    "slug UNINDEXED, title, body, tags, tokenize = 'porter unicode61 remove_diacritics 2')"
)
# bm25 weights per column: slug (unindexed), title, body, tags.
_RANK = "bm25(documents, 0.0, 8.0, 1.0, 4.0)"


@dataclass(frozen=True)
class SearchDocument:
    """What the index stores for one page."""

    page_id: int
    slug: str
    title: str
    text: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """One result: the page and an HTML snippet with matches in ``<mark>``."""

    page_id: int
    slug: str
    title: str
    snippet: str
    score: float

    def to_dict(self) -> dict[str, object]:
        """JSON form used by the API."""
        return {
            "slug": self.slug,
            "title": self.title,
            "snippet": self.snippet,
            "score": round(self.score, 4),
            "url": f"/pages/{self.slug}",
        }


@dataclass(frozen=True)
class SearchResults:
    """A window of hits plus the total number of matching documents."""

    query: str
    total: int
    hits: tuple[SearchHit, ...]


def highlight_to_html(marked: str) -> str:
    """Escape FTS5 output and turn its match markers into ``<mark>`` tags."""
    return html.escape(marked, quote=False).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


class SearchIndex:
    """An FTS5 index keyed by page id; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        self._depth = 0
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(_SCHEMA)

    @contextmanager
    def batch(self) -> Iterator[SearchIndex]:
        """Group many writes in one transaction (much faster for bulk work)."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    def add(self, document: SearchDocument) -> None:
        """Index a document, replacing any earlier version of the same page."""
        with self.batch():
            self._conn.execute("DELETE FROM documents WHERE rowid = ?", (document.page_id,))
            self._conn.execute(
                "INSERT INTO documents (rowid, slug, title, body, tags) VALUES (?, ?, ?, ?, ?)",
                (document.page_id, document.slug, document.title, document.text,
                 " ".join(document.tags)),
            )

    def add_many(self, documents: Iterable[SearchDocument]) -> int:
        """Index many documents in one transaction; return how many."""
        count = 0
        with self.batch():
            for document in documents:
                self.add(document)
                count += 1
        return count

    def remove(self, page_id: int) -> bool:
        """Drop a page from the index; return whether it was there."""
        with self._lock:
            cursor = self._conn.execute("DELETE FROM documents WHERE rowid = ?", (page_id,))
            return cursor.rowcount > 0

    def contains(self, page_id: int) -> bool:
        """Whether a page is in the index."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM documents WHERE rowid = ?", (page_id,)
            ).fetchone()
        return row is not None

    def count(self) -> int:
        """Number of indexed documents."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM documents").fetchone()[0])

    def clear(self) -> None:
        """Remove every document."""
        with self._lock:
            self._conn.execute("DELETE FROM documents")

    def rebuild(self, documents: Iterable[SearchDocument]) -> int:
        """Replace the whole index with ``documents`` and optimise it."""
        with self.batch():
            self.clear()
            count = self.add_many(documents)
        self.optimize()
        return count

    def optimize(self) -> None:
        """Merge the index's internal segments."""
        with self._lock:
            self._conn.execute("INSERT INTO documents (documents) VALUES ('optimize')")

    def search(self, query: str | ParsedQuery, *, limit: int = 10,
               offset: int = 0) -> SearchResults:
        """Documents matching ``query``, best first, with highlighted snippets."""
        parsed = parse_query(query) if isinstance(query, str) else query
        raw = query if isinstance(query, str) else " ".join(parsed.words())
        expression = parsed.to_fts()
        if expression is None:
            return SearchResults(raw, 0, ())
        with self._lock:
            total = int(
                self._conn.execute(
                    "SELECT count(*) FROM documents WHERE documents MATCH ?", (expression,)
                ).fetchone()[0]
            )
            rows = self._conn.execute(
                f"SELECT rowid, slug, title, snippet(documents, 2, ?, ?, '…', 24), {_RANK}"
                f" FROM documents WHERE documents MATCH ? ORDER BY {_RANK}, rowid"
                " LIMIT ? OFFSET ?",
                (_OPEN, _CLOSE, expression, limit, offset),
            ).fetchall()
        hits = tuple(
            SearchHit(int(rowid), slug, title, highlight_to_html(snippet), -float(rank))
            for rowid, slug, title, snippet, rank in rows
        )
        return SearchResults(raw, total, hits)

    def close(self) -> None:
        """Close the index file."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
