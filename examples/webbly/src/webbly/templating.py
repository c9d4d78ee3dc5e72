"""Jinja2 templates shipped inside the package."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from webbly.clock import parse_timestamp


def format_date(value: str | None) -> str:
    """Render a stored timestamp as ``25 Nov 2024``; empty for None."""
    if not value:
        return ""
    moment = parse_timestamp(value)
    return f"{moment.day} {moment:%b %Y}"


class Templates:
    """Renders the site's HTML (and sitemap XML) with the site's globals."""

    def __init__(self, *, site_title: str = "Webbly", base_url: str = "") -> None:
        self.env = Environment(
            loader=PackageLoader("webbly", "templates"),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["date"] = format_date
        self.env.globals.update(site_title=site_title, base_url=base_url.rstrip("/"))

    def render(self, name: str, **context: Any) -> str:
        """Render template ``name`` with ``context``."""
        return self.env.get_template(name).render(**context)

    def names(self) -> list[str]:
        """Every template the package ships."""
        return sorted(self.env.list_templates())
