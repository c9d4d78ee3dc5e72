"""Serving the app with the standard library's wsgiref server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

log = logging.getLogger("webbly.server")


class QuietHandler(WSGIRequestHandler):
    """Request handler that logs through :mod:`logging` instead of writing to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - " + format, self.address_string(), *args)


def make_app_server(app: Callable[..., Any], host: str = "127.0.0.1",
                    port: int = 8000) -> WSGIServer:
    """A wsgiref server bound to ``host:port`` (port 0 picks a free one)."""
    return make_server(host, port, app, handler_class=QuietHandler)


def server_url(server: WSGIServer) -> str:
    """Base URL of a bound server, such as ``http://127.0.0.1:41234``."""
    host, port = server.server_address[:2]
    if isinstance(host, bytes):
        host = host.decode("ascii")
    return f"http://{host}:{port}"
