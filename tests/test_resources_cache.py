"""Unit and property tests of the shared cache: configuration, values, the SQLite store's LRU."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testfleet.resources.cache import (
    CacheConfig,
    CacheConfigError,
    CacheStats,
    CacheWaitTimeout,
    Entry,
    Owner,
    ScalableCache,
    decode,
    encode,
    format_stats,
    parse_cache_config,
)
from testfleet.resources.cache_sqlite import CacheStoreError, SqliteStore

KEY = "tool.testfleet.cache"


class Clock:
    """Time that moves only when a test moves it (or when something sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def store(
    config: CacheConfig | None = None,
    clock: Clock | None = None,
    *,
    path: str = ":memory:",
    run: str = "run-1",
) -> SqliteStore:
    return SqliteStore(path, config or CacheConfig(), run, clock=clock or Clock())


def test_defaults() -> None:
    """An empty table gives 1000 entries, 256 MiB, no persistence and no ttl."""
    assert parse_cache_config({}, "pyproject.toml", KEY) == CacheConfig(
        1000, 256 * 1024 * 1024, False, None
    )


def test_full_table() -> None:
    """Every key is read, a whole-number ttl becoming seconds as a float."""
    table = {"max_entries": 5, "max_bytes": 100, "persist": True, "ttl": 60, "url": "redis://h/1"}
    assert parse_cache_config(table, "f", KEY) == CacheConfig(5, 100, True, 60.0, "redis://h/1")


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://cache.example",
        "rediss://:s3cret@cache.example:6380/2",
        "redis://user:pw@cache.example/15",
        "unix:///run/redis.sock?db=3",
    ],
)
def test_redis_url(url: str) -> None:
    """A redis://, rediss:// or unix:// URL is kept as written, password included."""
    assert parse_cache_config({"url": url}, "f", KEY).url == url


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ({"max_entrys": 5}, f"{KEY}.max_entrys", "unknown key; allowed keys: max_bytes"),
        ({"max_entries": -1}, f"{KEY}.max_entries", "1 or more, not -1"),
        ({"max_entries": 0}, f"{KEY}.max_entries", "1 or more, not 0"),
        ({"max_bytes": "1MB"}, f"{KEY}.max_bytes", "not '1MB'"),
        ({"max_bytes": True}, f"{KEY}.max_bytes", "not True"),
        ({"persist": "yes"}, f"{KEY}.persist", "true or false, not a string"),
        ({"ttl": -5}, f"{KEY}.ttl", "above 0, not -5"),
        ({"ttl": False}, f"{KEY}.ttl", "above 0, not False"),
        ({"url": 6379}, f"{KEY}.url", "a redis://, rediss:// or unix:// URL, not an integer"),
        ({"url": "http://h/0"}, f"{KEY}.url", "unix:// URL, not 'http://h/0'"),
        ({"url": "127.0.0.1:6379"}, f"{KEY}.url", "unix:// URL, not '127.0.0.1:6379'"),
        ({"url": "redis://h:port/0"}, f"{KEY}.url", "port must be a number from 0 to 65535"),
        ({"url": "redis://h/cache"}, f"{KEY}.url", "database after the host must be a number"),
    ],
)
def test_bad_config(table: dict[str, object], key: str, problem: str) -> None:
    """A bad key or value is an error naming the file and the dotted key."""
    with pytest.raises(CacheConfigError) as info:
        parse_cache_config(table, "pyproject.toml", KEY)
    assert info.value.key == key
    assert problem in str(info.value)
    assert str(info.value).startswith(f"pyproject.toml: {key}: ")


@pytest.mark.parametrize(
    "url", ["http://:secret@h/0", "redis://:secret@h:port/0", "redis://u:secret@h/x"]
)
def test_bad_url_hides_its_password(url: str) -> None:
    """A bad URL is shown in the error without its password."""
    with pytest.raises(CacheConfigError) as info:
        parse_cache_config({"url": url}, "pyproject.toml", KEY)
    assert info.value.key == f"{KEY}.url"
    assert "secret" not in str(info.value)


