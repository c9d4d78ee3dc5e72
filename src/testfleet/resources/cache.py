"""The shared cache (``ScalableCache``): values built once per run, shared by every worker.

:class:`ScalableCache` is what a test sees as ``fleet_cache``: ``get``, ``set``,
``get_or_set`` and ``stats``.  It keeps no state of its own beyond the process
it runs in; the entries, the claims of keys being built and the run's
counters live in a :class:`CacheStore`, a small interface with two
implementations: :class:`~testfleet.resources.cache_sqlite.SqliteStore`, one
SQLite file all processes of a machine reach, and
:class:`~testfleet.resources.cache_redis.RedisStore`, a Redis server that the
processes of many machines reach (``url`` in the configuration).

Values are ``bytes``, ``str`` or JSON-serialisable, never pickled: a shared
store must not be a way to run code in another process.  A JSON value comes
back as JSON gives it back (a tuple as a list), to whoever reads it, builder
included.

Configuration (``[tool.testfleet.cache]`` in ``pyproject.toml`` or ``[cache]``
in ``testfleet.toml``) is parsed here from a plain table by
:func:`parse_cache_config`; the files are read at the edge.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from testfleet.model.urls import redact

T = TypeVar("T")

#: Keys the ``cache`` table may hold.
ALLOWED_KEYS = ("max_bytes", "max_entries", "persist", "ttl", "url")

#: The URL schemes of a Redis store, as redis-py reads them.
URL_SCHEMES = ("redis", "rediss", "unix")

#: The default bounds: entries, and bytes of stored values.
DEFAULT_MAX_ENTRIES = 1000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

#: How long ``get_or_set`` waits by default for a value another process builds.
DEFAULT_WAIT = 300.0

# How often a waiter looks again: short, since builds worth caching take longer.
_POLL = 0.02


@dataclass(frozen=True)
class CacheConfig:
    """The cache's bounds and lifetime."""

    #: The most entries kept; the least recently used go first.
    max_entries: int = DEFAULT_MAX_ENTRIES
    #: The most bytes of stored values kept.
    max_bytes: int = DEFAULT_MAX_BYTES
    #: Keep entries across runs (``.testfleet/cache.db`` under the rootdir).
    persist: bool = False
    #: Seconds an entry lives after it is set; None: until evicted.
    ttl: float | None = None
    #: A Redis server (``redis://``, ``rediss://``, ``unix://``) to keep the cache
    #: in, shared by every machine of the run; None: a local SQLite file.  May
    #: hold a password: show it through :func:`testfleet.model.urls.redact`.
    url: str | None = None


class CacheConfigError(ValueError):
    """A cache configuration testfleet cannot use: a usage error (exit code 4).

    ``str()`` is one line: the file, the dotted key at fault and what is allowed.
    """

    def __init__(self, source: str, key: str, problem: str) -> None:
        #: The file the configuration came from.
        self.source = source
        #: The dotted TOML key at fault, e.g. ``tool.testfleet.cache.max_entries``.
        self.key = key
        #: What is wrong and what is allowed.
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}")

    def __reduce__(self) -> tuple[type[CacheConfigError], tuple[str, str, str]]:
        return (type(self), (self.source, self.key, self.problem))


def parse_cache_config(table: object, source: str, key: str) -> CacheConfig:
    """Validate one ``cache`` table found at dotted ``key`` in the file ``source``.

    Raises :class:`CacheConfigError` on the first problem found.
    """
    if not isinstance(table, Mapping):
        raise CacheConfigError(
            source,
            key,
            f"must be a table, not {_toml_type(table)}; allowed keys: " + ", ".join(ALLOWED_KEYS),
        )
    for name in table:
        if name not in ALLOWED_KEYS:
            raise CacheConfigError(
                source, f"{key}.{name}", f"unknown key; allowed keys: {', '.join(ALLOWED_KEYS)}"
            )
    persist = table.get("persist", False)
    if not isinstance(persist, bool):
        raise CacheConfigError(
            source, f"{key}.persist", f"must be true or false, not {_toml_type(persist)}"
        )
    ttl = table.get("ttl")
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0
    ):
        raise CacheConfigError(
            source, f"{key}.ttl", f"must be a number of seconds above 0, not {ttl!r}"
        )
    return CacheConfig(
        max_entries=_count(table, "max_entries", DEFAULT_MAX_ENTRIES, source, key),
        max_bytes=_count(table, "max_bytes", DEFAULT_MAX_BYTES, source, key),
        persist=persist,
        ttl=None if ttl is None else float(ttl),
        url=_url(table, source, key),
    )


