"""Search over pages stored in PostgreSQL: the index follows every publish-state change.

The FTS5 index is an SQLite file of the site (in the test's directory); the pages it
indexes, and ``reindex``'s source, are the rows of this worker's PostgreSQL copy.
"""

from __future__ import annotations

import pytest

from webbly.cms import CMS
from webbly.models import PublishState, User
from webbly.workflow import Action

pytestmark = pytest.mark.postgres


def publish(cms: CMS, editor: User, title: str, body: str, tags: str = "") -> str:
    """Create and publish a page; return its slug."""
    slug = cms.pages.create(editor, {"title": title, "body": body, "tags": tags}).slug
    cms.pages.transition(editor, slug, Action.PUBLISH)
    return slug


def found(cms: CMS, query: str) -> list[str]:
    """Slugs matching ``query``, best first."""
    return [hit.slug for hit in cms.pages.search(query, per_page=50)[0].hits]


def test_publishing_indexes_the_page(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A published page is found by a word of its body."""
    slug = publish(pg_cms, pg_users["editor"], "Zucchini", "Zucchini recipes and more.")
    assert found(pg_cms, "recipes") == [slug]


def test_drafts_are_never_indexed(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A page that was never published is not found."""
    pg_cms.pages.create(pg_users["author"], {"title": "Hidden", "body": "Secret walnut plans."})
    assert found(pg_cms, "walnut") == []
    assert pg_cms.stats().indexed == 0


@pytest.mark.parametrize("action", [Action.UNPUBLISH, Action.ARCHIVE])
def test_leaving_published_unindexes(
    pg_cms: CMS, pg_users: dict[str, User], action: Action
) -> None:
    """Unpublishing or archiving takes the page out of the results."""
    slug = publish(pg_cms, pg_users["editor"], "Lantern", "Lantern repair notes.")
    page = pg_cms.pages.transition(pg_users["editor"], slug, action)
    assert not pg_cms.index.contains(page.id)
    assert found(pg_cms, "lantern") == []


def test_editing_a_published_page_reindexes_it(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """The index holds the newest revision's text only."""
    editor = pg_users["editor"]
    slug = publish(pg_cms, editor, "Harbor", "Boats in the harbor.")
    pg_cms.pages.update(editor, slug, {"title": "Harbor", "body": "Ferries at the quay."})
    assert found(pg_cms, "ferries") == [slug]
    assert found(pg_cms, "boats") == []


def test_deleting_removes_from_the_index(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A deleted page is neither stored nor found."""
    slug = publish(pg_cms, pg_users["editor"], "Glacier", "Glacier hikes.")
    pg_cms.pages.delete(pg_users["editor"], slug)
    assert found(pg_cms, "glacier") == []
    assert pg_cms.stats().indexed == 0


def test_titles_rank_above_bodies(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """A title match outranks a body match."""
    editor = pg_users["editor"]
    body_only = publish(pg_cms, editor, "Kitchen Notes", "Basil grows on the sill.")
    in_title = publish(pg_cms, editor, "Basil Care", "Water it often.")
    assert found(pg_cms, "basil") == [in_title, body_only]


def test_tags_are_searchable(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """``tag:NAME`` finds the published pages carrying the tag."""
    editor = pg_users["editor"]
    tagged = publish(pg_cms, editor, "Sourdough", "Flour and water.", tags="baking")
    publish(pg_cms, editor, "Omelette", "Eggs.", tags="cooking")
    assert found(pg_cms, "tag:baking") == [tagged]


def test_results_paginate(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """15 matches, 10 a page: page 2 holds 5, and the total counts all 15."""
    for n in range(15):
        publish(pg_cms, pg_users["editor"], f"Compost {n:02d}", "Compost heap tips.")
    results, pagination = pg_cms.pages.search("compost", page=2, per_page=10)
    assert (results.total, pagination.pages, len(results.hits)) == (15, 2, 5)


def test_snippets_mark_matches_and_escape_markup(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Snippets wrap matches in <mark> and escape the page's own text."""
    publish(pg_cms, pg_users["editor"], "Markup", "Keep 5 < 6 & the soil moist.")
    snippet = pg_cms.pages.search("soil moist")[0].hits[0].snippet
    assert "<mark>soil</mark> <mark>moist</mark>" in snippet
    assert "&lt;" in snippet


def test_accents_fold(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """Text stored in PostgreSQL with accents is found without them."""
    slug = publish(pg_cms, pg_users["editor"], "Café Culture", "Crème brûlée in Vienna.")
    assert pg_cms.pages.get(slug).title == "Café Culture"
    assert found(pg_cms, "creme brulee") == [slug]


def test_reindex_rebuilds_from_postgres(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """An emptied index is rebuilt from the published rows in PostgreSQL."""
    editor = pg_users["editor"]
    slugs = [publish(pg_cms, editor, f"Orchard {n}", "Apple and plum trees.") for n in range(4)]
    pg_cms.pages.create(editor, {"title": "Orchard draft", "body": "Apple ideas."})
    pg_cms.index.clear()
    assert found(pg_cms, "apple") == []
    assert pg_cms.pages.reindex() == 4
    assert sorted(found(pg_cms, "apple")) == sorted(slugs)


def test_index_and_table_agree(pg_cms: CMS, pg_users: dict[str, User]) -> None:
    """After a mix of changes, the index holds exactly the published pages."""
    editor = pg_users["editor"]
    kept = publish(pg_cms, editor, "Kept", "Stays.")
    dropped = publish(pg_cms, editor, "Dropped", "Goes.")
    pg_cms.pages.transition(editor, dropped, Action.UNPUBLISH)
    pg_cms.pages.create(editor, {"title": "Draft", "body": "Never."})
    stats = pg_cms.stats()
    assert (stats.pages, stats.published, stats.indexed) == (3, 1, 1)
    assert [p.slug for p in pg_cms.pages.listing(states=(PublishState.PUBLISHED,)).pages] == [kept]
