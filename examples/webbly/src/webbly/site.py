"""The public site's HTML: one method per kind of page, shared by the web app and the
static site builder."""

from __future__ import annotations

from webbly.cms import CMS
from webbly.models import Page
from webbly.pagination import paginate
from webbly.templating import Templates


class SiteRenderer:
    """Turns pages, tags and search results into finished HTML documents."""

    def __init__(self, cms: CMS, templates: Templates) -> None:
        self.cms = cms
        self.templates = templates

    @property
    def per_page(self) -> int:
        """Listing size from the settings."""
        return self.cms.settings.page_size

    def index(self, page_number: int | str | None = 1, *, per_page: int | None = None) -> str:
        """The home page: newest published pages and the tag cloud."""
        listing = self.cms.pages.listing(page=page_number, per_page=per_page or self.per_page,
                                      order="published")
        return self.templates.render("index.html", pages=listing.pages,
                                     pagination=listing.pagination,
                                     tags=self.cms.pages.tag_counts())

    def page(self, page: Page) -> str:
        """One page rendered from Markdown."""
        rendered = self.cms.pages.render(page)
        return self.templates.render("page.html", page=page, body_html=rendered.html,
                                     headings=rendered.headings,
                                     reading_minutes=rendered.reading_minutes)

    def tag(self, tag: str, page_number: int | str | None = 1, *,
            per_page: int | None = None) -> tuple[str, int]:
        """Published pages carrying ``tag``; also returns how many there are."""
        listing = self.cms.pages.listing(tag=tag, page=page_number,
                                      per_page=per_page or self.per_page, order="title")
        html = self.templates.render("tag.html", tag=tag, pages=listing.pages,
                                     pagination=listing.pagination)
        return html, listing.pagination.total

    def search(self, query: str, page_number: int | str | None = 1) -> str:
        """The search form and, for a non-empty query, its results."""
        query = query.strip()
        if query:
            results, pagination = self.cms.pages.search(query, page=page_number)
        else:
            results, pagination = None, paginate(0, 1, 10)
        return self.templates.render("search.html", query=query, results=results,
                                     pagination=pagination)

    def sitemap(self) -> str:
        """sitemap.xml listing every published page and tag."""
        return self.templates.render("sitemap.xml", pages=self.cms.pages.all_published(),
                                     tags=self.cms.pages.tag_counts())

    def error(self, status: int, reason: str, message: str) -> str:
        """An error page."""
        return self.templates.render("error.html", status=status, reason=reason,
                                     message=message)
