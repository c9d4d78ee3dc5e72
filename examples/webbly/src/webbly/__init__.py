"""Webbly: a small content management system.

The composition root is :class:`webbly.cms.CMS`; the WSGI application is built
by :func:`webbly.web.app.create_app`.
"""

from __future__ import annotations

__version__ = "0.3.0"

__all__ = ["__version__"]
