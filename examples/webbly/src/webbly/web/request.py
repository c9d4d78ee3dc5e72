"""An HTTP request built from a WSGI environ."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from webbly.models import User
from webbly.web.response import HTTPError

MAX_BODY_BYTES = 10 * 1024 * 1024


def _wsgi_str(value: str) -> str:
    """PEP 3333 strings carry bytes as latin-1; re-decode them as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Request:
    """Read-only view of one request, with lazily read and parsed body."""

    def __init__(self, environ: Mapping[str, Any], *, max_body: int = MAX_BODY_BYTES) -> None:
        self.environ = environ
        self.method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        self.path = _wsgi_str(str(environ.get("PATH_INFO", "") or "/"))
        self.query_string = str(environ.get("QUERY_STRING", ""))
        self.query: dict[str, list[str]] = parse_qs(self.query_string, keep_blank_values=True)
        self.params: dict[str, Any] = {}
        self.user: User | None = None
        self.max_body = max_body
        self._body: bytes | None = None

    @property
    def is_api(self) -> bool:
        """Whether the request is for the JSON API."""
        return self.path == "/api" or self.path.startswith("/api/")

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query-string argument."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        """A request header by its usual name, such as ``Content-Type``."""
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        value = self.environ.get(key)
        return None if value in (None, "") else str(value)

    @property
    def content_type(self) -> str:
        """The media type of the body, lowercased, without parameters."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def body(self) -> bytes:
        """The raw body; 400 for a bad Content-Length, 413 when too large."""
        if self._body is None:
            raw_length = self.header("Content-Length") or "0"
            try:
                length = int(raw_length)
            except ValueError:
                raise HTTPError(400, "Content-Length is not a number") from None
            if length < 0:
                raise HTTPError(400, "Content-Length is negative")
            if length > self.max_body:
                raise HTTPError(413, f"body larger than {self.max_body} bytes")
            stream = self.environ.get("wsgi.input")
            self._body = stream.read(length) if stream is not None and length else b""
        return self._body

    def form(self) -> dict[str, str]:
        """URL-encoded form fields (first value of each); 415 for other content types."""
        if self.content_type != "application/x-www-form-urlencoded":
            raise HTTPError(415, "send the form as application/x-www-form-urlencoded")
        try:
            text = self.body().decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(400, "form is not UTF-8") from None
        fields = parse_qs(text, keep_blank_values=True)
        return {name: values[0] for name, values in fields.items()}

    def json(self) -> Any:
        """The body parsed as JSON; 415 for other content types, 400 when malformed."""
        if self.content_type != "application/json":
            raise HTTPError(415, "send JSON with Content-Type: application/json")
        try:
            return json.loads(self.body().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HTTPError(400, f"malformed JSON: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; 400 for arrays, strings and numbers."""
        data = self.json()
        if not isinstance(data, dict):
            raise HTTPError(400, "expected a JSON object")
        return data

    def basic_auth(self) -> tuple[str, str] | None:
        """Username and password from an ``Authorization: Basic`` header, if any."""
        header = self.header("Authorization")
        if not header:
            return None
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise HTTPError(400, "malformed Basic credentials") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise HTTPError(400, "malformed Basic credentials")
        return username, password
