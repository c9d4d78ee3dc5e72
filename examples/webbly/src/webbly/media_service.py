"""Media uploads: validated names and types, metadata in SQL, bytes in the blob store."""

from __future__ import annotations

from webbly.clock import Clock, to_timestamp
from webbly.db.connection import Database
from webbly.db.media import MediaRepository
from webbly.errors import NotFound, ValidationFailed
from webbly.media import (
    BlobStore,
    MediaError,
    check_signature,
    content_type_for,
    numbered_name,
    safe_filename,
)
from webbly.models import MediaFile, User
from webbly.permissions import Permission, require


class MediaService:
    """Upload, look up, read and delete media files."""

    def __init__(self, db: Database, store: BlobStore, clock: Clock, *, max_bytes: int) -> None:
        self.db = db
        self.repo = MediaRepository(db)
        self.store = store
        self.clock = clock
        self.max_bytes = max_bytes

    def upload(self, actor: User | None, filename: str, data: bytes) -> MediaFile:
        """Store an upload under a safe, unique name; equal bytes share one blob."""
        uploader = require(actor, Permission.UPLOAD_MEDIA)
        try:
            name = safe_filename(filename)
            content_type = content_type_for(name)
            check_signature(content_type, data)
        except MediaError as exc:
            raise ValidationFailed({"file": str(exc)}) from None
        if not data:
            raise ValidationFailed({"file": "is empty"})
        if len(data) > self.max_bytes:
            raise ValidationFailed({"file": f"is larger than {self.max_bytes} bytes"})
        digest = self.store.put(data)
        with self.db.transaction():
            unique = name
            number = 2
            while self.repo.filename_taken(unique):
                unique = numbered_name(name, number)
                number += 1
            return self.repo.add(unique, content_type, len(data), digest, uploader.id,
                                 to_timestamp(self.clock()))

    def get(self, filename: str) -> MediaFile:
        """The record for ``filename``."""
        media = self.repo.by_filename(filename)
        if media is None:
            raise NotFound(f"no media file {filename!r}")
        return media

    def read(self, media: MediaFile) -> bytes:
        """The file's bytes."""
        try:
            return self.store.get(media.sha256)
        except FileNotFoundError:
            raise NotFound(f"the bytes of {media.filename!r} are missing") from None

    def recent(self, *, limit: int = 100, offset: int = 0) -> list[MediaFile]:
        """Uploaded files, newest first."""
        return self.repo.recent(limit=limit, offset=offset)

    def delete(self, actor: User | None, filename: str) -> None:
        """Delete a file; its blob goes when no other file shares it."""
        require(actor, Permission.DELETE_MEDIA)
        media = self.get(filename)
        with self.db.transaction():
            self.repo.delete(media.id)
            shared = self.repo.references(media.sha256)
        if not shared:
            self.store.delete(media.sha256)
