"""The WSGI application: request/response objects, a router, and three groups of views."""

from __future__ import annotations

from webbly.web.app import WebblyApp, create_app

__all__ = ["WebblyApp", "create_app"]
