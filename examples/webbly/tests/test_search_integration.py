"""The FTS5 search index, on its own and over the seeded site."""

from __future__ import annotations

from pathlib import Path

import pytest

from webbly.cms import CMS
from webbly.models import PublishState
from webbly.search import SearchDocument, SearchIndex
from webbly.searchquery import parse_query

DOCS = [
    SearchDocument(1, "tomatoes", "Growing Tomatoes", "Tomatoes need sun, water and rich soil.",
                   ("gardening",)),
    SearchDocument(2, "basil", "Basil Care", "Basil likes warmth. Pinch the flowers.",
                   ("gardening", "herbs")),
    SearchDocument(3, "pasta", "Tomato Pasta", "Cook pasta, add tomatoes and basil leaves.",
                   ("cooking",)),
    SearchDocument(4, "kernel", "Kernel Modules", "Loading modules into a running kernel.",
                   ("programming",)),
    SearchDocument(5, "cafe", "Café Culture", "Visiting cafés in Vienna; crème brûlée.",
                   ("travel",)),
]


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    with SearchIndex(tmp_path / "index" / "search.sqlite3") as search_index:
        search_index.add_many(DOCS)
        yield search_index


def slugs(index: SearchIndex, query: str) -> list[str]:
    return [hit.slug for hit in index.search(query, limit=50).hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tomatoes", ["tomatoes", "pasta"]),
        ("tomato", ["pasta", "tomatoes"]),
        ("basil", ["basil", "pasta"]),
        ("basil pasta", ["pasta"]),
        ("tomato -pasta", ["tomatoes"]),
        ("kernel OR vienna", ["kernel", "cafe"]),
        ("title:tomato", ["pasta", "tomatoes"]),
        ("tag:herbs", ["basil"]),
        ("tag:gardening", ["tomatoes", "basil"]),
        ('"pinch the flowers"', ["basil"]),
        ('"flowers pinch"', []),
        ("mod*", ["kernel"]),
        ("cafe", ["cafe"]),
        ("creme brulee", ["cafe"]),
        ("nothing-matches-this", []),
        ("", []),
    ],
)
def test_queries(index: SearchIndex, query: str, expected: list[str]) -> None:
    found = slugs(index, query)
    assert sorted(found) == sorted(expected)


def test_title_matches_rank_above_body_matches(index: SearchIndex) -> None:
    assert slugs(index, "basil")[0] == "basil"
    index.add(SearchDocument(6, "vienna", "Vienna Guide", "Museums and coffee.", ()))
    assert slugs(index, "vienna") == ["vienna", "cafe"]


def test_snippets_mark_matches_and_escape_text(index: SearchIndex) -> None:
    index.add(SearchDocument(9, "html", "Markup", "Use <b>bold</b> & keep soil moist.", ()))
    hit = index.search("soil moist").hits[0]
    assert hit.slug == "html"
    assert "<mark>soil</mark> <mark>moist</mark>" in hit.snippet
    assert "&lt;b&gt;" in hit.snippet


def test_total_counts_beyond_the_window(index: SearchIndex) -> None:
    results = index.search("tomato", limit=1)
    assert results.total == 2
    assert len(results.hits) == 1
    second = index.search("tomato", limit=1, offset=1)
    assert second.hits[0].slug != results.hits[0].slug


def test_parsed_query_objects_are_accepted(index: SearchIndex) -> None:
    assert index.search(parse_query("kernel")).hits[0].slug == "kernel"


def test_add_replaces_a_document(index: SearchIndex) -> None:
    index.add(SearchDocument(4, "kernel", "Kernel Modules", "Now about compilers.", ()))
    assert index.count() == len(DOCS)
    assert slugs(index, "loading") == []
    assert slugs(index, "compilers") == ["kernel"]


def test_remove_and_contains(index: SearchIndex) -> None:
    assert index.remove(3)
    assert not index.remove(3)
    assert not index.contains(3)
    assert index.contains(1)
    assert slugs(index, "pasta") == []


def test_rebuild_replaces_everything(index: SearchIndex) -> None:
    count = index.rebuild([SearchDocument(10, "only", "Only One", "solitary text", ())])
    assert count == 1
    assert index.count() == 1
    assert slugs(index, "tomato") == []


def test_failed_batch_rolls_back(index: SearchIndex) -> None:
    def failing() -> None:
        with index.batch():
            index.clear()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        failing()
    assert index.count() == len(DOCS)


def test_index_persists_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "persist.sqlite3"
    with SearchIndex(path) as first:
        first.add(DOCS[0])
    with SearchIndex(path) as second:
        assert second.search("tomatoes").total == 1


def test_memory_index() -> None:
    with SearchIndex(":memory:") as index:
        index.add(DOCS[3])
        assert index.search("kernel").total == 1


# Over the seeded site ----------------------------------------------------------


def test_seeded_index_holds_exactly_the_published_pages(seeded_readonly: CMS) -> None:
    published = seeded_readonly.pages.all_published()
    assert seeded_readonly.index.count() == len(published)
    assert all(seeded_readonly.index.contains(page.id) for page in published)


@pytest.mark.parametrize("tag", ["gardening", "cooking", "programming", "music", "travel"])
def test_tag_search_agrees_with_the_database(seeded_readonly: CMS, tag: str) -> None:
    results = seeded_readonly.index.search(f"tag:{tag}", limit=1000)
    listing = seeded_readonly.pages.listing(tag=tag, per_page=1000)
    assert {hit.slug for hit in results.hits} == {page.slug for page in listing.pages}


@pytest.mark.parametrize("word", ["walnut", "lighthouse", "tundra", "semaphore", "orchid"])
def test_rare_words_find_only_pages_containing_them(seeded_readonly: CMS, word: str) -> None:
    results, _ = seeded_readonly.pages.search(word, per_page=100)
    for hit in results.hits:
        page = seeded_readonly.pages.get(hit.slug)
        text = seeded_readonly.pages.render(page).text.lower() + page.title.lower()
        assert word in text
        assert page.state is PublishState.PUBLISHED


def test_search_pagination_over_seeded_site(seeded_readonly: CMS) -> None:
    first, pagination = seeded_readonly.pages.search("garden", page=1, per_page=10)
    second, _ = seeded_readonly.pages.search("garden", page=2, per_page=10)
    assert pagination.total == first.total
    assert pagination.pages > 2
    assert not {h.slug for h in first.hits} & {h.slug for h in second.hits}


def test_scores_are_descending(seeded_readonly: CMS) -> None:
    hits = seeded_readonly.index.search("soil compost", limit=50).hits
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_reindex_rebuilds_the_seeded_index(seeded_cms: CMS) -> None:
    before = {hit.slug for hit in seeded_cms.index.search("garden", limit=1000).hits}
    seeded_cms.index.clear()
    assert seeded_cms.index.search("garden").total == 0
    count = seeded_cms.pages.reindex()
    assert count == seeded_cms.pages.count(PublishState.PUBLISHED)
    after = {hit.slug for hit in seeded_cms.index.search("garden", limit=1000).hits}
    assert after == before
