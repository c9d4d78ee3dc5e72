"""Crawl the whole seeded site over HTTP, following every internal link."""

from __future__ import annotations

import re
import threading
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from webbly.cms import CMS
from webbly.models import PublishState


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src"):
            if values.get(name):
                self.found.append((values.get("class") or "", values[name] or ""))


def internal_links(base: str, html: str) -> list[tuple[str, str]]:
    """Same-site links of a page, resolved against its path, without fragments."""
    parser = Links()
    parser.feed(html)
    links = []
    for css_class, href in parser.found:
        target, _ = urldefrag(urljoin(base, href))
        if target and not urlsplit(target).scheme:
            links.append((css_class, target))
    return links


@pytest.mark.slow
def test_crawl_every_page(seeded_server, seeded_readonly: CMS) -> None:
    client = seeded_server.client()
    published = {p.slug for p in seeded_readonly.pages.all_published()}
    queue: deque[str] = deque(["/", "/search"])
    seen: set[str] = set(queue)
    statuses: dict[str, int] = {}
    wiki_targets: set[str] = set()
    while queue:
        path = queue.popleft()
        response = client.get(path)
        statuses[path] = response.status
        if response.status != 200 or not response.headers["Content-Type"].startswith("text/html"):
            continue
        for css_class, link in internal_links(path, response.text):
            if "wikilink" in css_class:
                wiki_targets.add(link)
            if link not in seen:
                seen.add(link)
                queue.append(link)
    crawled_pages = {p.removeprefix("/pages/") for p, s in statuses.items()
                     if p.startswith("/pages/") and s == 200}
    assert crawled_pages == published
    broken = {p for p, s in statuses.items() if s != 200 and p not in wiki_targets}
    assert broken == set()
    for target in wiki_targets:
        expected = 200 if target.removeprefix("/pages/") in published else 404
        assert statuses[target] == expected, target


@pytest.mark.slow
def test_every_sitemap_url_answers(seeded_server, seeded_readonly: CMS) -> None:
    client = seeded_server.client()
    sitemap = client.get("/sitemap.xml").text
    paths = [urlsplit(loc).path for loc in re.findall(r"<loc>([^<]+)</loc>", sitemap)]
    assert len(paths) > seeded_readonly.pages.count(PublishState.PUBLISHED)
    for path in paths:
        response = client.get(path)
        assert response.status == 200, path
        assert "<!doctype html>" in response.text


def test_concurrent_clients_all_get_answers(seeded_server, seeded_site) -> None:
    slugs = seeded_site.report.slugs_in(PublishState.PUBLISHED)[:40]
    results: dict[str, int] = {}
    lock = threading.Lock()

    def fetch(chunk: list[str]) -> None:
        client = seeded_server.client()
        for slug in chunk:
            status = client.get(f"/pages/{slug}").status
            with lock:
                results[slug] = status

    threads = [threading.Thread(target=fetch, args=(slugs[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == dict.fromkeys(slugs, 200)


def test_signed_in_crawl_of_the_admin_list(seeded_server, seeded_readonly: CMS) -> None:
    editor = seeded_server.client("editor")
    number, rows = 1, 0
    while True:
        html = editor.get(f"/admin/?state=all&page={number}").text
        rows += len(re.findall(r"<tr data-slug=", html))
        if 'rel="next"' not in html:
            break
        number += 1
    assert rows == seeded_readonly.pages.count()