def _url(table: Mapping[str, object], source: str, key: str) -> str | None:
    """The ``url`` key: checked for what redis-py would refuse, without importing it.

    Whether the server answers is found out when a test first uses the cache.
    """
    url = table.get("url")
    if url is None:
        return None
    expected = "a redis://, rediss:// or unix:// URL"
    if not isinstance(url, str):
        raise CacheConfigError(source, f"{key}.url", f"must be {expected}, not {_toml_type(url)}")
    # Shown without its password: the message ends up in CI logs.
    shown = repr(redact(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        raise CacheConfigError(source, f"{key}.url", f"must be {expected}, not {shown}") from None
    if parts.scheme not in URL_SCHEMES:
        raise CacheConfigError(source, f"{key}.url", f"must be {expected}, not {shown}")
    try:
        parts.port  # noqa: B018 - reading it is the check: a port that is no number raises
    except ValueError:
        raise CacheConfigError(
            source, f"{key}.url", f"the port must be a number from 0 to 65535 in {shown}"
        ) from None
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        raise CacheConfigError(
            source,
            f"{key}.url",
            f"the database after the host must be a number (redis://HOST:PORT/0) in {shown}",
        )
    return url


def _count(table: Mapping[str, object], name: str, default: int, source: str, key: str) -> int:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CacheConfigError(
            source, f"{key}.{name}", f"must be a whole number of 1 or more, not {value!r}"
        )
    return value


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    return names.get(type(value), "an array" if isinstance(value, list) else "a table")


@dataclass(frozen=True)
class Entry:
    """One stored value, encoded."""

    #: How ``data`` decodes: ``"bytes"``, ``"str"`` or ``"json"``.
    kind: str
    data: bytes
    #: Seconds it took to build; every hit on it saved that much.
    build_seconds: float = 0.0


@dataclass(frozen=True)
class Owner:
    """Who is building a key: a process, and one call of ``get_or_set`` in it."""

    pid: int
    token: str


@dataclass(frozen=True)
class CacheStats:
    """The run's cache figures, summed over every process of the run."""

    hits: int = 0
    misses: int = 0
    sets: int = 0
    evictions: int = 0
    #: Build seconds that hits saved: each hit adds its entry's build time.
    saved_seconds: float = 0.0

    @property
    def used(self) -> bool:
        """True when the run read or wrote the cache at all."""
        return bool(self.hits or self.misses or self.sets)


def format_stats(stats: CacheStats) -> str:
    """The end-of-run line."""
    return (
        f"testfleet cache: {stats.hits} hits, {stats.misses} misses, {stats.sets} sets, "
        f"{stats.evictions} evictions, ~{stats.saved_seconds:.1f} s saved"
    )


class CacheStore(Protocol):
    """Where the entries, the claims and the run's counters live.

    Each operation is atomic across every process that shares the store.
    """

    def lookup(self, key: str) -> Entry | None:
        """The entry (a hit: counted, and it becomes the most recently used) or None (a miss)."""

    def claim(self, key: str, owner: Owner) -> Entry | Owner:
        """The entry if present (a hit), else the key's builder: ``owner`` if it
        just claimed the key (a miss), another owner if one holds it (not counted)."""

    def put(self, key: str, entry: Entry) -> None:
        """Store ``entry`` (a set), drop any claim of ``key``, evict beyond the bounds."""

    def release(self, key: str, owner: Owner) -> None:
        """Drop ``owner``'s claim of ``key``, if it still holds it."""

    def stats(self) -> CacheStats:
        """The run's counters."""


def encode(value: object) -> Entry:
    """``value`` as stored; a TypeError naming the type for anything else than
    bytes, str or JSON-serialisable."""
    if isinstance(value, bytes):
        return Entry("bytes", value)
    if isinstance(value, str):
        return Entry("str", value.encode("utf-8", "surrogatepass"))
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"fleet_cache cannot store a value of type {type(value).__name__} ({error}): "
            "values are bytes, str or JSON-serialisable (dict, list, str, int, float, "
            "bool, None); encode it to one of those first"
        ) from None
    return Entry("json", text.encode("utf-8"))


def decode(entry: Entry) -> Any:
    """The value ``entry`` holds."""
    if entry.kind == "bytes":
        return entry.data
    if entry.kind == "str":
        return entry.data.decode("utf-8", "surrogatepass")
    return json.loads(entry.data.decode("utf-8"))


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


class CacheWaitTimeout(TimeoutError):
    """A value another process builds did not come in time."""


class ScalableCache:
    """The shared cache a test sees as ``fleet_cache``."""

    def __init__(
        self,
        store: CacheStore,
        *,
        pid: int | None = None,
        alive: Callable[[int], bool] = pid_alive,
        timer: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._pid = os.getpid() if pid is None else pid
        self._alive = alive
        self._timer = timer
        self._sleep = sleep
        self._calls = 0
        # Part of every claim's token: a shared store's claims come from many
        # machines, where process ids repeat.
        self._nonce = uuid.uuid4().hex[:12]
        self._building: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key`` (a hit, even when it is None, 0 or ""),
        else ``default`` (a miss)."""
        entry = self._store.lookup(_checked(key))
        return default if entry is None else decode(entry)

    def set(self, key: str, value: object) -> None:
        """Store ``value`` under ``key`` for every process of the run."""
        self._store.put(_checked(key), encode(value))

    def get_or_set(self, key: str, build: Callable[[], T], *, timeout: float = DEFAULT_WAIT) -> Any:
        """The value under ``key``; on a miss ``build()`` it, once in the whole run.

        While one process builds a key, the others asking for it wait up to
        ``timeout`` seconds and then read its value; if the builder's process
        died, one of them builds instead.  An exception from ``build`` reaches
        the caller that built, and the key is free for the next to try.  The
        value returned is the stored one (JSON's view of it), for every caller.
        """
        key = _checked(key)
        if key in self._building:
            raise RuntimeError(
                f"fleet_cache.get_or_set({key!r}) was called again while building {key!r}: "
                "the build would wait for itself"
            )
        self._calls += 1
        owner = Owner(self._pid, f"{self._pid}-{self._nonce}-{self._calls}")
        deadline = self._timer() + timeout
        while True:
            found = self._store.claim(key, owner)
            if isinstance(found, Entry):
                return decode(found)
            if found == owner:
                return self._build(key, build, owner)
            if not self._alive(found.pid):
                # The builder died with the claim: free it; the next round claims it.
                self._store.release(key, found)
                continue
            if self._timer() >= deadline:
                raise CacheWaitTimeout(
                    f"fleet_cache: waited {timeout:g} s for {key!r}, which process "
                    f"{found.pid} is still building; give get_or_set a longer timeout"
                )
            self._sleep(_POLL)

    def _build(self, key: str, build: Callable[[], T], owner: Owner) -> Any:
        self._building.add(key)
        try:
            start = self._timer()
            value = build()
            entry = encode(value)
            entry = Entry(entry.kind, entry.data, max(0.0, self._timer() - start))
        except BaseException:
            self._store.release(key, owner)
            raise
        finally:
            self._building.discard(key)
        self._store.put(key, entry)
        return decode(entry)

    def stats(self) -> CacheStats:
        """The run's hits, misses, sets, evictions and build seconds saved, over all processes."""
        return self._store.stats()


def _checked(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"fleet_cache keys are str, not {type(key).__name__}")
    return key
