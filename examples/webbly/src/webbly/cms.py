"""The composition root: opens the database, index and blob store and wires the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webbly.clock import Clock, system_clock
from webbly.config import Settings
from webbly.db.connection import Database, connect
from webbly.db.schema import migrate
from webbly.mail import publish_notifier
from webbly.markup import MarkdownRenderer
from webbly.media import BlobStore
from webbly.media_service import MediaService
from webbly.models import PublishState
from webbly.page_service import PageService
from webbly.search import SearchIndex
from webbly.user_service import UserService


@dataclass(frozen=True)
class SiteStats:
    """Counts shown by ``webbly stats`` and the API."""

    pages: int
    published: int
    drafts: int
    archived: int
    revisions: int
    users: int
    media: int
    indexed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


class CMS:
    """A running Webbly site: ``cms.pages``, ``cms.users``, ``cms.media``."""

    def __init__(self, settings: Settings, db: Database, index: SearchIndex,
                 *, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.db = db
        self.index = index
        self.clock = clock
        self.users = UserService(db, clock, password_iterations=settings.password_iterations)
        #: Mails authors when their pages are published; None unless SMTP is configured.
        self.notifier = publish_notifier(settings, self.users)
        self.pages = PageService(db, index, MarkdownRenderer(), clock,
                                 on_publish=self.notifier.page_published if self.notifier else None)
        self.media = MediaService(db, BlobStore(settings.media_dir), clock,
                                  max_bytes=settings.max_upload_bytes)

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = system_clock) -> CMS:
        """Open (creating if needed) the site that ``settings`` describe."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = connect(settings.database_url)
        try:
            migrate(db)
            index = SearchIndex(settings.search_index_path)
        except BaseException:
            db.close()
            raise
        return cls(settings, db, index, clock=clock)

    def stats(self) -> SiteStats:
        """Current counts of everything."""
        return SiteStats(
            pages=self.pages.count(),
            published=self.pages.count(PublishState.PUBLISHED),
            drafts=self.pages.count(PublishState.DRAFT),
            archived=self.pages.count(PublishState.ARCHIVED),
            revisions=self.pages.repo.revision_count(),
            users=self.users.count(),
            media=self.media.repo.count(),
            indexed=self.index.count(),
        )

    def close(self) -> None:
        """Close the database and the index."""
        self.index.close()
        self.db.close()

    def __enter__(self) -> CMS:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
