"""The shared cache in Redis: one store every process of every machine of a run reaches.

:class:`RedisStore` keeps :class:`~testfleet.resources.cache_sqlite.SqliteStore`'s
semantics (LRU within ``max_entries`` and ``max_bytes``, ``ttl``, claims of keys
being built, counters per run) in Redis, so that the nodes of a fleet run share
one cache.  Each operation is one Lua script, which Redis runs alone: a claim,
a set and its evictions are atomic across every client of the server.

The keys of one namespace ``P`` (``testfleet:{run}:cache:``, see :func:`keyspace`):

- ``P e:{key}``, a hash per entry: ``kind``, ``data`` (the encoded bytes),
  ``build`` (seconds) and ``stored`` (when it was set);
- ``P lru``, a sorted set of the keys scored by an ever-growing stamp
  (``P stamp``), least recently used first; ``P sizes``, a hash of each key's
  size, and ``P bytes``, their sum;
- ``P claim:{key}``, who builds the key, with an expiry that the builder renews
  from a thread while it lives, so that a dead builder's claim frees itself;
- ``P runs:{run}``, a hash of one run's counters.

Every key a run writes expires ``key_ttl`` seconds after its last write, except
the entries of a persistent cache, which live by ``ttl`` and the LRU bounds.

Values are stored as the bytes of their :class:`~testfleet.resources.cache.Entry`,
never pickled.  :func:`~testfleet.distributed.connection.connect` checks the URL
and the server with its own client (which decodes replies to str); the store then
talks through a second client that does not decode, so values cross the wire
as they are: base64 would cost a third more memory on the server, count
against ``max_bytes`` in a way the SQLite store does not, and cost time both ways.

redis-py is imported when a store is opened, never with this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from testfleet.model.fleet import DEFAULT_KEY_TTL, FleetSettings
from testfleet.model.urls import redact, scrub
from testfleet.resources.cache import CacheConfig, CacheStats, Entry, Owner
from testfleet.resources.cache_sqlite import CacheStoreError

if TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

#: Seconds a claim lives without renewal: how long others wait for a dead builder.
#: Its builder renews it every third of that, from a thread, while it builds.
DEFAULT_CLAIM_TTL = 30.0
#: The namespace of a persistent cache, shared by every run that uses the server.
PERSIST_PREFIX = "testfleet:persist:cache:"

# Shared by every script.  KEYS: lru, sizes, bytes, stamp, counters, the entry's
# key, the claim's key.  ARGV: the entries' prefix, the cache key, the time
# ('' for the server's own clock), ttl ('' for none), ms the run's keys live
# (0: for ever), ms the counters live; then each script's own.
_PRELUDE = """
local lru, sizes, total, stamp = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local counters, entry, claim = KEYS[5], KEYS[6], KEYS[7]
local entries, key, ttl = ARGV[1], ARGV[2], ARGV[4]
local keep_ms, count_ms = tonumber(ARGV[5]), ARGV[6]

