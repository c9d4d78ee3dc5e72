"""The public site over HTTP: a module-scoped server over a copy of the seeded site."""

from __future__ import annotations

import re

import pytest

from webbly.cms import CMS
from webbly.models import PublishState
from webbly.seed import TAGS


@pytest.fixture(scope="module")
def client(seeded_server):
    return seeded_server.client()


def titles_linked(html: str) -> list[str]:
    return re.findall(r'<a href="/pages/([a-z0-9-]+)">', html)


def test_home_page(client, seeded_readonly: CMS) -> None:
    response = client.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Webbly Test</h1>" in response.text
    newest = seeded_readonly.pages.listing(per_page=20, order="published").pages
    assert titles_linked(response.text) == [page.slug for page in newest]


def test_home_pagination(client) -> None:
    first = titles_linked(client.get("/?page=1").text)
    second = titles_linked(client.get("/?page=2").text)
    assert len(first) == len(second) == 20
    assert not set(first) & set(second)
    assert 'rel="next" href="?page=3"' in client.get("/?page=2").text


def test_out_of_range_page_shows_the_last_one(client, seeded_readonly: CMS) -> None:
    published = seeded_readonly.pages.count(PublishState.PUBLISHED)
    last = -(-published // 20)
    assert client.get("/?page=9999").text == client.get(f"/?page={last}").text


@pytest.mark.parametrize("index", [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 499])
def test_seeded_pages_are_public_only_when_published(client, seeded_site, seeded_readonly: CMS,
                                                     index: int) -> None:
    slug = seeded_site.report.slugs[index]
    response = client.get(f"/pages/{slug}")
    if seeded_site.report.states[slug] is PublishState.PUBLISHED:
        page = seeded_readonly.pages.get(slug)
        assert response.status == 200
        assert f"<h1>{page.title}</h1>" in response.text
        assert f"revision {page.revision}" in response.text
    else:
        assert response.status == 404
        assert "404 Not Found" in response.text


def published_slug(seeded_site) -> str:
    return seeded_site.report.slugs_in(PublishState.PUBLISHED)[0]


def test_page_etag_gives_304(client, seeded_site) -> None:
    path = f"/pages/{published_slug(seeded_site)}"
    etag = client.get(path).headers["ETag"]
    not_modified = client.get(path, headers={"If-None-Match": etag})
    assert (not_modified.status, not_modified.body) == (304, b"")
    assert client.get(path, headers={"If-None-Match": '"other"'}).status == 200


def test_head_request(client, seeded_site) -> None:
    path = f"/pages/{published_slug(seeded_site)}"
    head = client.request("HEAD", path)
    assert head.status == 200
    assert head.body == b""
    assert int(head.headers["Content-Length"]) == len(client.get(path).body)


def test_trailing_slash_is_accepted(client, seeded_site) -> None:
    slug = published_slug(seeded_site)
    assert client.get(f"/pages/{slug}/").text == client.get(f"/pages/{slug}").text


@pytest.mark.parametrize("tag", TAGS)
def test_tag_pages(client, seeded_readonly: CMS, tag: str) -> None:
    expected = seeded_readonly.pages.listing(tag=tag, per_page=20, order="title")
    response = client.get(f"/tags/{tag}")
    if expected.pagination.total == 0:
        assert response.status == 404
        return
    assert response.status == 200
    assert f"Pages tagged <em>{tag}</em>" in response.text
    assert titles_linked(response.text) == [page.slug for page in expected.pages]


def test_unknown_tag_is_404(client) -> None:
    response = client.get("/tags/no-such-tag")
    assert response.status == 404
    assert "no published pages are tagged" in response.text


@pytest.mark.parametrize("query", ["garden", "walnut", "soil compost", "tag:cooking",
                                   "title:garden", "lighthouse OR glacier"])
def test_search_page_counts_match_the_index(client, seeded_readonly: CMS, query: str) -> None:
    response = client.get("/search?q=" + query.replace(" ", "+").replace(":", "%3A"))
    total = seeded_readonly.index.search(query).total
    assert response.status == 200
    assert f"{total} result{'' if total == 1 else 's'} for" in response.text
    assert response.text.count("<li><a href=\"/pages/") == min(total, 10)


def test_search_page_without_query(client) -> None:
    response = client.get("/search")
    assert response.status == 200
    assert "result" not in response.text


def test_search_query_is_escaped(client) -> None:
    response = client.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert response.status == 200
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_sitemap(client, seeded_readonly: CMS) -> None:
    response = client.get("/sitemap.xml")
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    locations = re.findall(r"<loc>([^<]+)</loc>", response.text)
    expected = 1 + seeded_readonly.pages.count(PublishState.PUBLISHED) + len(
        seeded_readonly.pages.tag_counts())
    assert len(locations) == expected
    assert all(loc.startswith("http://webbly.test/") for loc in locations)


def test_health(client, seeded_readonly: CMS) -> None:
    response = client.get("/healthz")
    stats = seeded_readonly.stats()
    assert response.text == f"ok pages={stats.pages} indexed={stats.indexed}\n"


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("PUT", "/pages/x"),
                                              ("DELETE", "/search")])
def test_wrong_methods_are_405(client, method: str, path: str) -> None:
    response = client.request(method, path, data=b"")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/nothing", "/pages", "/pages/a/b", "/media/none.png"])
def test_unknown_paths_are_404_pages(client, path: str) -> None:
    response = client.get(path)
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("name", "content_type", "start"),
                         [("logo.png", "image/png", b"\x89PNG"),
                          ("notes.txt", "text/plain; charset=utf-8", b"plain text"),
                          ("data.csv", "text/csv; charset=utf-8", b"item,amount")])
def test_media_files(client, name: str, content_type: str, start: bytes) -> None:
    response = client.get(f"/media/{name}")
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.body.startswith(start)
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    cached = client.get(f"/media/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status == 304


def test_pages_render_markdown_structure(client, seeded_readonly: CMS) -> None:
    page = next(p for p in seeded_readonly.pages.all_published() if "```" in p.body)
    html = client.get(f"/pages/{page.slug}").text
    assert '<code class="language-python">' in html
    assert html.count("<h2") >= 2
