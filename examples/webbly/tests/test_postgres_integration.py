"""The same library on PostgreSQL (through psycopg 3).

Each module gets its own database ``webbly_test_<worker_id>`` (see the
``postgres_url`` fixture); each test starts from empty tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from webbly.archive import ImportRecord, import_records
from webbly.clock import StepClock
from webbly.cms import CMS
from webbly.config import Settings
from webbly.db.connection import Dialect, connect
from webbly.db.schema import drop_all
from webbly.errors import Conflict, ValidationFailed
from webbly.models import PublishState
from webbly.seed import generate_pages, seed_site, seed_users
from webbly.workflow import Action

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_cms(postgres_url: str, tmp_path: Path) -> Iterator[CMS]:
    with connect(postgres_url) as db:
        drop_all(db)
    settings = Settings(database_url=postgres_url, data_dir=tmp_path / "pg-site",
                        password_iterations=1000)
    with CMS.open(settings, clock=StepClock(datetime(2024, 6, 1, tzinfo=timezone.utc))) as site:
        yield site


def test_connects_to_postgres(pg_cms: CMS, worker_name: str) -> None:
    assert pg_cms.db.dialect is Dialect.POSTGRES
    assert pg_cms.db.scalar("SELECT current_database()") == f"webbly_test_{worker_name}"


def test_page_life_cycle_on_postgres(pg_cms: CMS) -> None:
    users = seed_users(pg_cms)
    page = pg_cms.pages.create(users["author"], {"title": "Postgres Page", "body": "100% real",
                                                 "tags": "databases, sql"})
    pg_cms.pages.update(users["author"], page.slug, {"title": "Postgres Page",
                                                     "body": "100% real, edited",
                                                     "tags": "databases"})
    published = pg_cms.pages.transition(users["editor"], page.slug, Action.PUBLISH)
    assert (published.revision, published.tags) == (2, ("databases",))
    assert published.body == "100% real, edited"
    assert pg_cms.pages.search("edited")[0].hits[0].slug == page.slug
    assert [t.name for t in pg_cms.pages.tag_counts()] == ["databases"]


def test_constraints_and_conflicts_on_postgres(pg_cms: CMS) -> None:
    users = seed_users(pg_cms)
    pg_cms.pages.create(users["author"], {"title": "A", "body": "b", "slug": "same"})
    with pytest.raises(Conflict):
        pg_cms.pages.create(users["author"], {"title": "B", "body": "b", "slug": "same"})
    with pytest.raises(ValidationFailed):
        pg_cms.pages.create(users["author"], {"title": "", "body": "b"})
    assert pg_cms.pages.count() == 1


def test_transactions_roll_back_on_postgres(pg_cms: CMS) -> None:
    users = seed_users(pg_cms)

    def failing_import() -> None:
        with pg_cms.db.transaction():
            pg_cms.pages.create(users["author"], {"title": "Gone", "body": "b"})
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        failing_import()
    assert pg_cms.pages.count() == 0


def test_media_records_on_postgres(pg_cms: CMS) -> None:
    users = seed_users(pg_cms)
    media = pg_cms.media.upload(users["author"], "notes.txt", b"stored on disk")
    assert pg_cms.media.read(pg_cms.media.get("notes.txt")) == b"stored on disk"
    assert media.id == pg_cms.media.recent()[0].id


@pytest.mark.slow
def test_seed_and_list_on_postgres(pg_cms: CMS) -> None:
    report = seed_site(pg_cms, pages=120, seed=5)
    assert pg_cms.pages.count() == 120
    published = report.slugs_in(PublishState.PUBLISHED)
    listing = pg_cms.pages.listing(per_page=200, order="title")
    assert sorted(p.slug for p in listing.pages) == sorted(published)
    assert pg_cms.stats().indexed == len(published)


@pytest.mark.slow
def test_bulk_import_on_postgres(pg_cms: CMS) -> None:
    editor = seed_users(pg_cms)["editor"]
    records = [ImportRecord(f"r{n}", page.title, page.body, None, page.tags, page.state)
               for n, page in enumerate(generate_pages(300, seed=31))]
    report = import_records(pg_cms, editor, records)
    assert (len(report.created), report.failed) == (300, [])
    assert pg_cms.pages.repo.revision_count() == 300
