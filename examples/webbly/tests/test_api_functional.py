"""The JSON API over HTTP: reads against the seeded site, writes against a fresh one."""

from __future__ import annotations

import pytest

from webbly import __version__
from webbly.cms import CMS
from webbly.models import PublishState

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def api(seeded_server):
    return seeded_server.client()


# Reading ----------------------------------------------------------------------


def test_root(api) -> None:
    response = api.get("/api")
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"name": "webbly", "version": __version__, "pages": "/api/pages",
                               "search": "/api/search", "tags": "/api/tags"}


def test_page_listing_defaults(api, seeded_readonly: CMS) -> None:
    data = api.get("/api/pages").json()
    assert data["total"] == seeded_readonly.pages.count(PublishState.PUBLISHED)
    assert (data["page"], data["per_page"]) == (1, 20)
    assert data["page_count"] == -(-data["total"] // 20)
    assert len(data["pages"]) == 20
    assert all(page["state"] == "published" for page in data["pages"])
    assert all("body" not in page for page in data["pages"])


@pytest.mark.parametrize("order", ["updated", "created", "published", "title", "slug"])
def test_orders(api, seeded_readonly: CMS, order: str) -> None:
    data = api.get(f"/api/pages?order={order}&per_page=15").json()
    expected = seeded_readonly.pages.listing(order=order, per_page=15).pages
    assert [p["slug"] for p in data["pages"]] == [p.slug for p in expected]


@pytest.mark.parametrize("per_page", [1, 7, 50, 100])
def test_per_page(api, per_page: int) -> None:
    assert len(api.get(f"/api/pages?per_page={per_page}").json()["pages"]) == per_page


def test_walking_all_pages_of_the_listing(api, seeded_readonly: CMS) -> None:
    seen: list[str] = []
    number = 1
    while True:
        data = api.get(f"/api/pages?per_page=50&page={number}&order=slug").json()
        seen.extend(page["slug"] for page in data["pages"])
        if number >= data["page_count"]:
            break
        number += 1
    assert seen == sorted(p.slug for p in seeded_readonly.pages.all_published())


@pytest.mark.parametrize(
    ("query", "message"),
    [("per_page=0", "per_page must be between 1 and 100"),
     ("per_page=101", "per_page must be between 1 and 100"),
     ("page=abc", "page must be an integer"), ("page=0", "page must be at least 1"),
     ("order=random", "order must be one of"), ("state=live", "unknown state 'live'")],
)
def test_bad_listing_parameters(api, query: str, message: str) -> None:
    response = api.get(f"/api/pages?{query}")
    assert response.status == 400
    assert response.json()["error"].startswith(message)


@pytest.mark.parametrize(("user", "status"), [(None, 401), ("viewer", 403), ("author", 200)])
def test_listing_drafts_needs_author(seeded_server, user: str | None, status: int) -> None:
    response = seeded_server.client(user).get("/api/pages?state=draft")
    assert response.status == status


def test_listing_everything_as_editor(seeded_server, seeded_readonly: CMS) -> None:
    data = seeded_server.client("editor").get("/api/pages?state=all&per_page=1").json()
    assert data["total"] == seeded_readonly.pages.count()


@pytest.mark.parametrize("tag", ["gardening", "programming", "history"])
def test_tag_filter(api, seeded_readonly: CMS, tag: str) -> None:
    data = api.get(f"/api/pages?tag={tag}&per_page=100").json()
    assert data["total"] == seeded_readonly.pages.listing(tag=tag).pagination.total
    assert all(tag in page["tags"] for page in data["pages"])


def test_single_page_has_body_and_html(api, seeded_site, seeded_readonly: CMS) -> None:
    slug = seeded_site.report.slugs_in(PublishState.PUBLISHED)[3]
    data = api.get(f"/api/pages/{slug}").json()
    page = seeded_readonly.pages.get(slug)
    assert data["body"] == page.body
    assert data["html"] == seeded_readonly.pages.render(page).html
    assert data["url"] == f"/pages/{slug}"


def test_draft_page_is_404_for_anonymous_but_visible_to_authors(seeded_server,
                                                                 seeded_site) -> None:
    slug = seeded_site.report.slugs_in(PublishState.DRAFT)[0]
    assert seeded_server.client().get(f"/api/pages/{slug}").status == 404
    assert seeded_server.client("author").get(f"/api/pages/{slug}").json()["state"] == "draft"


def test_revisions_and_diff(api, seeded_site, seeded_readonly: CMS) -> None:
    slug = next(s for s in seeded_site.report.slugs_in(PublishState.PUBLISHED)
                if seeded_readonly.pages.get(s).revision >= 2)
    revisions = api.get(f"/api/pages/{slug}/revisions").json()["revisions"]
    assert [r["number"] for r in revisions] == list(range(1, len(revisions) + 1))
    second = api.get(f"/api/pages/{slug}/revisions/2").json()
    assert second == revisions[1]
    diff = api.get(f"/api/pages/{slug}/diff?from=1&to=2").json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert diff["added"] >= 1
    assert diff["diff"][0] == "--- revision 1"
    assert api.get(f"/api/pages/{slug}/revisions/99").status == 404


def test_search(api, seeded_readonly: CMS) -> None:
    data = api.get("/api/search?q=garden+soil&per_page=5").json()
    expected = seeded_readonly.index.search("garden soil", limit=5)
    assert data["total"] == expected.total
    assert [hit["slug"] for hit in data["hits"]] == [hit.slug for hit in expected.hits]
    assert all("<mark>" in hit["snippet"] for hit in data["hits"])


def test_search_needs_a_query(api) -> None:
    response = api.get("/api/search?q=+")
    assert response.status == 422
    assert response.json()["errors"] == {"q": "is required"}


def test_tags(api, seeded_readonly: CMS) -> None:
    tags = api.get("/api/tags").json()["tags"]
    assert tags == [{"name": t.name, "count": t.count} for t in seeded_readonly.pages.tag_counts()]


@pytest.mark.parametrize(("user", "status"), [(None, 401), ("viewer", 200)])
def test_stats_need_sign_in(seeded_server, user: str | None, status: int) -> None:
    assert seeded_server.client(user).get("/api/stats").status == status


def test_me(seeded_server) -> None:
    assert seeded_server.client("editor").get("/api/users/me").json()["role"] == "editor"
    assert seeded_server.client().get("/api/users/me").status == 401


@pytest.mark.parametrize(("user", "status"), [("admin", 200), ("editor", 403), (None, 401)])
def test_user_list_is_for_admins(seeded_server, user: str | None, status: int) -> None:
    response = seeded_server.client(user).get("/api/users")
    assert response.status == status
    if status == 200:
        assert [u["username"] for u in response.json()["users"]] == [
            "admin", "editor", "author", "viewer"]
        assert "password_hash" not in response.text


# Writing ----------------------------------------------------------------------


def new_page(live, user: str = "author", **fields: object):
    body = {"title": "API Page", "body": "Written *via* the API.", "tags": ["api"], **fields}
    return live.client(user).post("/api/pages", json_body=body)


def test_create(live) -> None:
    response = new_page(live)
    assert response.status == 201
    assert response.headers["Location"] == "/api/pages/api-page"
    data = response.json()
    assert (data["slug"], data["state"], data["revision"]) == ("api-page", "draft", 1)
    assert data["html"] == "<p>Written <em>via</em> the API.</p>"
    assert live.client("author").get("/api/pages/api-page").json()["tags"] == ["api"]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [(b"{not json", "application/json", 400), (b"[1, 2]", "application/json", 400),
     (b'{"title": "x"}', "text/plain", 415), (b"", "application/json", 400)],
)
def test_create_with_bad_bodies(live, data: bytes, content_type: str, status: int) -> None:
    response = live.client("author").post("/api/pages", data=data,
                                          headers={"Content-Type": content_type})
    assert response.status == status
    assert response.json()["status"] == status