local function now()
  if ARGV[3] ~= '' then return tonumber(ARGV[3]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function keep(name)
  if keep_ms > 0 then redis.call('PEXPIRE', name, keep_ms) end
end

local function count(hits, misses, sets, evictions, saved)
  if hits ~= 0 then redis.call('HINCRBY', counters, 'hits', hits) end
  if misses ~= 0 then redis.call('HINCRBY', counters, 'misses', misses) end
  if sets ~= 0 then redis.call('HINCRBY', counters, 'sets', sets) end
  if evictions ~= 0 then redis.call('HINCRBY', counters, 'evictions', evictions) end
  if saved ~= 0 then redis.call('HINCRBYFLOAT', counters, 'saved', saved) end
  redis.call('PEXPIRE', counters, count_ms)
end

-- Remove key k and its size from the totals; 1 when its entry was there.
local function drop(k)
  local size = redis.call('HGET', sizes, k)
  if size then
    redis.call('HDEL', sizes, k)
    redis.call('DECRBY', total, size)
  end
  redis.call('ZREM', lru, k)
  return redis.call('DEL', entries .. k)
end

local function touch(k)
  redis.call('ZADD', lru, redis.call('INCR', stamp), k)
  keep(stamp)
  keep(lru)
end

-- The entry of key, or nil: an expired one is dropped (not an eviction), and so
-- is what is left of one whose hash expired under it.
local function live()
  local e = redis.call('HMGET', entry, 'kind', 'data', 'build', 'stored')
  if not e[1] or (ttl ~= '' and now() - tonumber(e[4]) >= tonumber(ttl)) then
    drop(key)
    return nil
  end
  return e
end

local function hit(e)
  touch(key)
  count(1, 0, 0, 0, tonumber(e[3]))
  return {e[1], e[2], e[3]}
end
"""

_LOOKUP = """
local e = live()
if e then return hit(e) end
count(0, 1, 0, 0, 0)
return false
"""

# ARGV[7]: the claimant ("pid token"), ARGV[8]: ms the claim lives.
_CLAIM = """
local e = live()
if e then return hit(e) end
local holder = redis.call('GET', claim)
if holder then return holder end
redis.call('SET', claim, ARGV[7], 'PX', ARGV[8])
count(0, 1, 0, 0, 0)
return ARGV[7]
"""

# ARGV[7..11]: kind, data, build seconds, max_entries, max_bytes.
_PUT = """
redis.call('DEL', claim)
drop(key)
local size = string.len(ARGV[8])
local max_entries, max_bytes = tonumber(ARGV[10]), tonumber(ARGV[11])
if size > max_bytes then
  -- Keeping it would evict everything else and then itself: it goes at once.
  count(0, 0, 1, 1, 0)
  return 1
end
redis.call('HSET', entry, 'kind', ARGV[7], 'data', ARGV[8], 'build', ARGV[9],
           'stored', string.format('%.6f', now()))
keep(entry)
redis.call('HSET', sizes, key, size)
keep(sizes)
redis.call('INCRBY', total, size)
keep(total)
touch(key)
local evicted = 0
while redis.call('ZCARD', lru) > max_entries
      or tonumber(redis.call('GET', total) or '0') > max_bytes do
  -- The newest entry is the most recent and fits alone: the loop stops before it.
  local oldest = redis.call('ZRANGE', lru, 0, 0)[1]
  if not oldest then break end
  evicted = evicted + drop(oldest)
end
count(0, 0, 1, evicted, 0)
return evicted
"""

# ARGV[7]: the claimant.
_RELEASE = """
if redis.call('GET', claim) == ARGV[7] then redis.call('DEL', claim) end
return 0
"""

# ARGV[7]: the claimant, ARGV[8]: ms the claim lives from now.  0: the claim is
# no longer this claimant's (it expired and another took it).
_RENEW = """
if redis.call('GET', claim) == ARGV[7] then return redis.call('PEXPIRE', claim, ARGV[8]) end
return 0
"""

# Drop every entry whose ttl passed, as the SQLite store does when it opens.
_PURGE = """
local dropped = 0
for _, k in ipairs(redis.call('ZRANGE', lru, 0, -1)) do
  local stored = redis.call('HGET', entries .. k, 'stored')
  if not stored or now() - tonumber(stored) >= tonumber(ttl) then
    drop(k)
    dropped = dropped + 1
  end
end
return dropped
"""


def keyspace(config: CacheConfig, run_key: str, fleet: FleetSettings | None) -> tuple[str, str]:
    """The namespace of a run's cache and the id of its counters.

    A fleet node shares its fleet run's namespace with every other node; a
    run of one machine has its own; a persistent cache is one namespace for
    every run, with counters per run.
    """
    run = run_key if fleet is None else fleet.run_id
    if config.persist:
        return PERSIST_PREFIX, run
    if fleet is not None:
        return f"{fleet.prefix}cache:", run
    return f"testfleet:{run_key}:cache:", run


def holder_alive(pid: int) -> bool:
    """Always True: a claim's holder may run on another machine, where its process
    id says nothing here.  The claim's expiry, which the holder renews while it
    lives, frees the claim of a dead one instead."""
    return True


class RedisStore:
    """A :class:`~testfleet.resources.cache.CacheStore` on a Redis server."""

    def __init__(
        self,
        url: str,
        config: CacheConfig,
        *,
        prefix: str,
        run: str,
        key_ttl: float = DEFAULT_KEY_TTL,
        claim_ttl: float = DEFAULT_CLAIM_TTL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Connect to ``url`` and drop the entries whose ttl passed.

        ``prefix`` is the namespace (see :func:`keyspace`); ``run`` names this
        run's counters.  ``clock`` gives the time that ``ttl`` is measured
        with; None: the server's, the one clock every machine of a fleet sees.
        Raises :class:`CacheStoreError` when the server cannot be used.
        """
        self._url = url
        self._config = config
        self._prefix = prefix
        self._counters = f"{prefix}runs:{run}"
        self._clock = clock
        self._claim_ms = max(1, round(claim_ttl * 1000))
        self._counters_ms = max(1, round(key_ttl * 1000))
        # A persistent cache's entries outlive any run; all else the run writes expires.
        self._keep_ms = 0 if config.persist else self._counters_ms
        self._renewals: dict[str, tuple[str, threading.Event]] = {}
        self._lock = threading.Lock()
        self._client = self._connect(url)
        import redis

        self._lost = (redis.ConnectionError, redis.TimeoutError)
        self._refused = redis.RedisError
        self._lookup = self._client.register_script(_PRELUDE + _LOOKUP)
        self._claim = self._client.register_script(_PRELUDE + _CLAIM)
        self._put = self._client.register_script(_PRELUDE + _PUT)
        self._release = self._client.register_script(_PRELUDE + _RELEASE)
        self._renew = self._client.register_script(_PRELUDE + _RENEW)
        if config.ttl is not None:
            purge = self._client.register_script(_PRELUDE + _PURGE)
            with self._talking():
                self._run(purge, "")

    @staticmethod
    def _connect(url: str) -> redis.Redis:
        try:
            import redis
        except ImportError:
            raise CacheStoreError(
                "testfleet cache: a url in [tool.testfleet.cache] needs the redis package: "
                "pip install 'testfleet[fleet]'"
            ) from None
        from testfleet.distributed.connection import DEFAULT_TIMEOUT, FleetError, connect

        try:
            connect(url).close()
        except FleetError as exc:
            problem = str(exc).removeprefix("testfleet: ")
            raise CacheStoreError(f"testfleet cache: {problem}") from None
        # connect() read the URL and found the server; values need a client
        # that hands bytes back as bytes.
        return redis.Redis.from_url(
            url, socket_timeout=DEFAULT_TIMEOUT, socket_connect_timeout=DEFAULT_TIMEOUT
        )

    @contextmanager
    def _talking(self) -> Iterator[None]:
        """Turn redis-py's errors into one line naming the server without its password."""
        try:
            yield
        except self._lost as exc:
            problem = scrub(str(exc), self._url) or type(exc).__name__
            raise CacheStoreError(
                f"testfleet cache: lost the connection to Redis at {redact(self._url)}: {problem}"
            ) from None
        except self._refused as exc:
            problem = scrub(str(exc), self._url) or type(exc).__name__
            raise CacheStoreError(
                f"testfleet cache: Redis at {redact(self._url)} refused the cache's "
                f"command: {problem}"
            ) from None

    def _run(self, script: Script, key: str, *extra: str | bytes | int) -> object:
        p = self._prefix
        now = "" if self._clock is None else repr(self._clock())
        ttl = "" if self._config.ttl is None else repr(self._config.ttl)
        keys = [f"{p}lru", f"{p}sizes", f"{p}bytes", f"{p}stamp", self._counters]
        keys += [f"{p}e:{key}", f"{p}claim:{key}"]
        args = [f"{p}e:", key, now, ttl, self._keep_ms, self._counters_ms, *extra]
        return script(keys=keys, args=args)

    def close(self) -> None:
        """Stop renewing this process's claims and close its connections."""
        with self._lock:
            for _, stop in self._renewals.values():
                stop.set()
            self._renewals.clear()
        self._client.close()

    def lookup(self, key: str) -> Entry | None:
        with self._talking():
            found = self._run(self._lookup, key)
        return None if found is None else _entry(found)

    def claim(self, key: str, owner: Owner) -> Entry | Owner:
        holder = f"{owner.pid} {owner.token}"
        with self._talking():
            found = self._run(self._claim, key, holder, self._claim_ms)
        if isinstance(found, list):
            return _entry(found)
        assert isinstance(found, bytes)
        held = found.decode("utf-8")
        if held == holder:
            self._keep_claim(key, holder)
            return owner
        pid, _, token = held.partition(" ")
        return Owner(int(pid), token)

    def put(self, key: str, entry: Entry) -> None:
        self._stop_renewing(key)
        with self._talking():
            self._run(
                self._put,
                key,
                entry.kind,
                entry.data,
                repr(entry.build_seconds),
                self._config.max_entries,
                self._config.max_bytes,
            )

    def release(self, key: str, owner: Owner) -> None:
        holder = f"{owner.pid} {owner.token}"
        self._stop_renewing(key, holder)
        with self._talking():
            self._run(self._release, key, holder)

    def stats(self) -> CacheStats:
        with self._talking():
            row = self._client.hmget(self._counters, "hits", "misses", "sets", "evictions", "saved")
        hits, misses, sets, evictions, saved = (value or b"0" for value in row)
        return CacheStats(int(hits), int(misses), int(sets), int(evictions), float(saved))

    def forget_run(self) -> None:
        """Drop this run's counters (a persistent cache keeps only entries across runs)."""
        with self._talking():
            self._client.delete(self._counters)

    def drop_namespace(self) -> int:
        """Delete every key of this store's namespace now, rather than when it
        expires; how many went.  For a run's own namespace, once the run is over."""
        pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self._prefix) + "*"
        dropped = 0
        with self._talking():
            for keys in _batches(self._client.scan_iter(match=pattern, count=500), 500):
                dropped += int(self._client.unlink(*keys))
        return dropped

    def _keep_claim(self, key: str, holder: str) -> None:
        """Renew the claim of ``key`` every third of its life until put or release.

        A thread, since the build runs in the caller's: a build that takes long
        keeps its claim, and a process that dies takes the thread with it.
        """
        stop = threading.Event()
        with self._lock:
            previous = self._renewals.pop(key, None)
            self._renewals[key] = (holder, stop)
        if previous is not None:
            previous[1].set()
        threading.Thread(
            target=self._renewing,
            args=(key, holder, stop),
            name=f"testfleet-cache-claim-{key}",
            daemon=True,
        ).start()

    def _renewing(self, key: str, holder: str, stop: threading.Event) -> None:
        while not stop.wait(self._claim_ms / 3000):
            try:
                with self._talking():
                    if not self._run(self._renew, key, holder, self._claim_ms):
                        return  # the claim is no longer ours: nothing left to keep
            except CacheStoreError:
                # The builder finds out itself when it puts; no one reads this thread's errors.
                return

    def _stop_renewing(self, key: str, holder: str | None = None) -> None:
        with self._lock:
            found = self._renewals.get(key)
            if found is None or (holder is not None and found[0] != holder):
                return
            del self._renewals[key]
        found[1].set()


def _entry(found: object) -> Entry:
    assert isinstance(found, list)
    kind, data, build = found
    return Entry(kind.decode("utf-8"), bytes(data), float(build))


def _batches(keys: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
