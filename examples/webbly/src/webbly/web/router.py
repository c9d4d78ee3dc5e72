"""A tiny router: path patterns with typed placeholders, matched by method."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from webbly.web.request import Request
from webbly.web.response import HTTPError, Response

Handler = Callable[[Request], Response]
_PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "path": (r".+", str),
}


def normalize_path(path: str) -> str:
    """Collapse repeated slashes and drop a trailing one (except for ``/``)."""
    path = re.sub(r"/{2,}", "/", path or "/")
    return path.rstrip("/") or "/"


@dataclass
class Route:
    """One pattern, the methods it answers, and its handler."""

    pattern: str
    methods: frozenset[str]
    handler: Handler
    name: str
    regex: re.Pattern[str] = field(init=False)
    converters: dict[str, Callable[[str], Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.converters = {}
        parts: list[str] = []
        position = 0
        for match in _PLACEHOLDER.finditer(self.pattern):
            kind, name = match.group(1) or "str", match.group(2)
            if kind not in _CONVERTERS:
                raise ValueError(f"unknown converter {kind!r} in {self.pattern!r}")
            if name in self.converters:
                raise ValueError(f"placeholder {name!r} repeats in {self.pattern!r}")
            expression, convert = _CONVERTERS[kind]
            parts.append(re.escape(self.pattern[position : match.start()]))
            parts.append(f"(?P<{name}>{expression})")
            self.converters[name] = convert
            position = match.end()
        parts.append(re.escape(self.pattern[position:]))
        self.regex = re.compile("^" + "".join(parts) + "$")

    def match(self, path: str) -> dict[str, Any] | None:
        """Converted placeholder values if ``path`` matches, else None."""
        found = self.regex.match(path)
        if found is None:
            return None
        return {name: self.converters[name](value) for name, value in found.groupdict().items()}


class Router:
    """Routes in the order added; the first pattern that matches the path wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._names: dict[str, Route] = {}

    def add(self, pattern: str, handler: Handler, *, methods: Iterable[str] = ("GET",),
            name: str | None = None) -> Route:
        """Register ``handler`` for ``pattern``; GET routes answer HEAD too."""
        if not pattern.startswith("/"):
            raise ValueError(f"patterns start with '/': {pattern!r}")
        upper = {method.upper() for method in methods}
        if "GET" in upper:
            upper.add("HEAD")
        route = Route(normalize_path(pattern), frozenset(upper), handler,
                      name or str(getattr(handler, "__name__", pattern)))
        if route.name in self._names:
            raise ValueError(f"route name {route.name!r} is already used")
        self.routes.append(route)
        self._names[route.name] = route
        return route

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, Any]]:
        """The route and parameters for a request; raises HTTPError 404 or 405."""
        path = normalize_path(path)
        allowed: set[str] = set()
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if method.upper() in route.methods:
                return route, params
            allowed |= route.methods
        if allowed:
            raise HTTPError(405, f"{method} is not allowed here",
                            headers={"Allow": ", ".join(sorted(allowed))})
        raise HTTPError(404, f"nothing at {path}")

    def url_for(self, route_name: str, /, **params: Any) -> str:
        """Build the path of the route called ``name``."""
        route = self._names[route_name]
        missing = set(route.converters) - set(params)
        if missing:
            raise KeyError(f"missing parameters for {route_name}: {', '.join(sorted(missing))}")

        def fill(match: re.Match[str]) -> str:
            value = str(params[match.group(2)])
            return quote(value, safe="/" if match.group(1) == "path" else "")

        return _PLACEHOLDER.sub(fill, route.pattern)
