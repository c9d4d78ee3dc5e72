"""The tiny router."""

from __future__ import annotations

import pytest

from webbly.web.request import Request
from webbly.web.response import HTTPError, Response, empty
from webbly.web.router import Router, normalize_path


def handler(request: Request) -> Response:
    return empty()


def other(request: Request) -> Response:
    return empty(202)


@pytest.fixture
def router() -> Router:
    router = Router()
    router.add("/", handler, name="home")
    router.add("/pages/<slug>", handler, name="page")
    router.add("/pages/<slug>", other, methods=("POST", "DELETE"), name="page_write")
    router.add("/pages/<slug>/revisions/<int:number>", handler, name="revision")
    router.add("/files/<path:name>", handler, name="file")
    router.add("/pages/new", other, name="shadowed")
    return router


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("GET", "/", "home", {}),
        ("GET", "/pages/hello", "page", {"slug": "hello"}),
        ("HEAD", "/pages/hello", "page", {"slug": "hello"}),
        ("POST", "/pages/hello", "page_write", {"slug": "hello"}),
        ("delete", "/pages/hello", "page_write", {"slug": "hello"}),
        ("GET", "/pages/hello/", "page", {"slug": "hello"}),
        ("GET", "//pages//hello", "page", {"slug": "hello"}),
        ("GET", "/pages/x/revisions/12", "revision", {"slug": "x", "number": 12}),
        ("GET", "/files/a/b/c.txt", "file", {"name": "a/b/c.txt"}),
        ("GET", "/pages/new", "page", {"slug": "new"}),
    ],
)
def test_resolve(router: Router, method: str, path: str, name: str,
                 params: dict[str, object]) -> None:
    route, found = router.resolve(method, path)
    assert (route.name, found) == (name, params)


@pytest.mark.parametrize(
    "path", ["/nope", "/pages", "/pages/a/b", "/pages/x/revisions/abc", "/files", "/files/"]
)
def test_unknown_paths_are_404(router: Router, path: str) -> None:
    with pytest.raises(HTTPError) as caught:
        router.resolve("GET", path)
    assert caught.value.status == 404


def test_wrong_method_is_405_with_allow_header(router: Router) -> None:
    with pytest.raises(HTTPError) as caught:
        router.resolve("PUT", "/pages/hello")
    assert caught.value.status == 405
    assert caught.value.headers["Allow"] == "DELETE, GET, HEAD, POST"


def test_int_parameters_are_converted(router: Router) -> None:
    _, params = router.resolve("GET", "/pages/x/revisions/007")
    assert params["number"] == 7


@pytest.mark.parametrize(
    ("name", "params", "path"),
    [
        ("home", {}, "/"),
        ("page", {"slug": "hello"}, "/pages/hello"),
        ("page", {"slug": "a b/c"}, "/pages/a%20b%2Fc"),
        ("revision", {"slug": "x", "number": 3}, "/pages/x/revisions/3"),
        ("file", {"name": "a/b c.txt"}, "/files/a/b%20c.txt"),
    ],
)
def test_url_for(router: Router, name: str, params: dict[str, object], path: str) -> None:
    assert router.url_for(name, **params) == path


def test_url_for_needs_every_parameter(router: Router) -> None:
    with pytest.raises(KeyError, match="slug"):
        router.url_for("page")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("no-slash", "start with"), ("/x/<float:f>", "unknown converter"),
     ("/<a>/<a>", "repeats")],
)
def test_bad_patterns(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Router().add(pattern, handler)


def test_duplicate_names_are_refused(router: Router) -> None:
    with pytest.raises(ValueError, match="already used"):
        router.add("/elsewhere", handler, name="home")


@pytest.mark.parametrize(
    ("path", "normal"), [("", "/"), ("/", "/"), ("//", "/"), ("/a/", "/a"), ("/a//b///", "/a/b")]
)
def test_normalize_path(path: str, normal: str) -> None:
    assert normalize_path(path) == normal
