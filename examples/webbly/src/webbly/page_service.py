"""Page operations: create, edit, publish, render, search; permission-checked."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from webbly.clock import Clock, to_timestamp
from webbly.db.connection import Database
from webbly.db.pages import PageFilter, PageRepository
from webbly.db.tags import TagRepository
from webbly.diffing import RevisionDiff, diff_revisions
from webbly.errors import Conflict, NotFound, ValidationFailed
from webbly.forms import validate_page
from webbly.markup import Heading, MarkdownRenderer
from webbly.models import Page, PageInput, PublishState, Revision, TagCount, User
from webbly.pagination import Pagination, paginate
from webbly.permissions import Permission, can, require
from webbly.search import SearchDocument, SearchIndex, SearchResults
from webbly.slugs import slug_problem, slugify, unique_slug
from webbly.textutil import excerpt, reading_minutes
from webbly.workflow import Action, next_state

RENDER_CACHE_SIZE = 512


@dataclass(frozen=True)
class RenderedPage:
    """A page with its body rendered to HTML and the facts a template shows."""

    page: Page
    html: str
    headings: tuple[Heading, ...]
    text: str
    excerpt: str
    reading_minutes: int
    links: tuple[str, ...]


@dataclass(frozen=True)
class PageList:
    """One page of a listing."""

    pages: tuple[Page, ...]
    pagination: Pagination


class PageService:
    """Everything that changes or reads pages goes through here."""

    def __init__(self, db: Database, index: SearchIndex, renderer: MarkdownRenderer,
                 clock: Clock, *,
                 on_publish: Callable[[User, Page], object] | None = None) -> None:
        self.db = db
        self.tags = TagRepository(db)
        self.repo = PageRepository(db, self.tags)
        self.index = index
        self.renderer = renderer
        self.clock = clock
        #: Called with the publisher and the page after each publish (the mail notice).
        self.on_publish = on_publish
        self._cache: OrderedDict[tuple[int, int], RenderedPage] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _now(self) -> str:
        return to_timestamp(self.clock())

    def _input(self, data: PageInput | Mapping[str, Any]) -> PageInput:
        return data if isinstance(data, PageInput) else validate_page(data)

    # Reading ---------------------------------------------------------------

    def get(self, slug: str, *, viewer: User | None = None) -> Page:
        """The page called ``slug``; drafts and archived pages only for authors and up."""
        page = self.repo.by_slug(slug)
        if page is None or (
            page.state is not PublishState.PUBLISHED and not can(viewer, Permission.VIEW_DRAFTS)
        ):
            raise NotFound(f"no page {slug!r}")
        return page

    def listing(self, *, states: Iterable[PublishState] = (PublishState.PUBLISHED,),
             tag: str | None = None, author_id: int | None = None, page: int | str | None = 1,
             per_page: int = 20, order: str = "updated") -> PageList:
        """A paginated listing of pages."""
        page_filter = PageFilter(states=tuple(states), tag=tag, author_id=author_id)
        pagination = paginate(self.repo.count(page_filter), page, per_page)
        pages = self.repo.find(page_filter, order=order, limit=per_page,
                               offset=pagination.offset)
        return PageList(tuple(pages), pagination)

    def count(self, state: PublishState | None = None) -> int:
        """Number of pages, optionally in one state."""
        return self.repo.count(PageFilter(states=(state,) if state else ()))

    def all_published(self) -> list[Page]:
        """Every published page, by id."""
        return list(self.repo.iter_all(PageFilter(states=(PublishState.PUBLISHED,))))

    def revisions(self, slug: str, *, viewer: User | None = None) -> list[Revision]:
        """A page's revisions, oldest first."""
        return self.repo.revisions(self.get(slug, viewer=viewer).id)

    def revision(self, slug: str, number: int, *, viewer: User | None = None) -> Revision:
        """One revision of a page."""
        page = self.get(slug, viewer=viewer)
        revision = self.repo.revision(page.id, number)
        if revision is None:
            raise NotFound(f"page {slug!r} has no revision {number}")
        return revision

    def diff(self, slug: str, old: int, new: int, *, viewer: User | None = None) -> RevisionDiff:
        """The difference between two revisions of a page."""
        return diff_revisions(self.revision(slug, old, viewer=viewer),
                              self.revision(slug, new, viewer=viewer))

    def tag_counts(self) -> list[TagCount]:
        """Tags of published pages with their counts."""
        return self.tags.counts()

    # Writing ---------------------------------------------------------------

    def create(self, actor: User | None, data: PageInput | Mapping[str, Any]) -> Page:
        """Create a draft page with revision 1."""
        author = require(actor, Permission.CREATE_PAGE)
        fields = self._input(data)
        now = self._now()
        with self.db.transaction():
            if fields.slug:
                if self.repo.slug_taken(fields.slug):
                    raise Conflict(f"slug {fields.slug!r} is taken")
                slug = fields.slug
            else:
                base = slugify(fields.title) or "page"
                slug = unique_slug(base, self.repo.slug_taken)
                problem = slug_problem(slug)
                if problem:
                    raise ValidationFailed({"slug": problem})
            page_id = self.repo.insert(slug, fields.title, author.id, now)
            self.repo.add_revision(page_id, 1, fields.title, fields.body, author.id,
                                   fields.message or "Created", now)
            self.tags.set_for_page(page_id, fields.tags)
        return self._reload(page_id)

    def update(self, actor: User | None, slug: str, data: PageInput | Mapping[str, Any]) -> Page:
        """Save a new revision; nothing happens when title, body and tags are unchanged."""
        page = self.get(slug, viewer=actor)
        require(actor, Permission.EDIT_PAGE, page)
        assert actor is not None
        fields = self._input(data)
        if (fields.title, fields.body, fields.tags) == (page.title, page.body, page.tags):
            return page
        now = self._now()
        with self.db.transaction():
            if (fields.title, fields.body) != (page.title, page.body):
                self.repo.add_revision(page.id, page.revision + 1, fields.title, fields.body,
                                       actor.id, fields.message, now)
            else:
                self.repo.touch(page.id, now)
            if fields.tags != page.tags:
                self.tags.set_for_page(page.id, fields.tags)
        updated = self._reload(page.id)
        if updated.state is PublishState.PUBLISHED:
            self.index.add(self.search_document(updated))
        return updated

    def revert(self, actor: User | None, slug: str, number: int) -> Page:
        """Save a new revision that restores revision ``number``'s title and body."""
        old = self.revision(slug, number, viewer=actor)
        page = self.get(slug, viewer=actor)
        return self.update(actor, slug, PageInput(title=old.title, body=old.body, tags=page.tags,
                                                  message=f"Reverted to revision {number}"))

    def transition(self, actor: User | None, slug: str, action: Action) -> Page:
        """Publish, unpublish, archive or restore a page; keeps the search index in step."""
        page = self.get(slug, viewer=actor)
        publisher = require(actor, Permission.PUBLISH_PAGE, page)
        state = next_state(page.state, action)
        now = self._now()
        published_at = now if state is PublishState.PUBLISHED else page.published_at
        if state is PublishState.DRAFT and action is Action.UNPUBLISH:
            published_at = None
        self.repo.set_state(page.id, state, published_at, now)
        updated = self._reload(page.id)
        if state is PublishState.PUBLISHED:
            self.index.add(self.search_document(updated))
            if self.on_publish is not None:
                self.on_publish(publisher, updated)
        else:
            self.index.remove(page.id)
        return updated

    def delete(self, actor: User | None, slug: str) -> None:
        """Delete a page and all its revisions."""
        page = self.get(slug, viewer=actor)
        require(actor, Permission.DELETE_PAGE, page)
        self.repo.delete(page.id)
        self.index.remove(page.id)
        self.tags.prune()

    def _reload(self, page_id: int) -> Page:
        page = self.repo.by_id(page_id)
        if page is None:  # pragma: no cover - only if deleted concurrently
            raise NotFound(f"page {page_id} vanished")
        return page

    # Rendering and search --------------------------------------------------

    def render(self, page: Page) -> RenderedPage:
        """Render a page's Markdown; results are cached per page revision."""
        key = (page.id, page.revision)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached.page == page:
                self._cache.move_to_end(key)
                return cached
        result = self.renderer.render(page.body)
        rendered = RenderedPage(
            page=page,
            html=result.html,
            headings=result.headings,
            text=result.text,
            excerpt=excerpt(result.text),
            reading_minutes=reading_minutes(result.text),
            links=result.links,
        )
        with self._cache_lock:
            self._cache[key] = rendered
            while len(self._cache) > RENDER_CACHE_SIZE:
                self._cache.popitem(last=False)
        return rendered

    def search_document(self, page: Page) -> SearchDocument:
        """What the search index stores for ``page``."""
        return SearchDocument(page.id, page.slug, page.title, self.render(page).text, page.tags)

    def search(self, query: str, *, page: int | str | None = 1,
               per_page: int = 10) -> tuple[SearchResults, Pagination]:
        """Search published pages."""
        first = self.index.search(query, limit=1)
        pagination = paginate(first.total, page, per_page)
        results = self.index.search(query, limit=per_page, offset=pagination.offset)
        return results, pagination

    def reindex(self) -> int:
        """Rebuild the search index from every published page; return how many."""
        return self.index.rebuild(self.search_document(page) for page in self.all_published())
