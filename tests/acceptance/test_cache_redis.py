"""Acceptance tests of ``fleet_cache`` on Redis: real pytest sessions against the server at
127.0.0.1:6379, whose databases 10 and 11 these tests use."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from redis_support import client_or_skip, free_port

redis = pytest.importorskip("redis", reason="the test extra installs redis")

Run = Callable[..., pytest.RunResult]

#: The database the runs under test keep their cache in.
URL = "redis://127.0.0.1:6379/10"
#: The database of the persistent cache's test, whose namespace every run shares.
PERSIST_URL = "redis://127.0.0.1:6379/11"


@pytest.fixture
def db() -> Iterator[Any]:
    """A client of database 10 (skips, saying why, without a server)."""
    client = client_or_skip(URL)
    yield client
    client.close()


def cache_keys(client: Any) -> set[bytes]:
    return set(client.scan_iter(match="testfleet:*:cache:*"))


# A build that waits (bounded) until two processes have asked for the key, so
# that under --workers the second asks while the first builds; each build
# leaves a file, so the test counts builds without trusting the cache's figures.
# The tests also look in Redis: the entry is there, not in a file.
CONCURRENT_SUITE = """
import os, time
import pytest
import redis

HERE = os.path.dirname(__file__)

def build():
    open(os.path.join(HERE, "builds", str(os.getpid())), "w").close()
    deadline = time.monotonic() + 20
    while len(os.listdir(os.path.join(HERE, "arrived"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"site": "seeded"}

@pytest.mark.parametrize("n", range(4))
def test_uses_the_site(fleet_cache, n):
    open(os.path.join(HERE, "arrived", str(os.getpid())), "w").close()
    assert fleet_cache.get_or_set("site", build) == {"site": "seeded"}
    client = redis.Redis.from_url(%r)
    assert len(list(client.scan_iter(match="testfleet:*:cache:e:site"))) >= 1
"""


def test_concurrent_misses_build_once(pytester: pytest.Pytester, run: Run, db: Any) -> None:
    """Workers missing one key at the same time build it once on the Redis store, the
    line shows the run's figures, and the run's keys are gone after it."""
    before = cache_keys(db)
    pytester.makepyprojecttoml(f'[tool.testfleet.cache]\nurl = "{URL}"\n')
    pytester.makepyfile(test_site=CONCURRENT_SUITE % URL)
    (pytester.path / "builds").mkdir()
    (pytester.path / "arrived").mkdir()
    result = run("--workers", "2")
    result.assert_outcomes(passed=4)
    assert len(list((pytester.path / "arrived").iterdir())) == 2, "both workers asked"
    assert len(list((pytester.path / "builds").iterdir())) == 1
    result.stdout.fnmatch_lines(
        ["testfleet cache: 3 hits, 1 misses, 1 sets, 0 evictions, ~* s saved"]
    )
    assert cache_keys(db) <= before


def test_nodes_of_a_fleet_run_share_the_cache(pytester: pytest.Pytester, run: Run, db: Any) -> None:
    """Two nodes of one fleet run (two pytest runs naming the same run id) share entries:
    the second reads what the first built, and the keys stay, expiring, for the others."""
    run_id = f"test-{uuid.uuid4().hex}"
    pytester.makepyprojecttoml(f'[tool.testfleet.cache]\nurl = "{URL}"\n')
    pytester.makeconftest(
        f"""
        import os
        from testfleet.model.fleet import FleetSettings
        from testfleet.plugins.keys import FLEET

        def pytest_configure(config):
            # What --fleet will set: this process is a node of run {run_id!r}.
            config.stash[FLEET] = FleetSettings(
                url={URL!r}, run_id={run_id!r}, node=str(os.getpid()), key_ttl=600
            )
        """
    )
    pytester.makepyfile(
        """
        import os

        def build():
            open(os.path.join(os.path.dirname(__file__), f"built-{os.getpid()}"), "a").close()
            return [1, 2]

        def test_index(fleet_cache):
            assert fleet_cache.get_or_set("index", build) == [1, 2]
        """
    )
    try:
        first = run("--workers", "2")
        first.assert_outcomes(passed=1)
        first.stdout.fnmatch_lines(["testfleet cache: 0 hits, 1 misses, 1 sets, 0 evictions, ~*"])
        second = run()
        second.assert_outcomes(passed=1)
        # The fleet run's counters: the nodes' figures together.
        second.stdout.fnmatch_lines(["testfleet cache: 1 hits, 1 misses, 1 sets, 0 evictions, ~*"])
        assert len(list(pytester.path.glob("built-*"))) == 1
        kept = list(db.scan_iter(match=f"testfleet:{run_id}:cache:*"))
        assert f"testfleet:{run_id}:cache:e:index".encode() in kept
        assert all(0 < db.pttl(key) <= 600_000 for key in kept)
    finally:
        for key in db.scan_iter(match=f"testfleet:{run_id}:cache:*"):
            db.delete(key)


def test_persist_across_runs(pytester: pytest.Pytester, run: Run, db: Any) -> None:
    """With persist = true a value built in one run is a hit in the next one, and each
    run's line counts that run alone."""
    client = redis.Redis.from_url(PERSIST_URL)
    for key in client.scan_iter(match="testfleet:persist:cache:*"):
        client.delete(key)
    pytester.makepyprojecttoml(
        f'[tool.testfleet.cache]\nurl = "{PERSIST_URL}"\npersist = true\nttl = 3600\n'
    )
    pytester.makepyfile(
        """
        def test_index(fleet_cache):
            assert fleet_cache.get_or_set("index", lambda: "built") == "built"
        """
    )
    try:
        first = run("--workers", "2")
        first.assert_outcomes(passed=1)
        first.stdout.fnmatch_lines(["testfleet cache: 0 hits, 1 misses, 1 sets, 0 evictions, ~*"])
        second = run()
        second.assert_outcomes(passed=1)
        second.stdout.fnmatch_lines(["testfleet cache: 1 hits, 0 misses, 0 sets, 0 evictions, ~*"])
        assert not (pytester.path / ".testfleet" / "cache.db").exists()
        assert list(client.scan_iter(match="testfleet:persist:cache:runs:*")) == []
        assert client.pttl("testfleet:persist:cache:e:index") == -1
    finally:
        for key in client.scan_iter(match="testfleet:persist:cache:*"):
            client.delete(key)
        client.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("'http://:secret@h/0'", "must be a redis://, rediss:// or unix:// URL, not 'http://h/0'"),
        ("6379", "must be a redis://, rediss:// or unix:// URL, not an integer"),
        (
            "'redis://:secret@h:port/0'",
            "the port must be a number from 0 to 65535 in 'redis://h:port/0'",
        ),
    ],
)
@pytest.mark.parametrize("workers", [(), ("--workers", "2")], ids=["plain", "workers"])
def test_bad_url_is_a_usage_error(
    pytester: pytest.Pytester, run: Run, *, workers: tuple[str, ...], url: str, message: str
) -> None:
    """A bad url stops the run with exit code 4 and one line naming the key, no password."""
    pytester.makepyprojecttoml(f"[tool.testfleet.cache]\nurl = {url}\n")
    pytester.makepyfile("def test_a(fleet_cache): pass\n")
    result = run(*workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: testfleet: */pyproject.toml: tool.testfleet.cache.url: {message}"]
    )
    assert "Traceback" not in result.stderr.str()
    assert "secret" not in result.stdout.str() + result.stderr.str()


