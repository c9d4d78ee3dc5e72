"""Static export of the published site."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from webbly.cms import CMS
from webbly.models import PublishState
from webbly.sitebuild import build_site


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def links_in(path: Path) -> list[str]:
    parser = LinkCollector()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.links


@pytest.fixture(scope="module")
def built(seeded_readonly: CMS, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("static") / "site"
    build_site(seeded_readonly, out)
    return out


def test_report_counts(seeded_readonly: CMS, tmp_path: Path) -> None:
    report = build_site(seeded_readonly, tmp_path / "out")
    assert report.pages == seeded_readonly.pages.count(PublishState.PUBLISHED)
    assert report.tags == len(seeded_readonly.pages.tag_counts())
    assert report.media == 3
    assert report.files == report.pages + report.tags + report.media + 2
    on_disk = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(on_disk) == report.files
    assert sum(p.stat().st_size for p in on_disk) == report.bytes


def test_only_published_pages_are_exported(seeded_readonly: CMS, seeded_site,
                                           built: Path) -> None:
    for slug in seeded_site.report.slugs[:60]:
        exists = (built / "pages" / slug / "index.html").exists()
        assert exists is (seeded_site.report.states[slug] is PublishState.PUBLISHED)


def test_internal_links_resolve_to_files(built: Path) -> None:
    pages = sorted((built / "pages").iterdir())[:40]
    for page_dir in pages:
        for link in links_in(page_dir / "index.html"):
            if link.startswith("/tags/"):
                assert (built / link.lstrip("/") / "index.html").exists(), link


def test_index_lists_every_published_page(seeded_readonly: CMS, built: Path) -> None:
    links = {link for link in links_in(built / "index.html") if link.startswith("/pages/")}
    assert len(links) == seeded_readonly.pages.count(PublishState.PUBLISHED)


def test_sitemap_and_media(seeded_readonly: CMS, built: Path) -> None:
    sitemap = (built / "sitemap.xml").read_text(encoding="utf-8")
    assert sitemap.count("<url>") == 1 + seeded_readonly.pages.count(
        PublishState.PUBLISHED) + len(seeded_readonly.pages.tag_counts())
    assert (built / "media" / "logo.png").read_bytes().startswith(b"\x89PNG")


def test_rebuild_cleans_stale_files(seeded_readonly: CMS, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.html").write_text("old")
    build_site(seeded_readonly, out)
    assert not (out / "stale.html").exists()


def test_empty_site(cms: CMS, tmp_path: Path) -> None:
    report = build_site(cms, tmp_path / "empty")
    assert (report.pages, report.tags, report.files) == (0, 0, 2)
    assert "Nothing here yet." in (tmp_path / "empty" / "index.html").read_text()
