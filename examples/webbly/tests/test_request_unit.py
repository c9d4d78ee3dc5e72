"""Requests built from WSGI environs."""

from __future__ import annotations

import base64
import io
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from webbly.web.request import Request
from webbly.web.response import HTTPError


def environ(method: str = "GET", path: str = "/", query: str = "", body: bytes = b"",
            content_type: str = "", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                           "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    if content_type:
        env["CONTENT_TYPE"] = content_type
    for name, value in headers.items():
        env[f"HTTP_{name.upper()}"] = value
    setup_testing_defaults(env)
    return env


def test_method_path_and_query() -> None:
    request = Request(environ("post", "/search", "q=garden+soil&page=2&q=second"))
    assert request.method == "POST"
    assert request.path == "/search"
    assert request.arg("q") == "garden soil"
    assert request.query["q"] == ["garden soil", "second"]
    assert request.arg("page") == "2"
    assert request.arg("missing", "default") == "default"


def test_blank_query_values_are_kept() -> None:
    assert Request(environ(query="q=")).arg("q") == ""


def test_utf8_paths_are_decoded() -> None:
    raw = "/pages/café".encode().decode("latin-1")
    assert Request(environ(path=raw)).path == "/pages/café"


def test_headers() -> None:
    request = Request(environ(content_type="text/plain; charset=utf-8", x_custom="yes"))
    assert request.header("X-Custom") == "yes"
    assert request.header("Content-Type") == "text/plain; charset=utf-8"
    assert request.content_type == "text/plain"
    assert request.header("Missing") is None


@pytest.mark.parametrize(("path", "is_api"),
                         [("/api", True), ("/api/pages", True), ("/apiary", False), ("/", False)])
def test_is_api(path: str, is_api: bool) -> None:
    assert Request(environ(path=path)).is_api is is_api


def test_form_fields() -> None:
    body = b"title=Hello+World&tags=a%2C+b&empty=&title=ignored"
    request = Request(environ("POST", body=body,
                              content_type="application/x-www-form-urlencoded"))
    assert request.form() == {"title": "Hello World", "tags": "a, b", "empty": ""}


def test_form_needs_form_content_type() -> None:
    with pytest.raises(HTTPError) as caught:
        Request(environ("POST", body=b"a=1", content_type="text/plain")).form()
    assert caught.value.status == 415


def test_json_body() -> None:
    request = Request(environ("POST", body=b'{"a": [1, 2]}', content_type="application/json"))
    assert request.json() == {"a": [1, 2]}
    assert request.json_object() == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [(b"{bad", "application/json", 400), (b"[1]", "application/json", 400),
     (b"{}", "text/plain", 415), (b"\xff\xfe", "application/json", 400)],
)
def test_bad_json(body: bytes, content_type: str, status: int) -> None:
    with pytest.raises(HTTPError) as caught:
        Request(environ("POST", body=body, content_type=content_type)).json_object()
    assert caught.value.status == status


def test_body_is_read_once_and_cached() -> None:
    request = Request(environ("POST", body=b"abc"))
    assert request.body() == b"abc"
    assert request.body() == b"abc"


def test_oversized_body_is_413() -> None:
    request = Request(environ("POST", body=b"x" * 11), max_body=10)
    with pytest.raises(HTTPError) as caught:
        request.body()
    assert caught.value.status == 413


@pytest.mark.parametrize("length", ["abc", "-1"])
def test_bad_content_length_is_400(length: str) -> None:
    env = environ("POST", body=b"x")
    env["CONTENT_LENGTH"] = length
    with pytest.raises(HTTPError) as caught:
        Request(env).body()
    assert caught.value.status == 400


def basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


def test_basic_auth() -> None:
    request = Request(environ(authorization=basic("alice:pa:ss")))
    assert request.basic_auth() == ("alice", "pa:ss")


@pytest.mark.parametrize("header", ["", "Bearer token"])
def test_no_basic_auth(header: str) -> None:
    assert Request(environ(authorization=header)).basic_auth() is None


@pytest.mark.parametrize("header", ["Basic !!!", basic("no-colon")])
def test_malformed_basic_auth_is_400(header: str) -> None:
    with pytest.raises(HTTPError) as caught:
        Request(environ(authorization=header)).basic_auth()
    assert caught.value.status == 400
