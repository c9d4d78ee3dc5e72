"""Responses and HTTP errors."""

from __future__ import annotations

import pytest

from webbly.web.response import (
    HTTPError,
    Response,
    empty,
    html_response,
    json_response,
    reason,
    redirect,
    text_response,
)


@pytest.mark.parametrize(
    ("status", "line"),
    [(200, "200 OK"), (201, "201 Created"), (303, "303 See Other"), (404, "404 Not Found"),
     (405, "405 Method Not Allowed"), (599, "599 Unknown")],
)
def test_status_line(status: int, line: str) -> None:
    assert Response(status).status_line == line


def test_status_line_for_422() -> None:
    # Python 3.13 renamed the phrase from "Unprocessable Entity" to "Unprocessable Content".
    assert Response(422).status_line.startswith("422 Unprocessable ")


def test_reason_for_unknown_status() -> None:
    assert reason(799) == "Unknown"


def test_html_response() -> None:
    response = html_response("<p>é</p>", 201)
    assert response.status == 201
    assert response.body == "<p>é</p>".encode()
    assert response.header("content-type") == "text/html; charset=utf-8"


def test_json_response_is_sorted_and_utf8() -> None:
    response = json_response({"b": 1, "a": "é"})
    assert response.body == '{"a": "é", "b": 1}'.encode()
    assert response.json() == {"a": "é", "b": 1}


def test_text_response_content_type() -> None:
    assert text_response("x", content_type="application/xml").header("Content-Type") == (
        "application/xml; charset=utf-8"
    )


def test_redirect_defaults_to_303() -> None:
    response = redirect("/there")
    assert (response.status, response.header("Location"), response.body) == (303, "/there", b"")


def test_empty() -> None:
    assert empty().status == 204
    assert empty().body == b""


def test_set_header_replaces_case_insensitively() -> None:
    response = Response(200, b"", [("X-A", "1"), ("x-a", "2")])
    response.set_header("X-a", "3")
    assert response.headers == [("X-a", "3")]


def test_http_error_defaults_message_to_reason() -> None:
    error = HTTPError(404)
    assert error.message == "Not Found"
    assert str(error) == "404 Not Found"


def test_http_error_carries_headers_and_errors() -> None:
    error = HTTPError(422, "bad", headers={"X": "y"}, errors={"title": "required"})
    assert (error.headers, error.errors) == ({"X": "y"}, {"title": "required"})
