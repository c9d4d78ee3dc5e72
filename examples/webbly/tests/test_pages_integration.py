"""Page service against a real SQLite database and search index."""

from __future__ import annotations

import pytest

from webbly.cms import CMS
from webbly.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from webbly.models import PageInput, PublishState, User
from webbly.workflow import Action


def create(cms: CMS, user: User, title: str, body: str = "Body text.", **extra: object) -> str:
    return cms.pages.create(user, {"title": title, "body": body, **extra}).slug


def test_create_makes_a_draft_with_revision_one(cms: CMS, users: dict[str, User]) -> None:
    page = cms.pages.create(users["author"], {"title": "First Post", "body": "Hello",
                                              "tags": "news, Intro"})
    assert page.slug == "first-post"
    assert page.state is PublishState.DRAFT
    assert page.revision == 1
    assert page.tags == ("news", "intro")
    assert page.author_id == users["author"].id
    assert page.created_at == page.updated_at == "2024-05-01T09:00:00Z"
    assert page.published_at is None
    assert cms.pages.revisions(page.slug, viewer=users["author"])[0].message == "Created"


def test_create_with_explicit_slug(cms: CMS, users: dict[str, User]) -> None:
    assert create(cms, users["author"], "Anything", slug="chosen-slug") == "chosen-slug"


def test_explicit_slug_conflict(cms: CMS, users: dict[str, User]) -> None:
    create(cms, users["author"], "A", slug="taken")
    with pytest.raises(Conflict, match="taken"):
        create(cms, users["author"], "B", slug="taken")


def test_generated_slugs_are_unique(cms: CMS, users: dict[str, User]) -> None:
    slugs = [create(cms, users["author"], "Same Title") for _ in range(3)]
    assert slugs == ["same-title", "same-title-2", "same-title-3"]


@pytest.mark.parametrize(("title", "slug"), [("!!!", "page"), ("Admin", "admin-page"),
                                             ("日本語", "page")])
def test_titles_without_usable_slug(cms: CMS, users: dict[str, User], title: str,
                                    slug: str) -> None:
    assert create(cms, users["author"], title) == slug


@pytest.mark.parametrize("role", ["viewer", None])
def test_create_needs_author_role(cms: CMS, users: dict[str, User], role: str | None) -> None:
    with pytest.raises(PermissionDenied):
        cms.pages.create(users[role] if role else None, {"title": "T", "body": "B"})


