"""Markdown to HTML, with raw HTML escaped and unsafe links neutralised."""

from __future__ import annotations

import html as html_lib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.extensions.wikilinks import WikiLinkExtension
from markdown.treeprocessors import Treeprocessor

from webbly.slugs import slugify
from webbly.textutil import html_to_text

SAFE_SCHEMES = frozenset({"", "http", "https", "mailto"})
_EXTENSIONS = ["tables", "fenced_code", "footnotes", "def_list", "abbr", "sane_lists"]


@dataclass(frozen=True)
class Heading:
    """A heading of the document, for a table of contents."""

    level: int
    anchor: str
    text: str


@dataclass(frozen=True)
class Rendered:
    """The result of rendering one Markdown document."""

    html: str
    headings: tuple[Heading, ...]
    text: str
    links: tuple[str, ...]


def is_safe_url(url: str) -> bool:
    """Whether a link target may appear in rendered HTML (no ``javascript:`` and friends)."""
    cleaned = "".join(ch for ch in url if ch.isprintable() and not ch.isspace())
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES


def wiki_url(label: str, base: str, end: str) -> str:
    """URL of a ``[[Page Title]]`` link: the slug of the title under ``/pages/``."""
    return f"{base}{slugify(label)}{end}"


class _SafeLinks(Treeprocessor):
    """Drop unsafe hrefs/srcs, mark external links, collect link targets."""

    def __init__(self, md: markdown.Markdown, sink: list[str]) -> None:
        super().__init__(md)
        self.sink = sink

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                target = element.get(attribute)
                if target is None:
                    continue
                if not is_safe_url(target):
                    element.set(attribute, "#")
                    continue
                if attribute == "href":
                    self.sink.append(target)
                    if urlsplit(target).scheme in {"http", "https"}:
                        element.set("rel", "nofollow noopener")


class _SafeLinksExtension(Extension):
    def __init__(self, sink: list[str], **kwargs: Any) -> None:
        self.sink = sink
        super().__init__(**kwargs)

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_SafeLinks(md, self.sink), "webbly_safe_links", 1)


class MarkdownRenderer:
    """Render Markdown; one instance can be shared, each call builds its own parser."""

    def __init__(self, *, page_url_prefix: str = "/pages/") -> None:
        self.page_url_prefix = page_url_prefix

    def render(self, source: str) -> Rendered:
        """Render ``source`` and collect headings, plain text and link targets."""
        links: list[str] = []
        md = markdown.Markdown(
            extensions=[
                *_EXTENSIONS,
                "toc",
                WikiLinkExtension(base_url=self.page_url_prefix, end_url="", build_url=wiki_url),
                _SafeLinksExtension(links),
            ],
            output_format="html",
        )
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        html = md.convert(source)
        headings = tuple(_flatten(getattr(md, "toc_tokens", [])))
        return Rendered(html=html, headings=headings, text=html_to_text(html), links=tuple(links))


def _flatten(tokens: list[dict[str, Any]]) -> list[Heading]:
    headings: list[Heading] = []
    for token in tokens:
        text = html_lib.unescape(str(token["name"]))
        headings.append(Heading(int(token["level"]), str(token["id"]), text))
        headings.extend(_flatten(token.get("children", [])))
    return headings
