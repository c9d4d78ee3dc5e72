"""HTTP responses and the exception views raise to produce an error response."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


def reason(status: int) -> str:
    """The standard reason phrase for ``status``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@dataclass
class Response:
    """A status, headers and a body of bytes."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        """For example ``"404 Not Found"``."""
        return f"{self.status} {reason(self.status)}"

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive)."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def set_header(self, name: str, value: str) -> None:
        """Replace any header called ``name`` with one value."""
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self.headers.append((name, value))

    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def html_response(text: str, status: int = 200) -> Response:
    """An HTML page."""
    return Response(status, text.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")])


def text_response(text: str, status: int = 200, content_type: str = "text/plain") -> Response:
    """A plain text (or other textual type) response."""
    return Response(status, text.encode("utf-8"),
                    [("Content-Type", f"{content_type}; charset=utf-8")])


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON document."""
    body = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json")])


def redirect(location: str, status: int = 303) -> Response:
    """A redirect (303 See Other by default, the right answer to a POSTed form)."""
    return Response(status, b"", [("Location", location)])


def empty(status: int = 204) -> Response:
    """A response without a body."""
    return Response(status, b"", [])


class HTTPError(Exception):
    """Raised by views to answer with an error status."""

    def __init__(self, status: int, message: str = "",
                 headers: Mapping[str, str] | None = None,
                 errors: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.message = message or reason(status)
        self.headers = dict(headers or {})
        self.errors = dict(errors or {})
        super().__init__(f"{status} {self.message}")
