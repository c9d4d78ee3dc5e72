"""Pages, revisions, tags and media on PostgreSQL (through psycopg 3).

Each worker has its own database, a testfleet copy of a template holding Webbly's
tables (``worker_database``); ``pg_cms`` empties the tables before each test.
"""

from __future__ import annotations

import pytest
from testfleet.resources.databases import DatabaseCopy

from webbly.archive import ImportRecord, import_records
from webbly.cms import CMS
from webbly.db.connection import Dialect
from webbly.db.schema import SCHEMA_VERSION
from webbly.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from webbly.models import PageInput, PublishState, User
from webbly.seed import generate_pages, seed_site
from webbly.workflow import Action

pytestmark = pytest.mark.postgres


def create(cms: CMS, author: User, title: str, body: str = "Body text.", tags: str = "") -> str:
    """Create a draft page; return its slug."""
    return cms.pages.create(author, {"title": title, "body": body, "tags": tags}).slug


def test_each_worker_has_its_own_copy(pg_cms: CMS, worker_database: DatabaseCopy) -> None:
    """The site runs on this worker's copy of the template, not on a shared database."""
    assert pg_cms.db.dialect is Dialect.POSTGRES
    assert pg_cms.db.scalar("SELECT current_database()") == worker_database.name
    assert worker_database.name.startswith("webbly_tfc_")


@pytest.mark.parametrize("attempt", [1, 2])
def test_every_test_starts_from_empty_tables(pg_cms: CMS, attempt: int) -> None:
    """Whatever ran before on this worker, a test finds the template's state: no rows, ids at 1."""
    assert pg_cms.stats().pages == pg_cms.users.count() == 0
    assert pg_cms.db.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
    user = pg_cms.users.create_user(f"writer{attempt}", "w@example.org", "long-password")
    assert user.id == 1


