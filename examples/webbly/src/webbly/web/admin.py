"""The admin: a page list and an HTML form to create and edit pages (POSTed form fields)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from webbly.cms import CMS
from webbly.errors import InvalidTransition, ValidationFailed
from webbly.forms import validate_action
from webbly.models import Page, PublishState, User
from webbly.permissions import Permission
from webbly.templating import Templates
from webbly.web.auth import require_user
from webbly.web.request import Request
from webbly.web.response import HTTPError, Response, html_response, redirect
from webbly.web.router import Router
from webbly.workflow import allowed_actions

NOTICES = {
    "created": "Page created.",
    "saved": "Saved a new revision.",
    "unchanged": "Nothing changed.",
    "publish": "Page published.",
    "unpublish": "Page unpublished.",
    "archive": "Page archived.",
    "restore": "Page restored to draft.",
    "deleted": "Page deleted.",
}
_STATE_FILTERS = {
    "all": tuple(PublishState),
    "draft": (PublishState.DRAFT,),
    "published": (PublishState.PUBLISHED,),
    "archived": (PublishState.ARCHIVED,),
}


class AdminViews:
    """Handlers under ``/admin``; every one needs a signed-in author or above."""

    def __init__(self, cms: CMS, templates: Templates) -> None:
        self.cms = cms
        self.templates = templates

    def register(self, router: Router) -> None:
        """Add this group's routes to ``router``."""
        router.add("/admin", self.list_pages, name="admin_list")
        router.add("/admin/pages/new", self.new_page, methods=("GET", "POST"), name="admin_new")
        router.add("/admin/pages/<slug>/edit", self.edit_page, methods=("GET", "POST"),
                   name="admin_edit")
        router.add("/admin/pages/<slug>/state", self.change_state, methods=("POST",),
                   name="admin_state")
        router.add("/admin/pages/<slug>/delete", self.delete_page, methods=("POST",),
                   name="admin_delete")

    def _user(self, request: Request) -> User:
        return require_user(request, Permission.CREATE_PAGE)

    def _notice(self, request: Request) -> str | None:
        return NOTICES.get(request.arg("notice") or "")

    def _form(self, request: Request, user: User, *, page: Page | None,
              values: Mapping[str, str], errors: Mapping[str, str], status: int) -> Response:
        action = f"/admin/pages/{page.slug}/edit" if page else "/admin/pages/new"
        html = self.templates.render(
            "admin/edit.html", user=user, page=page, values=values, errors=errors,
            action=action, notice=self._notice(request),
            actions=allowed_actions(page.state) if page else [],
            revisions=self.cms.pages.revisions(page.slug, viewer=user) if page else [],
        )
        return html_response(html, status)

    def list_pages(self, request: Request) -> Response:
        """All pages, filterable by state."""
        user = self._user(request)
        state = request.arg("state", "all") or "all"
        if state not in _STATE_FILTERS:
            raise HTTPError(400, f"unknown state filter {state!r}")
        listing = self.cms.pages.listing(states=_STATE_FILTERS[state], page=request.arg("page"),
                                      per_page=50, order="updated")
        html = self.templates.render("admin/list.html", user=user, pages=listing.pages,
                                     pagination=listing.pagination, state=state,
                                     notice=self._notice(request))
        return html_response(html)

    def new_page(self, request: Request) -> Response:
        """Empty form (GET) or create from the submitted fields (POST)."""
        user = self._user(request)
        if request.method != "POST":
            empty = {"title": "", "slug": "", "tags": "", "body": "", "message": ""}
            return self._form(request, user, page=None, values=empty, errors={}, status=200)
        values = request.form()
        try:
            page = self.cms.pages.create(user, values)
        except ValidationFailed as exc:
            return self._form(request, user, page=None, values=_values(values),
                              errors=exc.errors, status=422)
        return redirect(f"/admin/pages/{quote(page.slug)}/edit?notice=created")

    def edit_page(self, request: Request) -> Response:
        """Filled-in form (GET) or save a new revision (POST)."""
        user = self._user(request)
        page = self.cms.pages.get(request.params["slug"], viewer=user)
        if request.method != "POST":
            values = {"title": page.title, "slug": page.slug, "tags": ", ".join(page.tags),
                      "body": page.body, "message": ""}
            return self._form(request, user, page=page, values=values, errors={}, status=200)
        values = request.form()
        try:
            updated = self.cms.pages.update(user, page.slug, values)
        except ValidationFailed as exc:
            return self._form(request, user, page=page, values=_values(values),
                              errors=exc.errors, status=422)
        notice = "saved" if updated != page else "unchanged"
        return redirect(f"/admin/pages/{quote(page.slug)}/edit?notice={notice}")

    def change_state(self, request: Request) -> Response:
        """Publish, unpublish, archive or restore from a button."""
        user = self._user(request)
        action = validate_action(request.form().get("action", ""))
        slug = request.params["slug"]
        try:
            self.cms.pages.transition(user, slug, action)
        except InvalidTransition as exc:
            raise HTTPError(409, str(exc)) from None
        return redirect(f"/admin/pages/{quote(slug)}/edit?notice={action.value}")

    def delete_page(self, request: Request) -> Response:
        """Delete a page for good."""
        user = self._user(request)
        self.cms.pages.delete(user, request.params["slug"])
        return redirect("/admin/?notice=deleted")


def _values(form: Mapping[str, str]) -> dict[str, str]:
    return {key: form.get(key, "") for key in ("title", "slug", "tags", "body", "message")}
