"""The admin HTML form over HTTP: sign-in, validation errors, saving, state changes."""

from __future__ import annotations

import re

import pytest

from webbly.models import PublishState
from webbly.workflow import Action

VALID = {"title": "Admin Page", "slug": "", "tags": "news, admin-made",
         "body": "# Heading\n\nBody text.", "message": ""}


def create(live, user: str = "author", **changes: str) -> str:
    response = live.client(user).post("/admin/pages/new", form={**VALID, **changes})
    assert response.status == 303, response.text
    return response.headers["Location"].split("/")[3]


def test_admin_needs_credentials(live) -> None:
    response = live.client().get("/admin/")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Webbly"'


def test_wrong_password(live) -> None:
    assert live.client("author", "not-the-password").get("/admin/").status == 401


def test_viewers_are_forbidden(live) -> None:
    response = live.client("viewer").get("/admin/")
    assert response.status == 403
    assert "viewers may not create page" in response.text


@pytest.mark.parametrize("user", ["author", "editor", "admin"])
def test_admin_list_for_writers(live, user: str) -> None:
    response = live.client(user).get("/admin/")
    assert response.status == 200
    assert f'<span class="user">{user} ({user})</span>' in response.text
    assert "0 pages" in response.text


def test_new_page_form(live) -> None:
    html = live.client("author").get("/admin/pages/new").text
    for field in ("title", "slug", "tags", "message"):
        assert f'name="{field}"' in html
    assert '<textarea name="body"' in html
    assert 'action="/admin/pages/new"' in html


def test_create_redirects_to_edit_with_notice(live) -> None:
    client = live.client("author")
    response = client.post("/admin/pages/new", form=VALID)
    assert response.status == 303
    assert response.headers["Location"] == "/admin/pages/admin-page/edit?notice=created"
    edit = client.get(response.headers["Location"])
    assert '<p class="notice">Page created.</p>' in edit.text
    assert 'value="Admin Page"' in edit.text
    assert 'name="tags" value="news, admin-made"' in edit.text
    assert live.cms.pages.repo.by_slug("admin-page").state is PublishState.DRAFT


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        ({"title": ""}, ["title: is required"]),
        ({"body": "   "}, ["body: is required"]),
        ({"title": "", "body": ""}, ["body: is required", "title: is required"]),
        ({"slug": "Not A Slug"}, ["slug: may contain only lowercase letters"]),
        ({"slug": "admin"}, ["slug: &#39;admin&#39; is reserved"]),
        ({"title": "x" * 201}, ["title: must be at most 200 characters"]),
        ({"tags": ",".join(f"t{n}" for n in range(13))}, ["tags: at most 12 tags"]),
        ({"message": "m" * 501}, ["message: must be at most 500 characters"]),
    ],
)
def test_validation_errors_are_shown_with_the_entered_values(live, changes: dict[str, str],
                                                             messages: list[str]) -> None:
    form = {**VALID, "body": "<kept & escaped>", **changes}
    response = live.client("author").post("/admin/pages/new", form=form)
    assert response.status == 422
    assert "Please correct the errors below." in response.text
    shown = re.findall(r'<li data-field="\w+">([^<]+)</li>', response.text)
    assert len(shown) == len(messages)
    for message, line in zip(messages, shown, strict=True):
        assert line.startswith(message)
    if "body" not in changes:
        assert "&lt;kept &amp; escaped&gt;</textarea>" in response.text
    assert live.cms.pages.count() == 0


def test_taken_slug_is_409(live) -> None:
    create(live, slug="taken")
    response = live.client("author").post("/admin/pages/new", form={**VALID, "slug": "taken"})
    assert response.status == 409
    assert "slug &#39;taken&#39; is taken" in response.text


def test_form_must_be_urlencoded(live) -> None:
    response = live.client("author").post("/admin/pages/new", json_body=VALID)
    assert response.status == 415