def test_create_validates(cms: CMS, users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        cms.pages.create(users["author"], {"title": "", "body": ""})
    assert set(caught.value.errors) == {"title", "body"}
    assert cms.pages.count() == 0


def test_update_adds_revision(cms: CMS, users: dict[str, User], clock) -> None:
    slug = create(cms, users["author"], "Doc", "v1")
    clock.advance(60)
    page = cms.pages.update(users["author"], slug, {"title": "Doc", "body": "v2",
                                                    "message": "second"})
    assert page.revision == 2
    assert page.body == "v2"
    assert page.updated_at == "2024-05-01T09:01:00Z"
    revisions = cms.pages.revisions(slug, viewer=users["author"])
    assert [(r.number, r.body, r.message) for r in revisions] == [
        (1, "v1", "Created"), (2, "v2", "second")]


def test_update_without_changes_adds_nothing(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Doc", "same", tags="a")
    page = cms.pages.update(users["author"], slug, {"title": "Doc", "body": "same", "tags": "a"})
    assert page.revision == 1


def test_tag_only_change_keeps_revision(cms: CMS, users: dict[str, User], clock) -> None:
    slug = create(cms, users["author"], "Doc", "same", tags="a")
    clock.advance(5)
    page = cms.pages.update(users["author"], slug, {"title": "Doc", "body": "same",
                                                    "tags": "b, c"})
    assert (page.revision, page.tags) == (1, ("b", "c"))
    assert page.updated_at == "2024-05-01T09:00:05Z"


def test_authors_cannot_edit_others_pages(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["editor"], "Editor's page")
    with pytest.raises(PermissionDenied, match="may not edit_page"):
        cms.pages.update(users["author"], slug, {"title": "Mine now", "body": "x"})


def test_editors_can_edit_others_pages(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Author's page")
    page = cms.pages.update(users["editor"], slug, {"title": "Edited", "body": "x"})
    revision = cms.pages.revision(slug, 2, viewer=users["editor"])
    assert (page.title, revision.author_id) == ("Edited", users["editor"].id)


def test_drafts_are_hidden_from_anonymous_and_viewers(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Secret")
    for viewer in (None, users["viewer"]):
        with pytest.raises(NotFound):
            cms.pages.get(slug, viewer=viewer)
    assert cms.pages.get(slug, viewer=users["author"]).slug == slug


def test_missing_page(cms: CMS) -> None:
    with pytest.raises(NotFound, match="no page 'ghost'"):
        cms.pages.get("ghost")


def test_missing_revision(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Doc")
    with pytest.raises(NotFound, match="no revision 5"):
        cms.pages.revision(slug, 5, viewer=users["author"])


def test_diff_between_revisions(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Doc", "line one\nline two\n")
    cms.pages.update(users["author"], slug, {"title": "Doc", "body": "line one\nline 2\n"})
    diff = cms.pages.diff(slug, 1, 2, viewer=users["author"])
    assert (diff.added, diff.removed) == (1, 1)
    assert "+line 2" in diff.lines


def test_revert_restores_old_content_as_new_revision(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Doc", "original")
    cms.pages.update(users["author"], slug, {"title": "Changed", "body": "changed"})
    page = cms.pages.revert(users["author"], slug, 1)
    assert (page.revision, page.title, page.body) == (3, "Doc", "original")
    assert cms.pages.revision(slug, 3, viewer=users["author"]).message == (
        "Reverted to revision 1")


def test_delete_removes_page_revisions_and_orphan_tags(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Doomed", tags="lonely, shared")
    create(cms, users["author"], "Keeper", tags="shared")
    cms.pages.delete(users["editor"], slug)
    assert cms.pages.count() == 1
    assert cms.pages.tags.names() == ["shared"]
    assert cms.db.scalar("SELECT count(*) FROM revisions") == 1


def test_authors_cannot_delete(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Mine")
    with pytest.raises(PermissionDenied):
        cms.pages.delete(users["author"], slug)


def test_listing_filters_and_orders(cms: CMS, users: dict[str, User], clock) -> None:
    editor = users["editor"]
    for title, tags in [("Banana", "fruit"), ("apple", "fruit"), ("Carrot", "veg")]:
        create(cms, editor, title, tags=tags)
        clock.advance(10)
    cms.pages.transition(editor, "banana", Action.PUBLISH)
    everything = tuple(PublishState)
    by_title = cms.pages.listing(states=everything, order="title").pages
    assert [p.slug for p in by_title] == ["apple", "banana", "carrot"]
    newest = cms.pages.listing(states=everything, order="updated").pages
    assert newest[0].slug == "banana"
    fruit = cms.pages.listing(states=everything, tag="fruit", order="slug").pages
    assert [p.slug for p in fruit] == ["apple", "banana"]
    assert [p.slug for p in cms.pages.listing().pages] == ["banana"]
    authored = cms.pages.listing(states=everything, author_id=users["author"].id).pages
    assert authored == ()


def test_listing_paginates(cms: CMS, users: dict[str, User]) -> None:
    for n in range(25):
        create(cms, users["author"], f"Page {n:02d}")
    listing = cms.pages.listing(states=(PublishState.DRAFT,), page=3, per_page=10, order="slug")
    assert listing.pagination.total == 25
    assert listing.pagination.pages == 3
    assert [p.slug for p in listing.pages] == [f"page-{n:02d}" for n in range(20, 25)]


def test_unknown_order_is_refused(cms: CMS) -> None:
    with pytest.raises(ValueError, match="unknown order"):
        cms.pages.repo.find(order="random")


def test_render_is_cached_per_revision(cms: CMS, users: dict[str, User]) -> None:
    slug = create(cms, users["author"], "Doc", "# One")
    page = cms.pages.get(slug, viewer=users["author"])
    first = cms.pages.render(page)
    assert cms.pages.render(page) is first
    updated = cms.pages.update(users["author"], slug, {"title": "Doc", "body": "# Two"})
    assert cms.pages.render(updated).headings[0].text == "Two"


def test_render_reports_reading_time_and_excerpt(cms: CMS, users: dict[str, User]) -> None:
    body = "# Heading\n\n" + " ".join(["word"] * 500)
    page = cms.pages.create(users["author"], PageInput("Long", body))
    rendered = cms.pages.render(page)
    assert rendered.reading_minutes == 3
    assert rendered.excerpt.startswith("Heading word word")
    assert len(rendered.excerpt) <= 160


def test_iter_all_walks_every_page_in_batches(cms: CMS, users: dict[str, User]) -> None:
    for n in range(23):
        create(cms, users["author"], f"P{n}")
    slugs = [page.slug for page in cms.pages.repo.iter_all(batch=5)]
    assert len(slugs) == 23
    assert len(set(slugs)) == 23