def test_not_a_table() -> None:
    """A cache key that is not a table is an error listing the allowed keys."""
    with pytest.raises(CacheConfigError, match="must be a table, not an integer"):
        parse_cache_config(3, "testfleet.toml", "cache")


@pytest.mark.parametrize(
    "value", [b"\x00raw", "text é", None, 0, "", b"", False, [1, "a"], {"a": {"b": 1.5}}]
)
def test_round_trip(value: object) -> None:
    """bytes, str and JSON values come back equal, of the same type."""
    back = decode(encode(value))
    assert back == value
    assert type(back) is type(value)


def test_tuple_comes_back_as_list() -> None:
    """A JSON value comes back as JSON gives it back."""
    assert decode(encode((1, 2))) == [1, 2]


@pytest.mark.parametrize(
    ("value", "named"),
    [({1, 2}, "set"), (object(), "object"), ([1, {2}], "list"), (bytearray(b"x"), "bytearray")],
)
def test_unstorable_value(value: object, named: str) -> None:
    """A value that is not bytes, str or JSON is a TypeError naming its type."""
    with pytest.raises(TypeError, match=f"cannot store a value of type {named} "):
        encode(value)


def test_unstorable_nested_value_names_inner_type() -> None:
    """The message also says which value inside the container JSON refused."""
    with pytest.raises(TypeError, match="Object of type set"):
        encode({"a": {1}})


@pytest.mark.parametrize(
    ("stats", "line"),
    [
        (CacheStats(), "testfleet cache: 0 hits, 0 misses, 0 sets, 0 evictions, ~0.0 s saved"),
        (
            CacheStats(12, 3, 4, 1, 7.26),
            "testfleet cache: 12 hits, 3 misses, 4 sets, 1 evictions, ~7.3 s saved",
        ),
    ],
)
def test_format_stats(stats: CacheStats, line: str) -> None:
    """The end-of-run line shows every figure, seconds to one decimal."""
    assert format_stats(stats) == line


@pytest.mark.parametrize("value", [None, 0, "", b"", False, [], {}])
def test_falsy_value_is_a_hit(value: object) -> None:
    """A present key is a hit, whatever its value."""
    cache = ScalableCache(store())
    cache.set("k", value)
    assert cache.get("k", default="missing") == value
    assert cache.get_or_set("k", lambda: "built") == value
    assert cache.stats() == CacheStats(hits=2, misses=0, sets=1)


def test_miss_returns_default() -> None:
    """An absent key returns the default and counts a miss."""
    cache = ScalableCache(store())
    assert cache.get("k") is None
    assert cache.get("k", 7) == 7
    assert cache.stats() == CacheStats(misses=2)
    assert cache.stats().used


def test_key_must_be_str() -> None:
    """A key that is not a str is a TypeError naming its type."""
    with pytest.raises(TypeError, match="keys are str, not int"):
        ScalableCache(store()).get(3)  # type: ignore[arg-type]


def test_lru_at_max_entries() -> None:
    """Beyond max_entries the least recently used entry goes; a read makes an entry recent."""
    cache = ScalableCache(store(CacheConfig(max_entries=2)))
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1
    cache.set("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    assert cache.stats().evictions == 1


def test_lru_at_max_bytes() -> None:
    """Beyond max_bytes the least recently used entries go until the rest fits."""
    cache = ScalableCache(store(CacheConfig(max_bytes=10)))
    cache.set("a", b"1234")
    cache.set("b", b"1234")
    cache.set("c", b"12345678")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, b"12345678")
    assert cache.stats().evictions == 2


def test_value_larger_than_max_bytes_is_not_kept() -> None:
    """A value alone over max_bytes evicts itself, and the others stay."""
    cache = ScalableCache(store(CacheConfig(max_bytes=4)))
    cache.set("small", b"12")
    cache.set("big", b"12345")
    assert cache.get("big") is None
    assert cache.get("small") == b"12"
    assert cache.stats().evictions == 1