def test_edit_saves_a_new_revision(live) -> None:
    slug = create(live)
    client = live.client("author")
    form = {**VALID, "body": "# Heading\n\nChanged.", "message": "fix typo"}
    response = client.post(f"/admin/pages/{slug}/edit", form=form)
    assert response.headers["Location"] == f"/admin/pages/{slug}/edit?notice=saved"
    page = client.get(response.headers["Location"]).text
    assert "Saved a new revision." in page
    assert "revision 2" in page
    assert "fix typo" in page


def test_edit_without_changes(live) -> None:
    slug = create(live)
    response = live.client("author").post(f"/admin/pages/{slug}/edit", form=VALID)
    assert response.headers["Location"].endswith("notice=unchanged")
    assert live.cms.pages.repo.by_slug(slug).revision == 1


def test_edit_validation_error(live) -> None:
    slug = create(live)
    response = live.client("author").post(f"/admin/pages/{slug}/edit",
                                          form={**VALID, "title": ""})
    assert response.status == 422
    assert "title: is required" in response.text
    assert f'action="/admin/pages/{slug}/edit"' in response.text


def test_authors_cannot_edit_other_authors_pages(live) -> None:
    slug = create(live, user="editor")
    response = live.client("author").post(f"/admin/pages/{slug}/edit",
                                          form={**VALID, "title": "Hijack"})
    assert response.status == 403
    assert live.cms.pages.repo.by_slug(slug).title == "Admin Page"


def test_editor_publishes_and_page_goes_public(live) -> None:
    slug = create(live)
    assert live.client().get(f"/pages/{slug}").status == 404
    response = live.client("editor").post(f"/admin/pages/{slug}/state",
                                          form={"action": "publish"})
    assert response.headers["Location"] == f"/admin/pages/{slug}/edit?notice=publish"
    public = live.client().get(f"/pages/{slug}")
    assert public.status == 200
    assert '<h1 id="heading">Heading</h1>' in public.text


@pytest.mark.parametrize(
    ("user", "action", "status"),
    [("author", "publish", 403), ("editor", "unpublish", 409), ("editor", "restore", 409),
     ("editor", "explode", 422), ("editor", "archive", 303), ("admin", "publish", 303)],
)
def test_state_changes(live, user: str, action: str, status: int) -> None:
    slug = create(live)
    response = live.client(user).post(f"/admin/pages/{slug}/state", form={"action": action})
    assert response.status == status


def test_edit_page_offers_actions_for_the_current_state(live) -> None:
    slug = create(live)
    live.cms.pages.transition(live.cms.users.get("editor"), slug, Action.PUBLISH)
    html = live.client("editor").get(f"/admin/pages/{slug}/edit").text
    assert '<span class="state">published</span>' in html
    assert re.findall(r'name="action" value="(\w+)"', html) == ["unpublish", "archive"]


def test_delete(live) -> None:
    slug = create(live)
    response = live.client("editor").post(f"/admin/pages/{slug}/delete", form={})
    assert response.headers["Location"] == "/admin/?notice=deleted"
    assert "Page deleted." in live.client("editor").get(response.headers["Location"]).text
    assert live.client("editor").get(f"/admin/pages/{slug}/edit").status == 404


def test_authors_cannot_delete(live) -> None:
    slug = create(live)
    assert live.client("author").post(f"/admin/pages/{slug}/delete", form={}).status == 403


@pytest.mark.parametrize(("state", "count"), [("all", 3), ("draft", 2), ("published", 1),
                                              ("archived", 0)])
def test_list_filters_by_state(live, state: str, count: int) -> None:
    slugs = [create(live, title=f"Page {n}") for n in range(3)]
    live.cms.pages.transition(live.cms.users.get("editor"), slugs[0], Action.PUBLISH)
    html = live.client("author").get(f"/admin/?state={state}").text
    assert len(re.findall(r"<tr data-slug=", html)) == count


def test_unknown_state_filter_is_400(live) -> None:
    assert live.client("author").get("/admin/?state=bogus").status == 400


def test_missing_page_edit_is_404(live) -> None:
    assert live.client("author").get("/admin/pages/nothing/edit").status == 404
