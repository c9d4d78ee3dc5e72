"""Views of the public site: home, pages, tags, search, media, sitemap."""

from __future__ import annotations

from webbly.cms import CMS
from webbly.errors import NotFound
from webbly.site import SiteRenderer
from webbly.web.request import Request
from webbly.web.response import HTTPError, Response, html_response, text_response
from webbly.web.router import Router


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.header("If-None-Match")
    return header is not None and etag in [part.strip() for part in header.split(",")]


class PublicViews:
    """Handlers for anonymous visitors."""

    def __init__(self, cms: CMS, site: SiteRenderer) -> None:
        self.cms = cms
        self.site = site

    def register(self, router: Router) -> None:
        """Add this group's routes to ``router``."""
        router.add("/", self.home, name="home")
        router.add("/pages/<slug>", self.page, name="page")
        router.add("/tags/<tag>", self.tag, name="tag")
        router.add("/search", self.search, name="search")
        router.add("/media/<filename>", self.media, name="media")
        router.add("/sitemap.xml", self.sitemap, name="sitemap")
        router.add("/healthz", self.health, name="health")

    def home(self, request: Request) -> Response:
        """Newest published pages."""
        return html_response(self.site.index(request.arg("page")))

    def page(self, request: Request) -> Response:
        """One published page; answers 304 when the client's copy is current."""
        page = self.cms.pages.get(request.params["slug"])
        etag = f'"p{page.id}-r{page.revision}-{page.updated_at}"'
        if _etag_matches(request, etag):
            return Response(304, b"", [("ETag", etag)])
        response = html_response(self.site.page(page))
        response.set_header("ETag", etag)
        response.set_header("Last-Modified-Revision", str(page.revision))
        return response

    def tag(self, request: Request) -> Response:
        """Published pages carrying a tag; 404 when there are none."""
        tag = request.params["tag"]
        html, total = self.site.tag(tag, request.arg("page"))
        if total == 0:
            raise NotFound(f"no published pages are tagged {tag!r}")
        return html_response(html)

    def search(self, request: Request) -> Response:
        """The search page."""
        return html_response(self.site.search(request.arg("q", "") or "", request.arg("page")))

    def media(self, request: Request) -> Response:
        """An uploaded file, cacheable by its content hash."""
        media = self.cms.media.get(request.params["filename"])
        etag = f'"{media.sha256}"'
        if _etag_matches(request, etag):
            return Response(304, b"", [("ETag", etag)])
        data = self.cms.media.read(media)
        return Response(200, data, [
            ("Content-Type", media.content_type),
            ("ETag", etag),
            ("Cache-Control", "public, max-age=86400"),
            ("Content-Disposition", f'inline; filename="{media.filename}"'),
        ])

    def sitemap(self, request: Request) -> Response:
        """sitemap.xml."""
        return text_response(self.site.sitemap(), content_type="application/xml")

    def health(self, request: Request) -> Response:
        """Liveness check that also touches the database and index."""
        try:
            stats = self.cms.stats()
        except Exception as exc:
            raise HTTPError(503, f"unhealthy: {exc}") from None
        return text_response(f"ok pages={stats.pages} indexed={stats.indexed}\n")
