"""Markdown rendering: features, safety, headings, links."""

from __future__ import annotations

import pytest

from webbly.markup import MarkdownRenderer, is_safe_url, wiki_url


@pytest.fixture(scope="module")
def renderer() -> MarkdownRenderer:
    return MarkdownRenderer()


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("*em*", "<em>em</em>"),
        ("**strong**", "<strong>strong</strong>"),
        ("`code`", "<code>code</code>"),
        ("# Title", '<h1 id="title">Title</h1>'),
        ("## Sub title", '<h2 id="sub-title">Sub title</h2>'),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>"),
        ("> quoted", "<blockquote>"),
        ("[link](https://example.org)", '<a href="https://example.org"'),
        ("![Garden photo](/media/x.png)", '<img alt="Garden photo" src="/media/x.png">'),
        ("```python\nx = 1\n```", '<code class="language-python">x = 1'),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<td>1</td>"),
        ("term\n: definition", "<dd>definition</dd>"),
        ("Text[^1]\n\n[^1]: note", 'class="footnote"'),
        ("---", "<hr>"),
    ],
)
def test_markdown_features(renderer: MarkdownRenderer, source: str, fragment: str) -> None:
    assert fragment in renderer.render(source).html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<div onclick='x()'>hi</div>",
        "inline <img src=x onerror=alert(1)> html",
        "<iframe src='https://evil.example'></iframe>",
    ],
)
def test_raw_html_is_escaped(renderer: MarkdownRenderer, source: str) -> None:
    html = renderer.render(source).html
    assert "&lt;" in html
    for tag in ("<script", "<div", "<img src=x", "<iframe"):
        assert tag not in html


@pytest.mark.parametrize(
    "target",
    ["javascript:alert(1)", "JavaScript:alert(1)", "vbscript:msgbox", "data:text/html;base64,xx",
     "java\tscript:alert(1)"],
)
def test_unsafe_link_targets_are_neutralised(renderer: MarkdownRenderer, target: str) -> None:
    rendered = renderer.render(f"[click]({target})")
    assert 'href="#"' in rendered.html
    assert rendered.links == ()


def test_external_links_get_nofollow(renderer: MarkdownRenderer) -> None:
    html = renderer.render("[x](https://example.org/a) [y](/pages/local)").html
    assert 'href="https://example.org/a" rel="nofollow noopener"' in html
    assert 'href="/pages/local">' in html


def test_wiki_links_point_at_page_slugs(renderer: MarkdownRenderer) -> None:
    rendered = renderer.render("See [[Garden Soil Notes]].")
    assert '<a class="wikilink" href="/pages/garden-soil-notes">Garden Soil Notes</a>' in (
        rendered.html
    )
    assert rendered.links == ("/pages/garden-soil-notes",)


def test_links_are_collected_in_order(renderer: MarkdownRenderer) -> None:
    rendered = renderer.render("[a](/pages/a) then [b](https://b.example) and [[C]]")
    assert rendered.links == ("/pages/a", "https://b.example", "/pages/c")


def test_headings_are_collected_with_levels_and_anchors(renderer: MarkdownRenderer) -> None:
    rendered = renderer.render("# One\n\n## Two & more\n\n### Three\n\n## Four")
    assert [(h.level, h.anchor, h.text) for h in rendered.headings] == [
        (1, "one", "One"), (2, "two-more", "Two & more"), (3, "three", "Three"),
        (2, "four", "Four"),
    ]


def test_duplicate_headings_get_distinct_anchors(renderer: MarkdownRenderer) -> None:
    anchors = [h.anchor for h in renderer.render("## Same\n\n## Same").headings]
    assert anchors == ["same", "same_1"]


def test_plain_text_drops_markup(renderer: MarkdownRenderer) -> None:
    text = renderer.render("# Title\n\nSome *emphasis* and `code` & more.").text
    assert text == "Title Some emphasis and code & more."


def test_renderer_is_reusable_without_state_leaking(renderer: MarkdownRenderer) -> None:
    first = renderer.render("# A\n\n[[Link One]]")
    second = renderer.render("plain")
    assert second.headings == ()
    assert second.links == ()
    assert first.links == ("/pages/link-one",)


def test_custom_page_prefix() -> None:
    html = MarkdownRenderer(page_url_prefix="/wiki/").render("[[Home Page]]").html
    assert 'href="/wiki/home-page"' in html


@pytest.mark.parametrize(
    ("url", "safe"),
    [("https://x.org", True), ("http://x.org", True), ("/relative", True), ("#anchor", True),
     ("mailto:a@b.org", True), ("javascript:x", False), ("ftp://x.org", False),
     ("data:image/png;base64,AA", False), ("  javascript:x", False)],
)
def test_is_safe_url(url: str, safe: bool) -> None:
    assert is_safe_url(url) is safe


def test_wiki_url() -> None:
    assert wiki_url("Hello World", "/pages/", "") == "/pages/hello-world"