def test_ttl_expires_entries() -> None:
    """An entry older than ttl is gone: a miss, and built again."""
    clock = Clock()
    cache = ScalableCache(store(CacheConfig(ttl=60), clock))
    cache.set("k", "v")
    clock.now += 59
    assert cache.get("k") == "v"
    clock.now += 1
    assert cache.get("k") is None
    assert cache.get_or_set("k", lambda: "again") == "again"


def test_ttl_purges_on_open(tmp_path: Path) -> None:
    """Opening a persistent file drops the entries whose ttl passed."""
    clock = Clock()
    path = str(tmp_path / "c.db")
    ScalableCache(store(CacheConfig(ttl=10), clock, path=path)).set("k", 1)
    clock.now += 10
    reopened = store(CacheConfig(ttl=10), clock, path=path)
    assert reopened._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 0


def test_get_or_set_builds_once_and_hits_save_its_time() -> None:
    """The first get_or_set builds and sets; later ones hit and add the build time saved."""
    clock = Clock()
    builds: list[int] = []

    def build() -> dict[str, int]:
        builds.append(1)
        clock.now += 2.5
        return {"n": 1}

    cache = ScalableCache(store(), timer=clock, sleep=clock.sleep)
    assert cache.get_or_set("k", build) == {"n": 1}
    assert cache.get_or_set("k", build) == {"n": 1}
    assert cache.get("k") == {"n": 1}
    assert builds == [1]
    assert cache.stats() == CacheStats(hits=2, misses=1, sets=1, saved_seconds=5.0)


def test_get_or_set_returns_the_stored_form() -> None:
    """The builder gets the value as every other reader will, not the object it built."""
    assert ScalableCache(store()).get_or_set("k", lambda: (1, 2)) == [1, 2]


def test_build_error_releases_the_claim() -> None:
    """An exception in build reaches the caller, and the next call builds again."""
    cache = ScalableCache(store())

    def fail() -> str:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        cache.get_or_set("k", fail)
    assert cache.get_or_set("k", lambda: "second") == "second"


def test_unstorable_build_releases_the_claim() -> None:
    """A built value that cannot be stored is a TypeError, and the key is free again."""
    cache = ScalableCache(store())
    with pytest.raises(TypeError, match="type set"):
        cache.get_or_set("k", lambda: {1})
    assert cache.get_or_set("k", lambda: "ok") == "ok"


def test_waits_for_another_builder() -> None:
    """While another live process builds the key, get_or_set waits and reads its value."""
    clock = Clock()
    shared = store(clock=clock)
    other = Owner(4242, "4242-1")
    assert shared.claim("k", other) == other

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now > 1001:
            shared.put("k", Entry("str", b"theirs", 3.0))

    cache = ScalableCache(shared, pid=1, alive=lambda pid: True, timer=clock, sleep=sleep)
    assert cache.get_or_set("k", lambda: "mine") == "theirs"
    assert cache.stats() == CacheStats(hits=1, misses=1, sets=1, saved_seconds=3.0)


def test_claims_of_two_caches_in_one_process_id_differ() -> None:
    """Claims carry more than the process id: a shared store sees the same ids on
    other machines, and a claim that looked like its own would let two build."""
    shared = store()
    first = ScalableCache(shared, pid=7)
    second = ScalableCache(shared, pid=7, alive=lambda pid: True, sleep=lambda s: None)
    tokens: list[str] = []

    def build_first() -> str:
        claim = shared.claim("k", Owner(0, "probe"))
        assert isinstance(claim, Owner)
        tokens.append(claim.token)
        with pytest.raises(CacheWaitTimeout):
            second.get_or_set("k", lambda: "second", timeout=0)
        return "first"

    assert first.get_or_set("k", build_first) == "first"
    assert len(tokens) == 1
    assert tokens[0].startswith("7-")