def test_create_validation_and_conflict(live) -> None:
    invalid = new_page(live, title="", tags=[f"t{n}" for n in range(20)])
    assert invalid.status == 422
    assert set(invalid.json()["errors"]) == {"title", "tags"}
    assert new_page(live, slug="same").status == 201
    conflict = new_page(live, slug="same")
    assert conflict.status == 409
    assert conflict.json()["error"] == "slug 'same' is taken"


@pytest.mark.parametrize(("user", "status"), [(None, 401), ("viewer", 403)])
def test_create_needs_author(live, user: str | None, status: int) -> None:
    assert new_page(live, user=user).status == status


def test_patch_changes_only_given_fields(live) -> None:
    new_page(live)
    response = live.client("author").request("PATCH", "/api/pages/api-page",
                                             json_body={"body": "New body."})
    data = response.json()
    assert (data["title"], data["body"], data["tags"], data["revision"]) == (
        "API Page", "New body.", ["api"], 2)


def test_patch_rejects_unknown_fields(live) -> None:
    new_page(live)
    response = live.client("author").request("PATCH", "/api/pages/api-page",
                                             json_body={"slug": "renamed", "state": "x"})
    assert response.status == 422
    assert response.json()["errors"] == {"slug": "cannot be changed",
                                         "state": "cannot be changed"}


