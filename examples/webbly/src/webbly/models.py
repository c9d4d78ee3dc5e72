"""The content model: plain, immutable records passed between layers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class PublishState(str, enum.Enum):
    """Where a page is in its life: only published pages are public."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Role(str, enum.Enum):
    """A user's role; each role includes the permissions of the ones before it."""

    VIEWER = "viewer"
    AUTHOR = "author"
    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """An account that can sign in to the admin and the API."""

    id: int
    username: str
    email: str
    role: Role
    password_hash: str = field(repr=False)
    active: bool
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """Public JSON form; never includes the password hash."""
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "role": self.role.value,
            "active": self.active,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Page:
    """A page as it currently stands: its newest revision plus its state and tags."""

    id: int
    slug: str
    title: str
    body: str
    state: PublishState
    author_id: int
    revision: int
    tags: tuple[str, ...]
    created_at: str
    updated_at: str
    published_at: str | None

    @property
    def url(self) -> str:
        """Path of the public page."""
        return f"/pages/{self.slug}"

    def to_dict(self, *, include_body: bool = True) -> dict[str, Any]:
        """JSON form used by the API."""
        data: dict[str, Any] = {
            "id": self.id,
            "slug": self.slug,
            "title": self.title,
            "state": self.state.value,
            "author_id": self.author_id,
            "revision": self.revision,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "published_at": self.published_at,
            "url": self.url,
        }
        if include_body:
            data["body"] = self.body
        return data


@dataclass(frozen=True)
class Revision:
    """One saved version of a page's title and body."""

    page_id: int
    number: int
    title: str
    body: str
    author_id: int
    message: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by the API."""
        return {
            "number": self.number,
            "title": self.title,
            "body": self.body,
            "author_id": self.author_id,
            "message": self.message,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class TagCount:
    """A tag and how many published pages carry it."""

    name: str
    count: int


@dataclass(frozen=True)
class MediaFile:
    """A stored upload: metadata in the database, bytes on disk under its hash."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int
    created_at: str

    @property
    def url(self) -> str:
        """Path the public site serves the file at."""
        return f"/media/{self.filename}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by the API."""
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "uploaded_by": self.uploaded_by,
            "created_at": self.created_at,
            "url": self.url,
        }


@dataclass(frozen=True)
class PageInput:
    """Validated fields for creating or editing a page."""

    title: str
    body: str
    slug: str | None = None
    tags: tuple[str, ...] = ()
    message: str = ""