def test_takes_over_from_a_dead_builder() -> None:
    """A claim whose process is gone is taken over, and the key built."""
    shared = store()
    shared.claim("k", Owner(4242, "4242-1"))
    cache = ScalableCache(shared, pid=1, alive=lambda pid: pid != 4242)
    assert cache.get_or_set("k", lambda: "mine") == "mine"


def test_wait_is_bounded() -> None:
    """Waiting longer than the timeout is an error naming the key and the builder."""
    clock = Clock()
    shared = store(clock=clock)
    shared.claim("k", Owner(4242, "4242-1"))
    cache = ScalableCache(shared, pid=1, alive=lambda pid: True, timer=clock, sleep=clock.sleep)
    with pytest.raises(CacheWaitTimeout, match="waited 5 s for 'k', which process 4242"):
        cache.get_or_set("k", lambda: "mine", timeout=5)


def test_recursive_build_is_an_error() -> None:
    """A build that asks for its own key fails at once instead of waiting for itself."""
    cache = ScalableCache(store())
    with pytest.raises(RuntimeError, match="called again while building 'k'"):
        cache.get_or_set("k", lambda: cache.get_or_set("k", lambda: 1))
    assert cache.get_or_set("k", lambda: 2) == 2


def test_counters_are_per_run(tmp_path: Path) -> None:
    """Two runs sharing a persistent file count on their own; forget_run drops one's."""
    path = str(tmp_path / "c.db")
    first, second = store(path=path, run="a"), store(path=path, run="b")
    ScalableCache(first).set("k", 1)
    assert ScalableCache(second).get("k") == 1
    assert (first.stats(), second.stats()) == (CacheStats(sets=1), CacheStats(hits=1))
    first.forget_run()
    assert first.stats() == CacheStats()


def test_not_a_database(tmp_path: Path) -> None:
    """A file that is not SQLite is one error naming it and saying to delete it."""
    path = tmp_path / "c.db"
    path.write_bytes(b"not a database at all, clearly" * 10)
    with pytest.raises(CacheStoreError, match=f"cannot use {path} .*delete the file"):
        store(path=str(path))


operations = st.lists(
    st.tuples(st.sampled_from(["set", "get"]), st.integers(0, 5), st.integers(0, 6)),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(operations, st.integers(1, 4), st.integers(1, 12))
def test_lru_matches_a_model(
    ops: list[tuple[str, int, int]], max_entries: int, max_bytes: int
) -> None:
    """Any sets and gets keep what an LRU within both bounds keeps, and count alike."""
    cache = ScalableCache(store(CacheConfig(max_entries=max_entries, max_bytes=max_bytes)))
    model: OrderedDict[str, bytes] = OrderedDict()
    hits = misses = sets = evictions = 0
    for op, number, size in ops:
        key = f"k{number}"
        if op == "set":
            sets += 1
            model.pop(key, None)
            if size > max_bytes:
                evictions += 1
                cache.set(key, b"x" * size)
                continue
            model[key] = b"x" * size
            while len(model) > max_entries or sum(map(len, model.values())) > max_bytes:
                model.popitem(last=False)
                evictions += 1
        elif key in model:
            hits += 1
            model.move_to_end(key)
            assert cache.get(key) == model[key]
            continue
        else:
            misses += 1
            assert cache.get(key, "absent") == "absent"
            continue
        cache.set(key, b"x" * size)
    assert cache.stats() == CacheStats(hits, misses, sets, evictions)
    kept = cache._store._db.execute("SELECT key FROM entries ORDER BY used").fetchall()  # type: ignore[attr-defined]
    assert [row[0] for row in kept] == list(model)


def test_processes_opening_a_new_file_at_once_all_get_the_store(
    open_at_once: Callable[[Callable[[Path], object]], int],
) -> None:
    """Workers that open a new cache file at the same moment all open it: the loser of
    the race to switch it to WAL tries again instead of failing (it lost ~3 % of opens)."""
    assert open_at_once(lambda path: SqliteStore(path, CacheConfig(), run="r").close()) == 0
