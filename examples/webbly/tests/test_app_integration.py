"""The WSGI application called in-process (no server), checked by wsgiref's validator."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from webbly.cms import CMS
from webbly.models import User
from webbly.web.app import WebblyApp, create_app
from webbly.web.request import Request
from webbly.workflow import Action

PASSWORD = "webbly-demo-password"


def call(app: Any, method: str = "GET", path: str = "/", *, body: bytes = b"",
         content_type: str = "", user: str | None = None,
         query: str = "") -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
                               "QUERY_STRING": query, "wsgi.input": io.BytesIO(body),
                               "CONTENT_LENGTH": str(len(body))}
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    if user:
        token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
        environ["HTTP_AUTHORIZATION"] = f"Basic {token}"
    setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, dict(headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], data


@pytest.fixture
def app(cms: CMS, users: dict[str, User]) -> WebblyApp:
    editor = users["editor"]
    page = cms.pages.create(editor, {"title": "Hello App", "body": "# Hi\n\ntext",
                                     "tags": "demo"})
    cms.pages.transition(editor, page.slug, Action.PUBLISH)
    return create_app(cms)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", "200 OK"),
        ("GET", "/pages/hello-app", "200 OK"),
        ("HEAD", "/pages/hello-app", "200 OK"),
        ("GET", "/tags/demo", "200 OK"),
        ("GET", "/search", "200 OK"),
        ("GET", "/sitemap.xml", "200 OK"),
        ("GET", "/healthz", "200 OK"),
        ("GET", "/api", "200 OK"),
        ("GET", "/api/pages", "200 OK"),
        ("GET", "/pages/missing", "404 Not Found"),
        ("DELETE", "/", "405 Method Not Allowed"),
        ("GET", "/admin", "401 Unauthorized"),
    ],
)
def test_responses_satisfy_the_wsgi_validator(app: WebblyApp, method: str, path: str,
                                              status: str) -> None:
    got, headers, body = call(validator(app), method, path)
    assert got == status
    if method == "HEAD":
        assert body == b""
        assert int(headers["Content-Length"]) > 0
    else:
        assert int(headers["Content-Length"]) == len(body)


def test_head_has_headers_but_no_body(app: WebblyApp) -> None:
    _, get_headers, get_body = call(app, "GET", "/pages/hello-app")
    _, head_headers, head_body = call(app, "HEAD", "/pages/hello-app")
    assert head_body == b""
    assert head_headers["Content-Length"] == get_headers["Content-Length"] == str(len(get_body))


def test_html_gets_security_headers_json_does_not(app: WebblyApp) -> None:
    _, html_headers, _ = call(app, "GET", "/")
    _, json_headers, _ = call(app, "GET", "/api")
    assert html_headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in html_headers["Content-Security-Policy"]
    assert "Content-Security-Policy" not in json_headers


def test_unexpected_errors_become_500_and_are_logged(app: WebblyApp,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Request) -> Any:
        raise ZeroDivisionError("bug")

    app.router.add("/broken", broken)
    app.router.add("/api/broken", broken, name="api_broken")
    with caplog.at_level(logging.ERROR, logger="webbly.web"):
        status, _, body = call(app, "GET", "/broken")
        api_status, _, api_body = call(app, "GET", "/api/broken")
    assert status == api_status == "500 Internal Server Error"
    assert b"internal error" in body
    assert json.loads(api_body) == {"error": "internal error", "status": 500}
    assert "ZeroDivisionError" not in body.decode()
    assert [r.getMessage() for r in caplog.records] == ["unhandled error for GET /broken",
                                                        "unhandled error for GET /api/broken"]


def test_wrong_credentials_are_401_even_on_public_pages(app: WebblyApp) -> None:
    status, headers, _ = call(app, "GET", "/", user="nobody")
    assert status == "401 Unauthorized"
    assert headers["WWW-Authenticate"] == 'Basic realm="Webbly"'


def test_api_validation_errors_are_422_with_fields(app: WebblyApp) -> None:
    status, _, body = call(app, "POST", "/api/pages", body=b'{"title": ""}',
                           content_type="application/json", user="author")
    assert status.startswith("422")
    assert set(json.loads(body)["errors"]) == {"title", "body"}


def test_admin_form_round_trip_in_process(app: WebblyApp, cms: CMS) -> None:
    status, headers, _ = call(app, "POST", "/admin/pages/new", user="author",
                              body=b"title=In+Process&body=Made+here&tags=x",
                              content_type="application/x-www-form-urlencoded")
    assert status == "303 See Other"
    assert headers["Location"] == "/admin/pages/in-process/edit?notice=created"
    assert cms.pages.repo.by_slug("in-process") is not None


def test_create_app_uses_site_settings(cms: CMS) -> None:
    app = create_app(cms)
    _, _, body = call(app, "GET", "/")
    assert b"<title>Webbly Test</title>" in body
