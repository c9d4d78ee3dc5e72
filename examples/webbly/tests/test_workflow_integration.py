"""Publish workflow with its effects on timestamps, visibility and the search index."""

from __future__ import annotations

import pytest

from webbly.cms import CMS
from webbly.errors import InvalidTransition, NotFound, PermissionDenied
from webbly.models import PublishState, User
from webbly.workflow import Action


@pytest.fixture
def slug(cms: CMS, users: dict[str, User]) -> str:
    return cms.pages.create(users["author"], {"title": "Workflow Page",
                                              "body": "Zucchini recipes and more.",
                                              "tags": "cooking"}).slug


def test_publish_sets_timestamp_and_indexes(cms: CMS, users: dict[str, User], slug: str,
                                            clock) -> None:
    clock.advance(3600)
    page = cms.pages.transition(users["editor"], slug, Action.PUBLISH)
    assert page.state is PublishState.PUBLISHED
    assert page.published_at == "2024-05-01T10:00:00Z"
    assert cms.index.contains(page.id)
    assert cms.pages.search("zucchini")[0].hits[0].slug == slug
    assert cms.pages.get(slug).slug == slug


def test_unpublish_clears_timestamp_and_unindexes(cms: CMS, users: dict[str, User],
                                                  slug: str) -> None:
    cms.pages.transition(users["editor"], slug, Action.PUBLISH)
    page = cms.pages.transition(users["editor"], slug, Action.UNPUBLISH)
    assert (page.state, page.published_at) == (PublishState.DRAFT, None)
    assert not cms.index.contains(page.id)
    assert cms.pages.search("zucchini")[0].total == 0


def test_archive_keeps_published_at(cms: CMS, users: dict[str, User], slug: str) -> None:
    published = cms.pages.transition(users["editor"], slug, Action.PUBLISH)
    archived = cms.pages.transition(users["editor"], slug, Action.ARCHIVE)
    assert archived.published_at == published.published_at
    assert not cms.index.contains(archived.id)


def test_restore_returns_to_draft(cms: CMS, users: dict[str, User], slug: str) -> None:
    cms.pages.transition(users["editor"], slug, Action.ARCHIVE)
    page = cms.pages.transition(users["editor"], slug, Action.RESTORE)
    assert page.state is PublishState.DRAFT


@pytest.mark.parametrize(("role", "error"), [("author", PermissionDenied), ("viewer", NotFound)])
def test_only_editors_publish(cms: CMS, users: dict[str, User], slug: str, role: str,
                              error: type[Exception]) -> None:
    with pytest.raises(error):
        cms.pages.transition(users[role], slug, Action.PUBLISH)
    assert cms.pages.get(slug, viewer=users["editor"]).state is PublishState.DRAFT


def test_invalid_transition_changes_nothing(cms: CMS, users: dict[str, User], slug: str) -> None:
    with pytest.raises(InvalidTransition):
        cms.pages.transition(users["editor"], slug, Action.UNPUBLISH)
    assert cms.pages.get(slug, viewer=users["editor"]).state is PublishState.DRAFT


def test_editing_a_published_page_updates_the_index(cms: CMS, users: dict[str, User],
                                                    slug: str) -> None:
    cms.pages.transition(users["editor"], slug, Action.PUBLISH)
    cms.pages.update(users["author"], slug, {"title": "Workflow Page",
                                             "body": "Now about aubergines.",
                                             "tags": "cooking"})
    assert cms.pages.search("zucchini")[0].total == 0
    assert cms.pages.search("aubergines")[0].total == 1


def test_editing_a_draft_does_not_index_it(cms: CMS, users: dict[str, User], slug: str) -> None:
    cms.pages.update(users["author"], slug, {"title": "Workflow Page", "body": "Fennel."})
    assert cms.index.count() == 0


def test_deleting_a_published_page_unindexes_it(cms: CMS, users: dict[str, User],
                                                slug: str) -> None:
    page = cms.pages.transition(users["editor"], slug, Action.PUBLISH)
    cms.pages.delete(users["admin"], slug)
    assert not cms.index.contains(page.id)


def test_tag_counts_follow_publication(cms: CMS, users: dict[str, User], slug: str) -> None:
    assert cms.pages.tag_counts() == []
    cms.pages.transition(users["editor"], slug, Action.PUBLISH)
    assert [(t.name, t.count) for t in cms.pages.tag_counts()] == [("cooking", 1)]


def test_full_life_cycle(cms: CMS, users: dict[str, User], slug: str) -> None:
    editor = users["editor"]
    states = [cms.pages.transition(editor, slug, action).state for action in (
        Action.PUBLISH, Action.UNPUBLISH, Action.PUBLISH, Action.ARCHIVE, Action.RESTORE,
        Action.PUBLISH)]
    assert states == [PublishState.PUBLISHED, PublishState.DRAFT, PublishState.PUBLISHED,
                      PublishState.ARCHIVED, PublishState.DRAFT, PublishState.PUBLISHED]
    assert cms.index.count() == 1
    assert cms.pages.get(slug).revision == 1
