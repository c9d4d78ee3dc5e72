"""Tests of the Redis cache store against the real server at 127.0.0.1:6379.

Each test works in a namespace of its own (``testfleet:test-<random>:cache:``)
and deletes it after; tests that stop a server start their own.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redis_support import client_or_skip, free_port
from testfleet.model.fleet import FleetSettings
from testfleet.resources.cache import (
    CacheConfig,
    CacheStats,
    Entry,
    Owner,
    ScalableCache,
    encode,
)
from testfleet.resources.cache_redis import (
    PERSIST_PREFIX,
    RedisStore,
    holder_alive,
    keyspace,
)
from testfleet.resources.cache_sqlite import CacheStoreError

redis = pytest.importorskip("redis", reason="the test extra installs redis")

#: The database of the local server these tests use (namespaces keep them apart).
REDIS = "redis://127.0.0.1:6379/9"

Store = Callable[..., RedisStore]


class Clock:
    """Time that moves only when a test moves it (or when something sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _new_prefix() -> str:
    return f"testfleet:test-{uuid.uuid4().hex}:cache:"


def _delete(client: Any, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


@pytest.fixture(scope="module")
def raw() -> Iterator[Any]:
    """A client of the test database that hands back bytes (skips, saying why, without a server)."""
    client = client_or_skip(REDIS)
    yield client
    client.close()


@pytest.fixture
def prefix(raw: Any) -> Iterator[str]:
    """A namespace of this test's own, deleted after it."""
    name = _new_prefix()
    yield name
    _delete(raw, name)


@pytest.fixture
def make_store(prefix: str) -> Iterator[Store]:
    """Opens stores on this test's namespace (closed after the test)."""
    opened: list[RedisStore] = []

    def make(
        config: CacheConfig | None = None,
        clock: Callable[[], float] | None = None,
        *,
        run: str = "run-1",
        **options: Any,
    ) -> RedisStore:
        options.setdefault("prefix", prefix)
        store = RedisStore(
            REDIS, config or CacheConfig(), run=run, clock=clock or Clock(), **options
        )
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def cache_of(store: RedisStore, **options: Any) -> ScalableCache:
    return ScalableCache(store, alive=holder_alive, **options)


def test_values_come_back_as_they_went_in(make_store: Store) -> None:
    """bytes, str and JSON values come back equal, of the same type."""
    cache = cache_of(make_store())
    for value in (b"\x00\xff raw", "text é", {"a": [1, 2.5, None]}, [1, "a"]):
        cache.set("k", value)
        back = cache.get("k")
        assert back == value
        assert type(back) is type(value)


def test_values_are_stored_as_their_bytes(make_store: Store, raw: Any, prefix: str) -> None:
    """The server holds the value's bytes as encoded, neither pickled nor base64."""
    cache_of(make_store()).set("k", {"site": "é"})
    stored = raw.hmget(f"{prefix}e:k", "kind", "data")
    assert stored == [b"json", encode({"site": "é"}).data]


@pytest.mark.parametrize("value", [None, 0, "", b"", False, [], {}])
def test_falsy_value_is_a_hit(make_store: Store, value: object) -> None:
    """A present key is a hit, whatever its value."""
    cache = cache_of(make_store())
    cache.set("k", value)
    assert cache.get("k", default="missing") == value
    assert cache.get_or_set("k", lambda: "built") == value
    assert cache.stats() == CacheStats(hits=2, misses=0, sets=1)


def test_miss_returns_default(make_store: Store) -> None:
    """An absent key returns the default and counts a miss."""
    cache = cache_of(make_store())
    assert cache.get("k") is None
    assert cache.get("k", 7) == 7
    assert cache.stats() == CacheStats(misses=2)


def test_keys_with_the_store_s_own_names(make_store: Store) -> None:
    """Keys that look like the store's own names ("lru", "e:x", "claim:y") are plain keys."""
    cache = cache_of(make_store())
    for key in ("lru", "sizes", "bytes", "stamp", "e:x", "claim:y", "runs:run-1", "*"):
        cache.set(key, key)
    for key in ("lru", "sizes", "bytes", "stamp", "e:x", "claim:y", "runs:run-1", "*"):
        assert cache.get(key) == key
    assert cache.stats() == CacheStats(hits=8, sets=8)


def test_lru_at_max_entries(make_store: Store) -> None:
    """Beyond max_entries the least recently used entry goes; a read makes an entry recent."""
    cache = cache_of(make_store(CacheConfig(max_entries=2)))
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1
    cache.set("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    assert cache.stats().evictions == 1


def test_lru_at_max_bytes(make_store: Store) -> None:
    """Beyond max_bytes the least recently used entries go until the rest fits."""
    cache = cache_of(make_store(CacheConfig(max_bytes=10)))
    cache.set("a", b"1234")
    cache.set("b", b"1234")
    cache.set("c", b"12345678")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, b"12345678")
    assert cache.stats().evictions == 2


def test_replacing_a_value_counts_its_new_size(make_store: Store, raw: Any, prefix: str) -> None:
    """Setting a key again replaces its size in the total instead of adding to it."""
    cache = cache_of(make_store(CacheConfig(max_bytes=10)))
    for _ in range(5):
        cache.set("a", b"12345678")
    assert cache.get("a") == b"12345678"
    assert int(raw.get(f"{prefix}bytes")) == 8
    assert cache.stats().evictions == 0


def test_value_larger_than_max_bytes_is_not_kept(make_store: Store) -> None:
    """A value alone over max_bytes evicts itself (and the value it replaces); the others stay."""
    cache = cache_of(make_store(CacheConfig(max_bytes=4)))
    cache.set("small", b"12")
    cache.set("big", b"1")
    cache.set("big", b"12345")
    assert cache.get("big") is None
    assert cache.get("small") == b"12"
    assert cache.stats().evictions == 1


operations = st.lists(
    st.tuples(st.sampled_from(["set", "get"]), st.integers(0, 5), st.integers(0, 6)),
    max_size=40,
)


@settings(max_examples=30, deadline=None)
@given(operations, st.integers(1, 4), st.integers(1, 12))
def test_lru_matches_a_model(
    raw: Any, ops: list[tuple[str, int, int]], max_entries: int, max_bytes: int
) -> None:
    """Any sets and gets keep what an LRU within both bounds keeps, and count alike."""
    prefix = _new_prefix()
    store = RedisStore(
        REDIS, CacheConfig(max_entries=max_entries, max_bytes=max_bytes), prefix=prefix, run="r"
    )
    try:
        cache = cache_of(store)
        model: OrderedDict[str, bytes] = OrderedDict()
        hits = misses = sets = evictions = 0
        for op, number, size in ops:
            key = f"k{number}"
            if op == "set":
                sets += 1
                model.pop(key, None)
                if size <= max_bytes:
                    model[key] = b"x" * size
                else:
                    evictions += 1
                while len(model) > max_entries or sum(map(len, model.values())) > max_bytes:
                    model.popitem(last=False)
                    evictions += 1
                cache.set(key, b"x" * size)
            elif key in model:
                hits += 1
                model.move_to_end(key)
                assert cache.get(key) == model[key]
            else:
                misses += 1
                assert cache.get(key, "absent") == "absent"
        assert cache.stats() == CacheStats(hits, misses, sets, evictions)
        assert [k.decode() for k in raw.zrange(f"{prefix}lru", 0, -1)] == list(model)
        assert int(raw.get(f"{prefix}bytes") or 0) == sum(map(len, model.values()))
    finally:
        store.close()
        _delete(raw, prefix)


def test_ttl_expires_entries(make_store: Store) -> None:
    """An entry older than ttl is gone: a miss, and built again."""
    clock = Clock()
    cache = cache_of(make_store(CacheConfig(ttl=60), clock))
    cache.set("k", "v")
    clock.now += 59
    assert cache.get("k") == "v"
    clock.now += 1
    assert cache.get("k") is None
    assert cache.get_or_set("k", lambda: "again") == "again"
    assert cache.stats() == CacheStats(hits=1, misses=2, sets=2)


def test_ttl_purges_on_open(make_store: Store, raw: Any, prefix: str) -> None:
    """Opening a store drops the entries whose ttl passed, and their sizes."""
    clock = Clock()
    config = CacheConfig(ttl=10, persist=True)
    cache = cache_of(make_store(config, clock))
    cache.set("old", b"1234")
    clock.now += 5
    cache.set("new", b"12")
    clock.now += 5
    make_store(config, clock)
    assert raw.zrange(f"{prefix}lru", 0, -1) == [b"new"]
    assert raw.exists(f"{prefix}e:old") == 0
    assert int(raw.get(f"{prefix}bytes")) == 2


def test_ttl_on_the_server_s_clock(prefix: str) -> None:
    """Without a clock of its own the store measures ttl on the server's clock."""
    kept = RedisStore(REDIS, CacheConfig(ttl=3600), prefix=prefix, run="r")
    short = RedisStore(REDIS, CacheConfig(ttl=0.05), prefix=prefix, run="r")
    try:
        cache_of(short).set("k", "v")
        assert cache_of(kept).get("k") == "v"
        deadline = time.monotonic() + 10
        while cache_of(short).get("k") is not None:
            assert time.monotonic() < deadline, "the entry outlived its ttl"
            time.sleep(0.05)
    finally:
        kept.close()
        short.close()


def test_get_or_set_builds_once_and_hits_save_its_time(make_store: Store) -> None:
    """The first get_or_set builds and sets; later ones hit and add the build time saved."""
    clock = Clock()
    builds: list[int] = []

    def build() -> dict[str, int]:
        builds.append(1)
        clock.now += 2.5
        return {"n": 1}

    cache = cache_of(make_store(), timer=clock, sleep=clock.sleep)
    assert cache.get_or_set("k", build) == {"n": 1}
    assert cache.get_or_set("k", build) == {"n": 1}
    assert cache.get("k") == {"n": 1}
    assert builds == [1]
    assert cache.stats() == CacheStats(hits=2, misses=1, sets=1, saved_seconds=5.0)


def test_waits_for_another_builder(make_store: Store) -> None:
    """While another process builds the key, get_or_set waits and reads its value."""
    clock = Clock()
    theirs, mine = make_store(), make_store()
    other = Owner(4242, "4242-elsewhere-1")
    assert theirs.claim("k", other) == other
    assert mine.claim("k", Owner(1, "1-here-1")) == other

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now > 1001:
            theirs.put("k", Entry("str", b"theirs", 3.0))

    cache = cache_of(mine, pid=1, timer=clock, sleep=sleep)
    assert cache.get_or_set("k", lambda: "mine") == "theirs"
    assert cache.stats() == CacheStats(hits=1, misses=1, sets=1, saved_seconds=3.0)


def test_build_error_releases_the_claim(make_store: Store, raw: Any, prefix: str) -> None:
    """An exception in build reaches the caller, the claim is gone, and the next call builds."""
    cache = cache_of(make_store())

    def fail() -> str:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        cache.get_or_set("k", fail)
    assert raw.exists(f"{prefix}claim:k") == 0
    assert cache.get_or_set("k", lambda: "second") == "second"


def test_release_only_drops_the_holder_s_claim(make_store: Store) -> None:
    """Releasing a claim someone else holds leaves it to them."""
    store = make_store()
    holder = Owner(10, "10-a-1")
    assert store.claim("k", holder) == holder
    store.release("k", Owner(11, "11-b-1"))
    assert store.claim("k", Owner(11, "11-b-1")) == holder
    store.release("k", holder)
    assert store.claim("k", Owner(11, "11-b-1")) == Owner(11, "11-b-1")


def test_a_claim_expires_unless_renewed(make_store: Store, raw: Any, prefix: str) -> None:
    """A claim is written with the claim's lifetime as its expiry, never without one."""
    store = make_store(claim_ttl=30)
    store.claim("k", Owner(1, "1-a-1"))
    assert 0 < raw.pttl(f"{prefix}claim:k") <= 30_000


def test_dead_builder_s_claim_frees_itself(make_store: Store, prefix: str) -> None:
    """A claim whose process died without releasing it expires; a waiter then builds."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            child = RedisStore(REDIS, CacheConfig(), prefix=prefix, run="r", claim_ttl=0.5)
            code = (
                0
                if child.claim("k", Owner(os.getpid(), "child")) == Owner(os.getpid(), "child")
                else 2
            )
        finally:
            os._exit(code)  # dies holding the claim: no release, no put
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    store = make_store(claim_ttl=0.5)
    assert store.claim("k", Owner(1, "probe")) == Owner(pid, "child")
    cache = cache_of(store, sleep=time.sleep)
    assert cache.get_or_set("k", lambda: "mine", timeout=60) == "mine"
    assert cache.stats() == CacheStats(misses=1, sets=1)


def test_live_builder_keeps_its_claim(make_store: Store, raw: Any, prefix: str) -> None:
    """A builder renews its claim while it builds, for longer than the claim lives,
    and stops renewing once it puts the value."""
    builder = make_store(claim_ttl=1.2)
    owner = Owner(1, "1-builder-1")
    assert builder.claim("k", owner) == owner
    renewals, last = 0, raw.pttl(f"{prefix}claim:k")
    deadline = time.monotonic() + 60
    while renewals < 4:  # 4 renewals, a third of the claim's life apart: longer than it
        assert time.monotonic() < deadline, "the claim was never renewed"
        time.sleep(0.05)
        left = raw.pttl(f"{prefix}claim:k")
        assert left > 0, "the claim expired while its builder lived"
        renewals, last = renewals + (left > last), left
    assert make_store().claim("k", Owner(2, "2-other-1")) == owner
    builder.put("k", Entry("str", b"v"))
    assert builder._renewals == {}
    assert raw.exists(f"{prefix}claim:k") == 0


def test_counters_are_per_run(make_store: Store, prefix: str) -> None:
    """Two runs sharing a namespace count on their own; forget_run drops one's."""
    first, second = make_store(run="a"), make_store(run="b")
    cache_of(first).set("k", 1)
    assert cache_of(second).get("k") == 1
    assert (first.stats(), second.stats()) == (CacheStats(sets=1), CacheStats(hits=1))
    first.forget_run()
    assert first.stats() == CacheStats()
    assert second.stats() == CacheStats(hits=1)


def test_processes_of_a_run_share_entries_and_counters(make_store: Store, prefix: str) -> None:
    """A value set in one process is a hit in another, and the counters sum both."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            child = RedisStore(REDIS, CacheConfig(), prefix=prefix, run="run-1")
            cache_of(child).set("k", {"from": "child"})
            code = 0
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    cache = cache_of(make_store())
    assert cache.get("k") == {"from": "child"}
    assert cache.stats() == CacheStats(hits=1, sets=1)


def test_every_key_of_a_run_expires(make_store: Store, raw: Any, prefix: str) -> None:
    """Every key a run writes expires within key_ttl; claims within their own life."""
    cache = cache_of(make_store(key_ttl=100, claim_ttl=30))
    cache.set("a", 1)
    cache.get("a")
    cache.get("absent")
    make_store(key_ttl=100, claim_ttl=30).claim("b", Owner(1, "1-x-1"))
    keys = {k.decode(): raw.pttl(k) for k in raw.scan_iter(match=f"{prefix}*")}
    assert set(keys) == {
        f"{prefix}{name}" for name in ("e:a", "lru", "sizes", "bytes", "stamp", "runs:run-1")
    } | {f"{prefix}claim:b"}
    assert all(0 < left <= 100_000 for left in keys.values()), keys
    assert keys[f"{prefix}claim:b"] <= 30_000


def test_persistent_entries_do_not_expire(make_store: Store, raw: Any, prefix: str) -> None:
    """With persist the entries live by ttl and the bounds only; the run's counters still expire."""
    cache = cache_of(make_store(CacheConfig(persist=True), key_ttl=100))
    cache.set("a", 1)
    cache.get("a")
    keys = {k.decode(): raw.pttl(k) for k in raw.scan_iter(match=f"{prefix}*")}
    counters = keys.pop(f"{prefix}runs:run-1")
    assert 0 < counters <= 100_000
    assert keys == {f"{prefix}{name}": -1 for name in ("e:a", "lru", "sizes", "bytes", "stamp")}


def test_drop_namespace_drops_only_its_own(make_store: Store, raw: Any, prefix: str) -> None:
    """drop_namespace deletes the store's keys and no other namespace's, glob characters
    in the name included."""
    neighbour = make_store(prefix=f"{prefix}[x]*:")
    cache_of(neighbour).set("n", 1)
    store = make_store(prefix=f"{prefix}[x]:")
    cache_of(store).set("k", 1)
    assert store.drop_namespace() == 6
    left = {k.decode() for k in raw.scan_iter(match=f"{prefix}*")}
    assert left
    assert all(k.startswith(f"{prefix}[x]*:") for k in left)


def test_keyspace() -> None:
    """A fleet node shares its fleet run's namespace, a local run has its own, and a
    persistent cache one for every run, with counters per run."""
    fleet = FleetSettings(url="redis://h/0", run_id="nightly-42", node="a")
    assert keyspace(CacheConfig(), "abc", None) == ("testfleet:abc:cache:", "abc")
    assert keyspace(CacheConfig(), "abc", fleet) == ("testfleet:nightly-42:cache:", "nightly-42")
    assert keyspace(CacheConfig(persist=True), "abc", None) == (PERSIST_PREFIX, "abc")
    assert keyspace(CacheConfig(persist=True), "abc", fleet) == (PERSIST_PREFIX, "nightly-42")


def test_server_lost_mid_run(own_redis: tuple[int, subprocess.Popen[bytes]]) -> None:
    """A server that goes away is one line naming it, without its password."""
    port, server = own_redis
    store = RedisStore(
        f"redis://:secret@127.0.0.1:{port}/0", CacheConfig(), prefix=_new_prefix(), run="r"
    )
    cache = cache_of(store)
    cache.set("k", "v")
    server.terminate()
    server.wait(timeout=30)
    with pytest.raises(CacheStoreError) as info:
        cache.get("k")
    message = str(info.value)
    assert message.startswith(
        f"testfleet cache: lost the connection to Redis at redis://127.0.0.1:{port}/0: "
    )
    assert "secret" not in message
    assert "\n" not in message
    store.close()


def test_wrong_password(own_redis: tuple[int, subprocess.Popen[bytes]]) -> None:
    """A password the server refuses is an error naming the server, not the password."""
    port, _ = own_redis
    with pytest.raises(CacheStoreError) as info:
        RedisStore(f"redis://:wrong@127.0.0.1:{port}/0", CacheConfig(), prefix="p:", run="r")
    assert str(info.value).startswith(
        f"testfleet cache: Redis at redis://127.0.0.1:{port}/0 refused the login: "
    )
    assert "wrong" not in str(info.value)


def test_unreachable_server() -> None:
    """No server at the URL is one error naming it, without its password."""
    port = free_port()
    with pytest.raises(CacheStoreError) as info:
        RedisStore(f"redis://:secret@127.0.0.1:{port}/3", CacheConfig(), prefix="p:", run="r")
    message = str(info.value)
    assert message.startswith(
        f"testfleet cache: cannot reach Redis at redis://127.0.0.1:{port}/3: "
    )
    assert "secret" not in message
