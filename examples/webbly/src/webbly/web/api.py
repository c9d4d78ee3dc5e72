"""The JSON API under ``/api``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from webbly import __version__
from webbly.cms import CMS
from webbly.db.pages import ORDERS
from webbly.errors import ValidationFailed
from webbly.forms import validate_action
from webbly.models import Page, PublishState
from webbly.permissions import Permission, can
from webbly.web.auth import challenge, require_user
from webbly.web.request import Request
from webbly.web.response import HTTPError, Response, empty, json_response
from webbly.web.router import Router

MAX_PER_PAGE = 100


def _int_arg(request: Request, name: str, default: int, *, low: int = 1,
             high: int | None = None) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPError(400, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise HTTPError(400, f"{name} must be {limit}")
    return value


class ApiViews:
    """JSON handlers; writes need Basic credentials."""

    def __init__(self, cms: CMS) -> None:
        self.cms = cms

    def register(self, router: Router) -> None:
        """Add this group's routes to ``router``."""
        add = router.add
        add("/api", self.root, name="api_root")
        add("/api/pages", self.list_pages, name="api_pages")
        add("/api/pages", self.create_page, methods=("POST",), name="api_create")
        add("/api/pages/<slug>", self.get_page, name="api_page")
        add("/api/pages/<slug>", self.update_page, methods=("PATCH",), name="api_update")
        add("/api/pages/<slug>", self.delete_page, methods=("DELETE",), name="api_delete")
        add("/api/pages/<slug>/state", self.change_state, methods=("POST",), name="api_state")
        add("/api/pages/<slug>/revisions", self.revisions, name="api_revisions")
        add("/api/pages/<slug>/revisions/<int:number>", self.revision, name="api_revision")
        add("/api/pages/<slug>/diff", self.diff, name="api_diff")
        add("/api/pages/<slug>/revert", self.revert, methods=("POST",), name="api_revert")
        add("/api/search", self.search, name="api_search")
        add("/api/tags", self.tags, name="api_tags")
        add("/api/stats", self.stats, name="api_stats")
        add("/api/media", self.list_media, name="api_media")
        add("/api/media/<filename>", self.upload_media, methods=("PUT",), name="api_upload")
        add("/api/media/<filename>", self.delete_media, methods=("DELETE",),
            name="api_media_delete")
        add("/api/users", self.list_users, name="api_users")
        add("/api/users", self.create_user, methods=("POST",), name="api_user_create")
        add("/api/users/me", self.me, name="api_me")

    def _page_json(self, page: Page) -> dict[str, Any]:
        data = page.to_dict()
        data["html"] = self.cms.pages.render(page).html
        return data

    def root(self, request: Request) -> Response:
        """Name, version and a few entry points."""
        return json_response({"name": "webbly", "version": __version__,
                              "pages": "/api/pages", "search": "/api/search",
                              "tags": "/api/tags"})

    def list_pages(self, request: Request) -> Response:
        """Pages, filterable by ``state``, ``tag``; paginated by ``page`` and ``per_page``."""
        state_arg = request.arg("state", "published") or "published"
        if state_arg == "all":
            states = tuple(PublishState)
        else:
            try:
                states = (PublishState(state_arg),)
            except ValueError:
                raise HTTPError(400, f"unknown state {state_arg!r}") from None
        if states != (PublishState.PUBLISHED,) and not can(request.user, Permission.VIEW_DRAFTS):
            if request.user is None:
                raise challenge("sign in to list unpublished pages")
            raise HTTPError(403, "you may not list unpublished pages")
        order = request.arg("order", "updated") or "updated"
        if order not in ORDERS:
            raise HTTPError(400, f"order must be one of {', '.join(ORDERS)}")
        per_page = _int_arg(request, "per_page", 20, high=MAX_PER_PAGE)
        listing = self.cms.pages.listing(states=states, tag=request.arg("tag"),
                                      page=_int_arg(request, "page", 1), per_page=per_page,
                                      order=order)
        pagination = listing.pagination
        return json_response({
            "pages": [page.to_dict(include_body=False) for page in listing.pages],
            "page": pagination.page,
            "per_page": pagination.per_page,
            "total": pagination.total,
            "page_count": pagination.pages,
        })

    def create_page(self, request: Request) -> Response:
        """Create a draft; 201 with its location."""
        user = require_user(request, Permission.CREATE_PAGE)
        page = self.cms.pages.create(user, request.json_object())
        response = json_response(self._page_json(page), 201)
        response.set_header("Location", f"/api/pages/{quote(page.slug)}")
        return response

    def get_page(self, request: Request) -> Response:
        """One page with its Markdown and rendered HTML."""
        page = self.cms.pages.get(request.params["slug"], viewer=request.user)
        return json_response(self._page_json(page))

    def update_page(self, request: Request) -> Response:
        """Change some of title, body and tags; the rest keep their values."""
        user = require_user(request, Permission.EDIT_PAGE)
        page = self.cms.pages.get(request.params["slug"], viewer=user)
        changes = request.json_object()
        unknown = set(changes) - {"title", "body", "tags", "message"}
        if unknown:
            raise ValidationFailed({name: "cannot be changed" for name in sorted(unknown)})
        merged: dict[str, Any] = {"title": page.title, "body": page.body,
                                  "tags": list(page.tags), **changes}
        updated = self.cms.pages.update(user, page.slug, merged)
        return json_response(self._page_json(updated))

    def delete_page(self, request: Request) -> Response:
        """Delete a page."""
        user = require_user(request, Permission.DELETE_PAGE)
        self.cms.pages.delete(user, request.params["slug"])
        return empty()

    def change_state(self, request: Request) -> Response:
        """Apply ``{"action": "publish" | "unpublish" | "archive" | "restore"}``."""
        user = require_user(request)
        action = validate_action(request.json_object().get("action"))
        page = self.cms.pages.transition(user, request.params["slug"], action)
        return json_response(self._page_json(page))

    def revisions(self, request: Request) -> Response:
        """Every revision, oldest first."""
        revisions = self.cms.pages.revisions(request.params["slug"], viewer=request.user)
        return json_response({"revisions": [revision.to_dict() for revision in revisions]})

    def revision(self, request: Request) -> Response:
        """One revision."""
        revision = self.cms.pages.revision(request.params["slug"], request.params["number"],
                                           viewer=request.user)
        return json_response(revision.to_dict())

    def diff(self, request: Request) -> Response:
        """Unified diff between ``from`` and ``to`` revisions (default: the last two)."""
        page = self.cms.pages.get(request.params["slug"], viewer=request.user)
        new = _int_arg(request, "to", page.revision)
        old = _int_arg(request, "from", max(1, new - 1))
        diff = self.cms.pages.diff(page.slug, old, new, viewer=request.user)
        return json_response({"from": diff.old_number, "to": diff.new_number,
                              "added": diff.added, "removed": diff.removed,
                              "diff": list(diff.lines)})

    def revert(self, request: Request) -> Response:
        """Save a new revision equal to ``{"revision": n}``."""
        user = require_user(request, Permission.EDIT_PAGE)
        number = request.json_object().get("revision")
        if not isinstance(number, int) or isinstance(number, bool):
            raise ValidationFailed({"revision": "must be an integer"})
        page = self.cms.pages.revert(user, request.params["slug"], number)
        return json_response(self._page_json(page))

    def search(self, request: Request) -> Response:
        """Full-text search of published pages."""
        query = (request.arg("q", "") or "").strip()
        if not query:
            raise ValidationFailed({"q": "is required"})
        per_page = _int_arg(request, "per_page", 10, high=MAX_PER_PAGE)
        results, pagination = self.cms.pages.search(query, page=_int_arg(request, "page", 1),
                                                    per_page=per_page)
        return json_response({"query": query, "total": results.total,
                              "page": pagination.page, "page_count": pagination.pages,
                              "hits": [hit.to_dict() for hit in results.hits]})

    def tags(self, request: Request) -> Response:
        """Tags of published pages with counts."""
        return json_response({"tags": [{"name": tag.name, "count": tag.count}
                                       for tag in self.cms.pages.tag_counts()]})

    def stats(self, request: Request) -> Response:
        """Counts of pages, revisions, users, media and indexed documents."""
        require_user(request)
        return json_response(self.cms.stats().to_dict())

    def list_media(self, request: Request) -> Response:
        """Uploaded files."""
        require_user(request, Permission.UPLOAD_MEDIA)
        return json_response({"media": [media.to_dict() for media in self.cms.media.recent()]})

    def upload_media(self, request: Request) -> Response:
        """Store the request body as a file; 201 with its public URL."""
        user = require_user(request, Permission.UPLOAD_MEDIA)
        media = self.cms.media.upload(user, request.params["filename"], request.body())
        response = json_response(media.to_dict(), 201)
        response.set_header("Location", media.url)
        return response

    def delete_media(self, request: Request) -> Response:
        """Delete a file."""
        user = require_user(request, Permission.DELETE_MEDIA)
        self.cms.media.delete(user, request.params["filename"])
        return empty()

    def list_users(self, request: Request) -> Response:
        """Every user (admins only)."""
        require_user(request, Permission.MANAGE_USERS)
        return json_response({"users": [user.to_dict() for user in self.cms.users.all_users()]})

    def create_user(self, request: Request) -> Response:
        """Create a user (admins only)."""
        admin = require_user(request, Permission.MANAGE_USERS)
        user = self.cms.users.add_user(admin, request.json_object())
        return json_response(user.to_dict(), 201)

    def me(self, request: Request) -> Response:
        """The signed-in user."""
        return json_response(require_user(request).to_dict())
