"""Jinja2 templates rendered with plain objects (no database)."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from webbly.markup import Heading
from webbly.models import Page, PublishState, Role, TagCount, User
from webbly.pagination import paginate
from webbly.search import SearchHit, SearchResults
from webbly.templating import Templates, format_date
from webbly.workflow import Action


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates(site_title="Test <Site>", base_url="https://example.org/")


def page(slug: str = "hello", title: str = "Hello", **changes: object) -> Page:
    data: dict[str, object] = {
        "id": 1, "slug": slug, "title": title, "body": "b", "state": PublishState.PUBLISHED,
        "author_id": 1, "revision": 3, "tags": ("a", "b"),
        "created_at": "2024-03-01T10:00:00Z", "updated_at": "2024-03-02T10:00:00Z",
        "published_at": "2024-03-02T10:00:00Z",
    }
    data.update(changes)
    return Page(**data)  # type: ignore[arg-type]


ADMIN = User(1, "root", "r@example.org", Role.ADMIN, "x", True, "2024-01-01T00:00:00Z")


def test_ships_the_expected_templates(templates: Templates) -> None:
    assert {"base.html", "index.html", "page.html", "tag.html", "search.html", "error.html",
            "sitemap.xml", "admin/edit.html", "admin/list.html"} <= set(templates.names())


@pytest.mark.parametrize(
    ("value", "text"),
    [("2024-03-02T10:00:00Z", "2 Mar 2024"), ("1999-12-31T23:59:59Z", "31 Dec 1999"),
     (None, ""), ("", "")],
)
def test_date_filter(value: str | None, text: str) -> None:
    assert format_date(value) == text


def test_site_title_is_escaped(templates: Templates) -> None:
    html = templates.render("error.html", status=404, reason="Not Found", message="gone")
    assert "Test &lt;Site&gt;" in html
    assert "<h1>404 Not Found</h1>" in html


def test_page_template(templates: Templates) -> None:
    html = templates.render("page.html", page=page(title="A & B"), body_html="<p>Body</p>",
                            headings=(), reading_minutes=2)
    assert "<title>A &amp; B · Test &lt;Site&gt;</title>" in html
    assert "<p>Body</p>" in html
    assert "Published <time>2 Mar 2024</time>" in html
    assert "2 min read · revision 3" in html
    assert '<a rel="tag" href="/tags/a">a</a>' in html


def test_table_of_contents_only_for_longer_pages(templates: Templates) -> None:
    few = (Heading(2, "a", "A"), Heading(2, "b", "B"))
    many = (*few, Heading(3, "c", "C <x>"))
    short = templates.render("page.html", page=page(), body_html="", headings=few,
                             reading_minutes=1)
    long = templates.render("page.html", page=page(), body_html="", headings=many,
                            reading_minutes=1)
    assert 'class="toc"' not in short
    assert '<li class="level-3"><a href="#c">C &lt;x&gt;</a></li>' in long


def test_index_lists_pages_tags_and_pagination(templates: Templates) -> None:
    pages = [page("one", "One"), page("two", "Two")]
    html = templates.render("index.html", pages=pages, pagination=paginate(45, 2, 20),
                            tags=[TagCount("garden", 4)])
    assert '<a href="/pages/one">One</a>' in html
    assert '<a href="/tags/garden">garden (4)</a>' in html
    assert '<a rel="prev" href="?page=1">' in html
    assert '<a rel="next" href="?page=3">' in html
    assert "<strong>2</strong>" in html


def test_index_without_pages(templates: Templates) -> None:
    html = templates.render("index.html", pages=[], pagination=paginate(0, 1, 20), tags=[])
    assert "Nothing here yet." in html
    assert "pagination" not in html


def test_search_template_escapes_query_but_not_snippets(templates: Templates) -> None:
    results = SearchResults("q", 1, (SearchHit(1, "s", "T", "a <mark>b</mark>", 1.0),))
    html = templates.render("search.html", query='<b>"x"</b>', results=results,
                            pagination=paginate(1, 1, 10))
    assert "&lt;b&gt;&#34;x&#34;&lt;/b&gt;" in html
    assert "a <mark>b</mark>" in html
    assert "1 result for" in html


def test_sitemap_uses_base_url(templates: Templates) -> None:
    xml = templates.render("sitemap.xml", pages=[page("p")], tags=[TagCount("t", 1)])
    assert "<loc>https://example.org/pages/p</loc><lastmod>2024-03-02</lastmod>" in xml
    assert "<loc>https://example.org/tags/t</loc>" in xml


def test_admin_form_shows_errors_and_values(templates: Templates) -> None:
    html = templates.render(
        "admin/edit.html", user=ADMIN, page=None, notice=None, actions=[], revisions=[],
        action="/admin/pages/new", errors={"title": "is required"},
        values={"title": "", "slug": "s", "tags": "x", "body": "<b>kept</b>", "message": ""},
    )
    assert '<li data-field="title">title: is required</li>' in html
    assert "&lt;b&gt;kept&lt;/b&gt;</textarea>" in html
    assert 'name="slug" value="s"' in html


def test_admin_form_for_existing_page_offers_state_actions(templates: Templates) -> None:
    html = templates.render(
        "admin/edit.html", user=ADMIN, page=page(), notice="Saved.", revisions=[],
        actions=[Action.UNPUBLISH, Action.ARCHIVE], action="/admin/pages/hello/edit", errors={},
        values={"title": "Hello", "slug": "hello", "tags": "", "body": "", "message": ""},
    )
    assert 'value="unpublish"' in html
    assert 'value="archive"' in html
    assert 'name="slug"' not in html
    assert '<p class="notice">Saved.</p>' in html


def test_missing_context_is_an_error(templates: Templates) -> None:
    with pytest.raises(UndefinedError):
        templates.render("page.html")
