"""Storage of media file metadata (the bytes live on disk, see :mod:`webbly.media`)."""

from __future__ import annotations

from webbly.db.connection import Database, Row
from webbly.models import MediaFile

_COLUMNS = "id, filename, content_type, size, sha256, uploaded_by, created_at"


def _media(row: Row) -> MediaFile:
    return MediaFile(
        id=int(row["id"]),
        filename=row["filename"],
        content_type=row["content_type"],
        size=int(row["size"]),
        sha256=row["sha256"],
        uploaded_by=int(row["uploaded_by"]),
        created_at=row["created_at"],
    )


class MediaRepository:
    """Reads and writes the ``media`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, filename: str, content_type: str, size: int, sha256: str,
            uploaded_by: int, now: str) -> MediaFile:
        """Insert a media record."""
        media_id = self.db.insert(
            "INSERT INTO media (filename, content_type, size, sha256, uploaded_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (filename, content_type, size, sha256, uploaded_by, now),
        )
        return MediaFile(media_id, filename, content_type, size, sha256, uploaded_by, now)

    def by_filename(self, filename: str) -> MediaFile | None:
        """The record for ``filename``, if any."""
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM media WHERE filename = ?", (filename,))
        return None if row is None else _media(row)

    def filename_taken(self, filename: str) -> bool:
        """Whether a record already uses ``filename``."""
        return self.by_filename(filename) is not None

    def recent(self, *, limit: int = 100, offset: int = 0) -> list[MediaFile]:
        """Records, newest first."""
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM media ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_media(row) for row in rows]

    def count(self) -> int:
        """Number of records."""
        return int(self.db.scalar("SELECT count(*) FROM media"))

    def references(self, sha256: str) -> int:
        """How many records share the blob ``sha256``."""
        return int(self.db.scalar("SELECT count(*) FROM media WHERE sha256 = ?", (sha256,)))

    def delete(self, media_id: int) -> None:
        """Delete a record."""
        self.db.execute("DELETE FROM media WHERE id = ?", (media_id,))
