"""Reading the seeded site: counts, listings, revisions and tags agree with each other."""

from __future__ import annotations

import pytest

from webbly.cms import CMS
from webbly.models import PublishState
from webbly.workflow import Action

SEED_PAGES = 500


def test_every_seeded_page_exists(seeded_readonly: CMS, seeded_site) -> None:
    assert seeded_readonly.pages.count() == SEED_PAGES
    assert len(seeded_site.report.slugs) == SEED_PAGES
    assert len(set(seeded_site.report.slugs)) == SEED_PAGES


@pytest.mark.parametrize("state", list(PublishState))
def test_state_counts_match_the_seed_report(seeded_readonly: CMS, seeded_site,
                                            state: PublishState) -> None:
    assert seeded_readonly.pages.count(state) == len(seeded_site.report.slugs_in(state))


def test_stats(seeded_readonly: CMS) -> None:
    stats = seeded_readonly.stats()
    assert stats.pages == stats.published + stats.drafts + stats.archived
    assert stats.revisions > stats.pages
    assert (stats.users, stats.media) == (4, 3)
    assert stats.indexed == stats.published


@pytest.mark.parametrize("page_number", [1, 2, 5, 10])
def test_listing_pages_are_disjoint_and_ordered(seeded_readonly: CMS, page_number: int) -> None:
    listing = seeded_readonly.pages.listing(page=page_number, per_page=20, order="published")
    times = [page.published_at for page in listing.pages]
    assert times == sorted(times, reverse=True)
    assert all(page.state is PublishState.PUBLISHED for page in listing.pages)
    following = seeded_readonly.pages.listing(page=page_number + 1, per_page=20, order="published")
    assert not {p.id for p in listing.pages} & {p.id for p in following.pages}


def test_listing_covers_every_published_page_once(seeded_readonly: CMS) -> None:
    seen: list[int] = []
    number = 1
    while True:
        listing = seeded_readonly.pages.listing(page=number, per_page=37, order="title")
        seen.extend(page.id for page in listing.pages)
        if not listing.pagination.has_next:
            break
        number += 1
    assert sorted(seen) == sorted(p.id for p in seeded_readonly.pages.all_published())


@pytest.mark.parametrize("index", [0, 57, 123, 256, 399, 499])
def test_revision_history_is_complete(seeded_readonly: CMS, seeded_site, index: int) -> None:
    slug = seeded_site.report.slugs[index]
    admin = seeded_site.report.users["admin"]
    page = seeded_readonly.pages.get(slug, viewer=admin)
    revisions = seeded_readonly.pages.revisions(slug, viewer=admin)
    assert [r.number for r in revisions] == list(range(1, page.revision + 1))
    assert revisions[-1].body == page.body
    assert all(r.body.startswith(revisions[0].body.rstrip("\n")) for r in revisions)


def test_tag_counts_match_listings(seeded_readonly: CMS) -> None:
    for tag in seeded_readonly.pages.tag_counts():
        assert seeded_readonly.pages.listing(tag=tag.name).pagination.total == tag.count


def test_tag_counts_are_sorted(seeded_readonly: CMS) -> None:
    counts = seeded_readonly.pages.tag_counts()
    assert counts == sorted(counts, key=lambda t: (-t.count, t.name))


def test_wiki_links_point_at_real_pages_or_known_gaps(seeded_readonly: CMS) -> None:
    slugs = {page.slug for page in seeded_readonly.pages.repo.iter_all()}
    checked = 0
    for page in seeded_readonly.pages.all_published()[:120]:
        for link in seeded_readonly.pages.render(page).links:
            if link.startswith("/pages/"):
                checked += 1
                target = link.removeprefix("/pages/")
                assert target in slugs or any(s.startswith(f"{target}-") for s in slugs)
    assert checked > 0


def test_seeded_users_can_sign_in(seeded_readonly: CMS, seeded_site) -> None:
    for name in ("admin", "editor", "author", "viewer"):
        user = seeded_readonly.users.authenticate(name, seeded_site.report.password)
        assert user is not None
        assert user.role.value == name


def test_media_files_were_stored(seeded_readonly: CMS, seeded_site) -> None:
    for name in seeded_site.media:
        media = seeded_readonly.media.get(name)
        assert len(seeded_readonly.media.read(media)) == media.size


def test_writable_copy_does_not_touch_the_original(seeded_cms: CMS, seeded_site) -> None:
    slug = seeded_site.report.slugs_in(PublishState.PUBLISHED)[0]
    seeded_cms.pages.transition(seeded_site.report.users["editor"], slug, Action.ARCHIVE)
    assert seeded_cms.pages.count(PublishState.ARCHIVED) == len(
        seeded_site.report.slugs_in(PublishState.ARCHIVED)) + 1
    with CMS.open(seeded_site.settings()) as original:
        assert original.pages.get(slug).state is PublishState.PUBLISHED
