"""SQL persistence: one connection wrapper, the schema, and a repository per table group."""

from __future__ import annotations

from webbly.db.connection import Database, Dialect, connect, parse_database_url

__all__ = ["Database", "Dialect", "connect", "parse_database_url"]