@pytest.mark.parametrize(
    ("actions", "final_status", "final_state"),
    [(["publish"], 200, "published"), (["publish", "archive", "restore"], 200, "draft"),
     (["unpublish"], 409, "draft"), (["vanish"], 422, "draft")],
)
def test_state_actions(live, actions: list[str], final_status: int, final_state: str) -> None:
    new_page(live)
    editor = live.client("editor")
    for action in actions:
        response = editor.post("/api/pages/api-page/state", json_body={"action": action})
    assert response.status == final_status
    assert editor.get("/api/pages/api-page").json()["state"] == final_state


def test_publishing_makes_the_page_searchable(live) -> None:
    new_page(live, body="Mangosteen season is short.")
    anonymous = live.client()
    assert anonymous.get("/api/search?q=mangosteen").json()["total"] == 0
    live.client("editor").post("/api/pages/api-page/state", json_body={"action": "publish"})
    hits = anonymous.get("/api/search?q=mangosteen").json()["hits"]
    assert [hit["slug"] for hit in hits] == ["api-page"]


def test_revert(live) -> None:
    new_page(live)
    author = live.client("author")
    author.request("PATCH", "/api/pages/api-page", json_body={"title": "Renamed"})
    reverted = author.post("/api/pages/api-page/revert", json_body={"revision": 1}).json()
    assert (reverted["title"], reverted["revision"]) == ("API Page", 3)
    bad = author.post("/api/pages/api-page/revert", json_body={"revision": "one"})
    assert bad.status == 422


def test_delete(live) -> None:
    new_page(live)
    assert live.client("author").request("DELETE", "/api/pages/api-page").status == 403
    response = live.client("editor").request("DELETE", "/api/pages/api-page")
    assert (response.status, response.body) == (204, b"")
    assert live.client("editor").get("/api/pages/api-page").status == 404


def test_upload_and_serve_media(live) -> None:
    response = live.client("author").request("PUT", "/api/media/Pixel.PNG", data=PNG,
                                             headers={"Content-Type": "image/png"})
    assert response.status == 201
    assert response.headers["Location"] == "/media/Pixel.png"
    assert response.json()["size"] == len(PNG)
    served = live.client().get("/media/Pixel.png")
    assert (served.body, served.headers["Content-Type"]) == (PNG, "image/png")
    listed = live.client("author").get("/api/media").json()["media"]
    assert [m["filename"] for m in listed] == ["Pixel.png"]


@pytest.mark.parametrize(("name", "data", "field"), [
    ("virus.exe", b"MZ", "not accepted"), ("fake.png", b"not a png", "does not look like"),
    ("empty.txt", b"", "is empty")])
def test_rejected_uploads(live, name: str, data: bytes, field: str) -> None:
    response = live.client("author").request("PUT", f"/api/media/{name}", data=data)
    assert response.status == 422
    assert field in response.json()["errors"]["file"]


def test_delete_media(live) -> None:
    live.client("author").request("PUT", "/api/media/a.txt", data=b"text")
    assert live.client("author").request("DELETE", "/api/media/a.txt").status == 403
    assert live.client("editor").request("DELETE", "/api/media/a.txt").status == 204
    assert live.client().get("/media/a.txt").status == 404


def test_admin_creates_users_who_can_then_sign_in(live) -> None:
    admin = live.client("admin")
    response = admin.post("/api/users", json_body={"username": "newcomer",
                                                   "email": "new@example.org",
                                                   "password": "brand-new-pass",
                                                   "role": "author"})
    assert response.status == 201
    me = live.client("newcomer", "brand-new-pass").get("/api/users/me").json()
    assert (me["username"], me["role"]) == ("newcomer", "author")
    assert admin.post("/api/users", json_body={"username": "x"}).status == 422
    assert live.client("editor").post("/api/users", json_body={}).status == 403
