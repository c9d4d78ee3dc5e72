"""Connecting to the fleet's Redis, with errors a user can act on.

redis-py is imported here, on first use: installing testfleet costs a plain
``pytest`` run nothing.  Every message names the server by its URL without
the password (:func:`testfleet.model.urls.redact`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from testfleet.model.urls import redact, scrub

if TYPE_CHECKING:
    import redis

#: Seconds to wait for a connection or an answer before the server counts as lost.
DEFAULT_TIMEOUT = 5.0


class FleetError(RuntimeError):
    """The fleet's Redis cannot be used; ``str()`` is one line naming the server and the fix."""


def connect(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> redis.Redis:
    """A client for ``url`` (``redis://``, ``rediss://``, ``unix://``) that answered a PING.

    Raises :class:`FleetError` when redis-py is missing, the URL is not one
    redis-py reads, or the server does not answer.
    """
    try:
        import redis
    except ImportError:
        raise FleetError(
            "testfleet: --fleet needs the redis package: pip install 'testfleet[fleet]'"
        ) from None
    where = redact(url)
    try:
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
    except ValueError as exc:
        raise FleetError(
            f"testfleet: cannot use the Redis URL {where}: {scrub(str(exc), url)} "
            "(expected redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://...)"
        ) from None
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        client.close()
        problem = scrub(str(exc), url).rstrip(".") or type(exc).__name__
        raise FleetError(
            f"testfleet: Redis at {where} refused the login: {problem} "
            "(check the user and password in the URL)"
        ) from None
    except redis.RedisError as exc:
        client.close()
        problem = scrub(str(exc), url) or type(exc).__name__
        raise FleetError(f"testfleet: cannot reach Redis at {where}: {problem}") from None
    return client


def describe_lost(url: str, exc: BaseException) -> str:
    """The one line that says the server was lost during the run."""
    problem = scrub(str(exc), url).rstrip(".") or type(exc).__name__
    return f"testfleet: lost the connection to Redis at {redact(url)}: {problem}"
