"""The seeded site's public HTML, rendered once per run and shared through ``fleet_cache``.

Rendering every published page of the seeded site (Markdown, then the page
template) is the expensive part of these tests. ``rendered_site`` builds it with
``fleet_cache.get_or_set``: once in the whole run, whichever worker asks first;
every other test, on any worker, reads the stored JSON (a hit). The seeded site is
deterministic (fixed seed and clock), so every worker would render the same bytes.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from webbly.cms import CMS
from webbly.models import PublishState
from webbly.site import SiteRenderer
from webbly.templating import Templates

# The cache lives for one run (Webbly sets no `persist`), so the key only has to name
# the value within the run; with `persist = true` it would have to change whenever
# render_site, the templates or the seeded content change.
RENDER_KEY = "webbly-rendered-seeded-site-v1"

RenderedSite = dict[str, Any]


def render_site(cms: CMS) -> RenderedSite:
    """Every published page's HTML (with its title and revision), the home page and the
    sitemap, as JSON-ready values (what ``fleet_cache`` stores)."""
    renderer = SiteRenderer(
        cms, Templates(site_title=cms.settings.site_title, base_url=cms.settings.base_url)
    )
    published = cms.pages.all_published()
    return {
        "pages": {
            page.slug: {"title": page.title, "revision": page.revision, "html": renderer.page(page)}
            for page in published
        },
        "home": renderer.index(1, per_page=10),
        "sitemap": renderer.sitemap(),
    }


@pytest.fixture
def rendered_site(
    fleet_cache: Any, seeded_site: Any, request: pytest.FixtureRequest
) -> RenderedSite:
    """The seeded site rendered to HTML: built once per run, shared by every worker.

    ``seeded_site`` is asked for first, so that the time the cache records for the
    build (and counts as saved on each hit) is the rendering's, not the seeding's,
    which other tests need anyway. The read-only copy of the site is made only to
    build, so a test that finds the value in the cache does not make one.
    """

    def build() -> RenderedSite:
        return render_site(request.getfixturevalue("seeded_readonly"))

    site: RenderedSite = fleet_cache.get_or_set(RENDER_KEY, build)
    return site


def test_every_published_page_is_rendered(rendered_site: RenderedSite, seeded_site: Any) -> None:
    """The rendering holds the published pages, and no draft or archived one."""
    assert set(rendered_site["pages"]) == set(seeded_site.report.slugs_in(PublishState.PUBLISHED))


def test_pages_are_whole_documents_under_their_title(rendered_site: RenderedSite) -> None:
    """Each page is an HTML document whose <title> and <h1> carry the page's title."""
    for slug, page in rendered_site["pages"].items():
        document, title = page["html"], html.escape(page["title"])
        assert document.startswith("<!doctype html>"), slug
        assert f"<title>{title} · Webbly Test</title>" in document, slug
        assert f"<h1>{title}</h1>" in document, slug


def test_no_markdown_is_left_unrendered(rendered_site: RenderedSite) -> None:
    """Headings, emphasis and code fences of the seeded Markdown all became HTML."""
    leftovers = re.compile(r"^(#{1,6} |```)|\*\*\w", re.MULTILINE)
    for slug, page in rendered_site["pages"].items():
        assert not leftovers.search(page["html"]), slug
    assert any("<h2" in page["html"] for page in rendered_site["pages"].values())


def test_sitemap_lists_exactly_the_rendered_pages(rendered_site: RenderedSite) -> None:
    """The sitemap names the URL of every rendered page, and of no other page."""
    listed = set(
        re.findall(r"<loc>http://webbly\.test/pages/([^<]+)</loc>", rendered_site["sitemap"])
    )
    assert listed == set(rendered_site["pages"])


def test_home_page_links_to_rendered_pages(rendered_site: RenderedSite) -> None:
    """The home page shows ten pages, each one of the rendered pages."""
    linked = re.findall(r'href="/pages/([^"]+)"', rendered_site["home"])
    assert len(set(linked)) == 10
    assert set(linked) <= set(rendered_site["pages"])


def test_the_stored_rendering_matches_a_fresh_one(
    rendered_site: RenderedSite, seeded_readonly: CMS
) -> None:
    """What the cache hands out is what rendering the page now gives: nothing stale."""
    renderer = SiteRenderer(seeded_readonly, Templates(site_title="Webbly Test"))
    for page in seeded_readonly.pages.listing(per_page=5, order="title").pages:
        stored = rendered_site["pages"][page.slug]
        assert (stored["revision"], stored["html"]) == (page.revision, renderer.page(page))
