"""Importing and exporting Markdown files, including a bulk import of thousands of pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from webbly import frontmatter
from webbly.archive import (
    ImportRecord,
    export_markdown,
    import_directory,
    import_records,
    read_directory,
    record_from_text,
)
from webbly.cms import CMS
from webbly.frontmatter import FrontMatterError
from webbly.models import PublishState, User
from webbly.seed import generate_pages, seed_users

BULK_PAGES = 2000


@pytest.fixture(scope="module")
def bulk_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thousands of generated Markdown files with front matter, written once per module."""
    directory = tmp_path_factory.mktemp("bulk-markdown")
    for number, page in enumerate(generate_pages(BULK_PAGES, seed=4242)):
        meta: dict[str, str | list[str]] = {"title": page.title, "tags": list(page.tags),
                                            "state": page.state.value}
        section = directory / f"section-{number % 10}"
        section.mkdir(exist_ok=True)
        (section / f"{number:05d}.md").write_text(frontmatter.dump(meta, page.body),
                                                  encoding="utf-8")
    return directory


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "source", "title", "body"),
    [
        ("---\ntitle: From Meta\n---\nBody\n", "x.md", "From Meta", "Body\n"),
        ("# From Heading\n\nBody\n", "x.md", "From Heading", "Body\n"),
        ("Just text\n", "my-file_name.md", "My File Name", "Just text\n"),
    ],
)
def test_record_titles(text: str, source: str, title: str, body: str) -> None:
    record = record_from_text(text, source)
    assert (record.title, record.body) == (title, body)


def test_record_reads_slug_tags_and_state() -> None:
    record = record_from_text("---\ntitle: T\nslug: my-slug\ntags: [a, b]\nstate: published\n"
                              "---\nB", "t.md")
    assert (record.slug, record.tags, record.state) == ("my-slug", ("a", "b"),
                                                        PublishState.PUBLISHED)


def test_record_rejects_unknown_state() -> None:
    with pytest.raises(FrontMatterError, match="unknown state 'live'"):
        record_from_text("---\nstate: live\n---\nB", "t.md")


def test_import_directory_creates_pages_in_their_states(cms: CMS, users: dict[str, User],
                                                        tmp_path: Path) -> None:
    source = tmp_path / "in"
    write(source, "a.md", "---\ntitle: Alpha\nstate: published\ntags: [x]\n---\nAlpha body\n")
    write(source, "sub/b.md", "# Beta\n\nBeta body\n")
    write(source, "c.md", "---\ntitle: Gamma\nstate: archived\n---\nGamma body\n")
    write(source, "ignored.txt", "not markdown")
    report = import_directory(cms, users["editor"], source)
    assert sorted(report.created) == ["alpha", "beta", "gamma"]
    assert report.failed == []
    editor = users["editor"]
    assert cms.pages.get("alpha").tags == ("x",)
    assert cms.pages.get("beta", viewer=editor).state is PublishState.DRAFT
    assert cms.pages.get("gamma", viewer=editor).state is PublishState.ARCHIVED
    assert cms.pages.search("alpha")[0].total == 1


def test_broken_files_are_reported_and_skipped(cms: CMS, users: dict[str, User],
                                               tmp_path: Path) -> None:
    source = tmp_path / "in"
    write(source, "good.md", "# Good\n\nfine\n")
    write(source, "unclosed.md", "---\ntitle: x\n")
    write(source, "empty-body.md", "---\ntitle: Empty\n---\n")
    (source / "binary.md").write_bytes(b"\xff\xfe\x00bad")
    report = import_directory(cms, users["editor"], source)
    assert report.created == ["good"]
    assert sorted(source for source, _ in report.failed) == [
        "binary.md", "empty-body.md", "unclosed.md"]
    assert report.total == 4


def test_reimport_updates_changed_pages_only(cms: CMS, users: dict[str, User],
                                             tmp_path: Path) -> None:
    source = tmp_path / "in"
    write(source, "a.md", "---\ntitle: A\nslug: a\n---\nfirst\n")
    write(source, "b.md", "---\ntitle: B\nslug: b\n---\nstays\n")
    import_directory(cms, users["editor"], source)
    write(source, "a.md", "---\ntitle: A\nslug: a\nstate: published\n---\nsecond\n")
    report = import_directory(cms, users["editor"], source)
    assert (report.updated, report.unchanged, report.created) == (["a"], ["b"], [])
    page = cms.pages.get("a")
    assert (page.revision, page.body, page.state) == (2, "second\n", PublishState.PUBLISHED)
    assert cms.pages.revision("a", 2).message == "Imported from a.md"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (PublishState.PUBLISHED, PublishState.DRAFT),
        (PublishState.ARCHIVED, PublishState.PUBLISHED),
        (PublishState.PUBLISHED, PublishState.ARCHIVED),
        (PublishState.ARCHIVED, PublishState.DRAFT),
    ],
)
def test_reimport_moves_between_states(cms: CMS, users: dict[str, User], first: PublishState,
                                       second: PublishState) -> None:
    for state in (first, second):
        import_records(cms, users["editor"], [ImportRecord("r.md", "R", "body", "r", (), state)])
    assert cms.pages.get("r", viewer=users["editor"]).state is second


def test_import_needs_permission_for_each_record(cms: CMS, users: dict[str, User]) -> None:
    report = import_records(cms, users["author"], [
        ImportRecord("a.md", "A", "body", "a", (), PublishState.DRAFT),
        ImportRecord("b.md", "B", "body", "b", (), PublishState.PUBLISHED),
    ])
    assert report.created == ["a", "b"]
    assert report.failed == [("b.md", "author (author) may not publish_page")]


def test_export_then_import_round_trips(seeded_cms: CMS, seeded_site, site_factory,
                                        tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert export_markdown(seeded_cms, out) == seeded_cms.pages.count()
    records, failures = read_directory(out)
    assert failures == []
    target = site_factory("round-trip")
    editor = seed_users(target)["editor"]
    report = import_records(target, editor, records)
    assert len(report.created) == seeded_cms.pages.count()
    admin = seeded_site.report.users["admin"]
    for slug in seeded_site.report.slugs[::25]:
        original = seeded_cms.pages.get(slug, viewer=admin)
        copy = target.pages.get(slug, viewer=editor)
        assert (copy.title, copy.body, copy.tags, copy.state) == (
            original.title, original.body, original.tags, original.state)


@pytest.mark.slow
def test_bulk_import_of_thousands_of_pages(cms: CMS, users: dict[str, User],
                                           bulk_directory: Path) -> None:
    report = import_directory(cms, users["editor"], bulk_directory)
    assert report.failed == []
    assert len(report.created) == BULK_PAGES
    assert len(set(report.created)) == BULK_PAGES
    stats = cms.stats()
    assert stats.pages == BULK_PAGES
    assert stats.indexed == stats.published > BULK_PAGES // 2
    cooking = cms.pages.listing(tag="cooking").pagination.total
    assert cms.pages.search("tag:cooking")[0].total == cooking


def test_reading_the_bulk_directory(bulk_directory: Path) -> None:
    records, failures = read_directory(bulk_directory)
    assert failures == []
    assert len(records) == BULK_PAGES
    assert records[0].source == "section-0/00000.md"
    assert {record.state for record in records} == set(PublishState)
