"""The WSGI application: routing, authentication and turning errors into responses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from webbly.cms import CMS
from webbly.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    WebblyError,
)
from webbly.site import SiteRenderer
from webbly.templating import Templates
from webbly.web.admin import AdminViews
from webbly.web.api import ApiViews
from webbly.web.auth import challenge, identify
from webbly.web.public import PublicViews
from webbly.web.request import Request
from webbly.web.response import HTTPError, Response, html_response, json_response, reason
from webbly.web.router import Router

log = logging.getLogger("webbly.web")
StartResponse = Callable[..., Any]
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' https:"),
    ("Referrer-Policy", "same-origin"),
)


class WebblyApp:
    """A WSGI callable serving the public site, the admin and the JSON API."""

    def __init__(self, cms: CMS, templates: Templates | None = None) -> None:
        self.cms = cms
        self.templates = templates or Templates(site_title=cms.settings.site_title,
                                                base_url=cms.settings.base_url)
        self.site = SiteRenderer(cms, self.templates)
        self.router = Router()
        PublicViews(cms, self.site).register(self.router)
        AdminViews(cms, self.templates).register(self.router)
        ApiViews(cms).register(self.router)

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises."""
        try:
            route, request.params = self.router.resolve(request.method, request.path)
            request.user = identify(request, self.cms.users)
            response = route.handler(request)
        except HTTPError as exc:
            response = self.error(request, exc)
        except WebblyError as exc:
            response = self.error(request, self._as_http(request, exc))
        except Exception:
            log.exception("unhandled error for %s %s", request.method, request.path)
            response = self.error(request, HTTPError(500, "internal error"))
        if (response.header("Content-Type") or "").startswith("text/html"):
            for name, value in SECURITY_HEADERS:
                response.set_header(name, value)
        return response

    @staticmethod
    def _as_http(request: Request, exc: WebblyError) -> HTTPError:
        if isinstance(exc, NotFound):
            return HTTPError(404, str(exc))
        if isinstance(exc, PermissionDenied):
            return challenge(str(exc)) if request.user is None else HTTPError(403, str(exc))
        if isinstance(exc, ValidationFailed):
            return HTTPError(422, "invalid input", errors=exc.errors)
        if isinstance(exc, (Conflict, InvalidTransition)):
            return HTTPError(409, str(exc))
        return HTTPError(400, str(exc))

    def error(self, request: Request, exc: HTTPError) -> Response:
        """An error response in the request's flavour: JSON for the API, else HTML."""
        if request.is_api:
            payload: dict[str, Any] = {"error": exc.message, "status": exc.status}
            if exc.errors:
                payload["errors"] = exc.errors
            response = json_response(payload, exc.status)
        else:
            message = exc.message
            if exc.errors:
                message += ": " + "; ".join(f"{k} {v}" for k, v in sorted(exc.errors.items()))
            response = html_response(self.site.error(exc.status, reason(exc.status), message),
                                     exc.status)
        for name, value in exc.headers.items():
            response.set_header(name, value)
        return response

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        body = response.body
        headers = list(response.headers)
        if response.status not in (204, 304):
            headers.append(("Content-Length", str(len(body))))
        if request.method == "HEAD" or response.status in (204, 304):
            body = b""
        start_response(response.status_line, headers)
        return [body]


def create_app(cms: CMS, templates: Templates | None = None) -> WebblyApp:
    """Build the WSGI application for a site."""
    return WebblyApp(cms, templates)
