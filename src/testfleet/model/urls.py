"""Server URLs as they may be shown: without their passwords."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit


def redact(url: str) -> str:
    """``url`` without its password, in the user part or as a ``password=`` parameter."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url.partition('://')[0]}://(an unreadable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}@{hosts}" if user else hosts
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.lower().startswith("password=")
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def passwords(url: str) -> list[str]:
    """The passwords ``url`` holds, to blank them out of server messages too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [unquote(parts.password)] if parts.password else []
    for p in parts.query.split("&"):
        key, _, value = p.partition("=")
        if key.lower() == "password" and value:
            found.append(unquote(value))
    return found


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's message) on one line, with any password of ``url`` blanked."""
    for secret in passwords(url):
        text = text.replace(secret, "***")
    return " ".join(text.split())