def test_unreachable_server(pytester: pytest.Pytester, run: Run) -> None:
    """With no server at the url the tests using the cache fail with one line naming the
    server, without its password; the others pass."""
    port = free_port()
    pytester.makepyprojecttoml(
        f'[tool.testfleet.cache]\nurl = "redis://:secret@127.0.0.1:{port}/0"\n'
    )
    pytester.makepyfile(
        """
        def test_cached(fleet_cache):
            fleet_cache.set("k", 1)

        def test_plain():
            pass
        """
    )
    result = run("--workers", "2")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*testfleet cache: cannot reach Redis at redis://127.0.0.1:{port}/0: *",
        ]
    )
    assert "secret" not in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stdout.str()


def test_server_lost_mid_run(
    pytester: pytest.Pytester,
    run: Run,
    own_redis: tuple[int, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that goes away during the run fails the next test that uses the cache,
    with one line naming the server without its password."""
    port, server = own_redis
    monkeypatch.setenv("REDIS_SERVER_PID", str(server.pid))
    monkeypatch.setenv("REDIS_SERVER_PORT", str(port))
    pytester.makepyprojecttoml(
        f'[tool.testfleet.cache]\nurl = "redis://:secret@127.0.0.1:{port}/0"\n'
    )
    pytester.makepyfile(
        """
        import os, signal, socket, time

        def test_before(fleet_cache):
            fleet_cache.set("k", 1)

        PORT = int(os.environ["REDIS_SERVER_PORT"])

        def test_server_goes_away():
            os.kill(int(os.environ["REDIS_SERVER_PID"]), signal.SIGTERM)
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                except ConnectionRefusedError:
                    break
                assert time.monotonic() < deadline, "redis-server did not stop"
                time.sleep(0.05)

        def test_after(fleet_cache):
            fleet_cache.get("k")
        """
    )
    result = run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *CacheStoreError: testfleet cache: lost the connection to Redis at "
            f"redis://127.0.0.1:{port}/0: *",
            "FAILED test_server_lost_mid_run.py::test_after - *",
        ]
    )
    assert "secret" not in result.stdout.str() + result.stderr.str()