def test_page_life_cycle_on_postgres(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Create, edit and publish a page: revisions, tags and the index follow."""
    page = pg_cms.pages.create(
        pg_users["author"],
        {"title": "Postgres Page", "body": "100% real", "tags": "databases, sql"},
    )
    pg_cms.pages.update(
        pg_users["author"],
        page.slug,
        {"title": "Postgres Page", "body": "100% real, edited", "tags": "databases"},
    )
    published = pg_cms.pages.transition(pg_users["editor"], page.slug, Action.PUBLISH)
    assert (published.revision, published.tags) == (2, ("databases",))
    assert published.body == "100% real, edited"
    assert pg_cms.pages.search("edited")[0].hits[0].slug == page.slug
    assert [t.name for t in pg_cms.pages.tag_counts()] == ["databases"]


def test_constraints_and_conflicts_on_postgres(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A taken slug is a Conflict and an empty title a ValidationFailed; nothing is stored."""
    pg_cms.pages.create(pg_users["author"], {"title": "A", "body": "b", "slug": "same"})
    with pytest.raises(Conflict):
        pg_cms.pages.create(pg_users["author"], {"title": "B", "body": "b", "slug": "same"})
    with pytest.raises(ValidationFailed):
        pg_cms.pages.create(pg_users["author"], {"title": "", "body": "b"})
    assert pg_cms.pages.count() == 1


def test_transactions_roll_back_on_postgres(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """An exception inside a transaction leaves no page behind."""

    def failing_import() -> None:
        with pg_cms.db.transaction():
            pg_cms.pages.create(pg_users["author"], {"title": "Gone", "body": "b"})
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        failing_import()
    assert pg_cms.pages.count() == 0


def test_media_records_on_postgres(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """An upload's record lives in PostgreSQL, its bytes on disk."""
    media = pg_cms.media.upload(pg_users["author"], "notes.txt", b"stored on disk")
    assert pg_cms.media.read(pg_cms.media.get("notes.txt")) == b"stored on disk"
    assert media.id == pg_cms.media.recent()[0].id


def test_percent_signs_and_question_marks_survive(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """``?`` placeholders become ``%s`` for psycopg; literal ``%`` and ``?`` in values stay."""
    slug = create(pg_cms, pg_users["author"], "100% Sure?", "What? 50% off, 'quoted' too.")
    page = pg_cms.pages.get(slug, viewer=pg_users["author"])
    assert (page.title, page.body) == ("100% Sure?", "What? 50% off, 'quoted' too.")
    assert pg_cms.db.scalar("SELECT count(*) FROM pages WHERE title LIKE '100%'") == 1


def test_slugs_get_a_number_when_taken(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """The same title twice gives ``doc`` and ``doc-2``."""
    slugs = [create(pg_cms, pg_users["author"], "Doc") for _ in range(3)]
    assert slugs == ["doc", "doc-2", "doc-3"]


def test_unchanged_update_keeps_the_revision(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Saving the same title, body and tags adds no revision."""
    slug = create(pg_cms, pg_users["author"], "Doc", "same", tags="a")
    page = pg_cms.pages.update(
        pg_users["author"], slug, {"title": "Doc", "body": "same", "tags": "a"}
    )
    assert page.revision == 1
    assert pg_cms.pages.repo.revision_count() == 1


def test_tag_only_change_touches_the_page(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """New tags alone keep the revision, replace the tags in order and move updated_at on."""
    slug = create(pg_cms, pg_users["author"], "Doc", "same", tags="a")
    before = pg_cms.pages.get(slug, viewer=pg_users["author"])
    page = pg_cms.pages.update(
        pg_users["author"], slug, {"title": "Doc", "body": "same", "tags": "c, b"}
    )
    assert (page.revision, page.tags) == (1, ("c", "b"))
    assert page.updated_at > before.updated_at


def test_revert_saves_the_old_content_as_a_new_revision(
    pg_cms: CMS, pg_users: dict[str, User]
) -> None:
    """Reverting to revision 1 adds revision 3 with revision 1's title and body."""
    slug = create(pg_cms, pg_users["author"], "Doc", "original")
    pg_cms.pages.update(pg_users["author"], slug, {"title": "Changed", "body": "changed"})
    page = pg_cms.pages.revert(pg_users["author"], slug, 1)
    assert (page.revision, page.title, page.body) == (3, "Doc", "original")
    revision = pg_cms.pages.revision(slug, 3, viewer=pg_users["author"])
    assert revision.message == "Reverted to revision 1"


def test_diff_between_revisions(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A one-line change shows as one line added and one removed."""
    slug = create(pg_cms, pg_users["author"], "Doc", "line one\nline two\n")
    pg_cms.pages.update(pg_users["author"], slug, {"title": "Doc", "body": "line one\nline 2\n"})
    diff = pg_cms.pages.diff(slug, 1, 2, viewer=pg_users["author"])
    assert (diff.added, diff.removed) == (1, 1)
    assert "+line 2" in diff.lines


def test_delete_cascades_to_revisions_and_prunes_tags(
    pg_cms: CMS, pg_users: dict[str, User]
) -> None:
    """Deleting a page drops its revisions (ON DELETE CASCADE) and the tags nobody uses."""
    slug = create(pg_cms, pg_users["author"], "Doomed", tags="lonely, shared")
    pg_cms.pages.update(pg_users["author"], slug, {"title": "Doomed", "body": "v2"})
    create(pg_cms, pg_users["author"], "Keeper", tags="shared")
    pg_cms.pages.delete(pg_users["editor"], slug)
    assert pg_cms.pages.count() == 1
    assert pg_cms.pages.tags.names() == ["shared"]
    assert pg_cms.pages.repo.revision_count() == 1


def test_authors_may_not_edit_or_delete_others_pages(
    pg_cms: CMS, pg_users: dict[str, User]
) -> None:
    """Authors edit only their own pages and delete none."""
    slug = create(pg_cms, pg_users["editor"], "Editor's page")
    with pytest.raises(PermissionDenied, match="may not edit_page"):
        pg_cms.pages.update(pg_users["author"], slug, {"title": "Mine now", "body": "x"})
    with pytest.raises(PermissionDenied):
        pg_cms.pages.delete(pg_users["author"], slug)


def test_drafts_are_hidden_from_visitors(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Anonymous visitors and viewers get NotFound for a draft; its author sees it."""
    slug = create(pg_cms, pg_users["author"], "Secret")
    for viewer in (None, pg_users["viewer"]):
        with pytest.raises(NotFound):
            pg_cms.pages.get(slug, viewer=viewer)
    assert pg_cms.pages.get(slug, viewer=pg_users["author"]).slug == slug


def test_listing_filters_and_orders(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Listings order by title case-insensitively, filter by tag, state and author."""
    editor = pg_users["editor"]
    for title, tags in [("Banana", "fruit"), ("apple", "fruit"), ("Carrot", "veg")]:
        create(pg_cms, editor, title, tags=tags)
    pg_cms.pages.transition(editor, "banana", Action.PUBLISH)
    everything = tuple(PublishState)
    by_title = pg_cms.pages.listing(states=everything, order="title").pages
    assert [p.slug for p in by_title] == ["apple", "banana", "carrot"]
    assert pg_cms.pages.listing(states=everything, order="updated").pages[0].slug == "banana"
    fruit = pg_cms.pages.listing(states=everything, tag="fruit", order="slug").pages
    assert [p.slug for p in fruit] == ["apple", "banana"]
    assert [p.slug for p in pg_cms.pages.listing().pages] == ["banana"]
    assert pg_cms.pages.listing(states=everything, author_id=pg_users["author"].id).pages == ()


def test_listing_paginates(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """25 drafts, 10 a page: page 3 holds the last 5."""
    for n in range(25):
        create(pg_cms, pg_users["author"], f"Page {n:02d}")
    listing = pg_cms.pages.listing(states=(PublishState.DRAFT,), page=3, per_page=10, order="slug")
    assert (listing.pagination.total, listing.pagination.pages) == (25, 3)
    assert [p.slug for p in listing.pages] == [f"page-{n:02d}" for n in range(20, 25)]


def test_iter_all_walks_every_page_in_batches(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Batches of 5 reach all 23 pages once each."""
    for n in range(23):
        create(pg_cms, pg_users["author"], f"P{n}")
    slugs = [page.slug for page in pg_cms.pages.repo.iter_all(batch=5)]
    assert len(slugs) == len(set(slugs)) == 23


def test_tag_counts_count_published_pages(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Tag counts cover published pages only, most used first."""
    editor = pg_users["editor"]
    for title, tags in [("One", "a, b"), ("Two", "b"), ("Three", "b, c")]:
        pg_cms.pages.transition(editor, create(pg_cms, editor, title, tags=tags), Action.PUBLISH)
    create(pg_cms, editor, "Draft", tags="a, d")
    assert [(t.name, t.count) for t in pg_cms.pages.tag_counts()] == [
        ("b", 3),
        ("a", 1),
        ("c", 1),
    ]


@pytest.mark.slow
def test_seed_and_list_on_postgres(pg_cms: CMS) -> None:
    """The demo seed fills PostgreSQL; listings and the index agree with its report."""
    report = seed_site(pg_cms, pages=120, seed=5)
    assert pg_cms.pages.count() == 120
    published = report.slugs_in(PublishState.PUBLISHED)
    listing = pg_cms.pages.listing(per_page=200, order="title")
    assert sorted(p.slug for p in listing.pages) == sorted(published)
    assert pg_cms.stats().indexed == len(published)


@pytest.mark.slow
def test_bulk_import_on_postgres(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """300 imported records become 300 pages with one revision each."""
    records = [
        ImportRecord(f"r{n}", page.title, page.body, None, page.tags, page.state)
        for n, page in enumerate(generate_pages(300, seed=31))
    ]
    report = import_records(pg_cms, pg_users["editor"], records)
    assert (len(report.created), report.failed) == (300, [])
    assert pg_cms.pages.repo.revision_count() == 300


def test_page_input_records_the_message(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A PageInput's message is the revision's message."""
    page = pg_cms.pages.create(pg_users["author"], PageInput("Doc", "body", message="First!"))
    assert pg_cms.pages.revisions(page.slug, viewer=pg_users["author"])[0].message == "First!"
