"""A big site (over a thousand pages) built once per module: export, reindex, queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from webbly.archive import ImportRecord, export_markdown, import_records
from webbly.clock import StepClock
from webbly.cms import CMS
from webbly.config import Settings
from webbly.models import PublishState
from webbly.seed import TAGS, generate_pages, seed_users
from webbly.sitebuild import build_site

BIG_SITE_PAGES = 1200


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory, site_settings) -> Settings:
    """Import ``BIG_SITE_PAGES`` generated pages (a few seconds of real work, once)."""
    settings = site_settings(tmp_path_factory.mktemp("big-site") / "site")
    clock = StepClock(datetime(2023, 1, 1, tzinfo=timezone.utc), step=17)
    with CMS.open(settings, clock=clock) as cms:
        editor = seed_users(cms)["editor"]
        records = [ImportRecord(f"gen-{n}", page.title, page.body, None, page.tags, page.state)
                   for n, page in enumerate(generate_pages(BIG_SITE_PAGES, seed=777))]
        report = import_records(cms, editor, records)
        assert report.failed == []
    return settings


@pytest.fixture
def big(big_site: Settings) -> Iterator[CMS]:
    with CMS.open(big_site) as cms:
        yield cms


def test_counts(big: CMS) -> None:
    stats = big.stats()
    assert stats.pages == BIG_SITE_PAGES
    assert stats.indexed == stats.published
    assert stats.published + stats.drafts + stats.archived == BIG_SITE_PAGES


@pytest.mark.slow
def test_render_a_big_site(big: CMS, tmp_path: Path) -> None:
    report = build_site(big, tmp_path / "big")
    published = big.pages.count(PublishState.PUBLISHED)
    assert report.pages == published
    assert report.bytes > published * 2000
    for page_dir in sorted((tmp_path / "big" / "pages").iterdir())[::100]:
        html = (page_dir / "index.html").read_text(encoding="utf-8")
        assert html.startswith("<!doctype html>")
        assert "<h2" in html


@pytest.mark.slow
def test_reindex_a_big_site(big: CMS) -> None:
    before = big.index.search("tag:travel", limit=10_000)
    big.index.clear()
    assert big.index.count() == 0
    assert big.pages.reindex() == big.pages.count(PublishState.PUBLISHED)
    after = big.index.search("tag:travel", limit=10_000)
    assert [hit.slug for hit in after.hits] == [hit.slug for hit in before.hits]


@pytest.mark.parametrize("tag", TAGS)
def test_tag_search_matches_tag_listing(big: CMS, tag: str) -> None:
    listing = big.pages.listing(tag=tag, per_page=10_000)
    hits = big.index.search(f"tag:{tag}", limit=10_000).hits
    assert {hit.slug for hit in hits} == {page.slug for page in listing.pages}


def test_export_markdown(big: CMS, tmp_path: Path) -> None:
    assert export_markdown(big, tmp_path / "md") == BIG_SITE_PAGES
    assert len(list((tmp_path / "md").glob("*.md"))) == BIG_SITE_PAGES


def test_deep_pagination(big: CMS) -> None:
    listing = big.pages.listing(page=10_000, per_page=25, order="slug")
    assert listing.pagination.page == listing.pagination.pages
    assert 0 < len(listing.pages) <= 25
