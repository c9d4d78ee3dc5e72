"""Acceptance tests of ``fleet_cache``: real pytest sessions, plain and with --workers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from testfleet.history import SQLiteStore

Run = Callable[..., pytest.RunResult]

# A build that waits (bounded) until two processes have asked for the key, so
# that under --workers the second asks while the first builds; each build
# leaves a file, so the test counts builds without trusting the cache's figures.
CONCURRENT_SUITE = """
import os, time
import pytest

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
"""


def test_concurrent_misses_build_once(pytester: pytest.Pytester, run: Run) -> None:
    """Workers missing one key at the same time build it once; the others wait and read it."""
    pytester.makepyfile(test_site=CONCURRENT_SUITE)
    (pytester.path / "builds").mkdir()
    (pytester.path / "arrived").mkdir()
    result = run("--workers", "2")
    result.assert_outcomes(passed=4)
    assert len(list((pytester.path / "arrived").iterdir())) == 2, "both workers asked"
    assert len(list((pytester.path / "builds").iterdir())) == 1
    result.stdout.fnmatch_lines(
        ["testfleet cache: 3 hits, 1 misses, 1 sets, 0 evictions, ~* s saved"]
    )


@pytest.mark.parametrize("workers", [(), ("--workers", "2")], ids=["plain", "workers"])
def test_get_or_set_in_one_process(
    pytester: pytest.Pytester, run: Run, workers: tuple[str, ...]
) -> None:
    """Tests of one process build a key once and hit it after, with or without workers."""
    pytester.makepyfile(
        """
        import os

        def build():
            open(os.path.join(os.path.dirname(__file__), "built-" + str(os.getpid())), "a").close()
            return "value"

        def test_first(fleet_cache):
            assert fleet_cache.get_or_set("k", build) == "value"
            assert fleet_cache.get_or_set("k", build) == "value"
            assert fleet_cache.stats().hits >= 1
        """
    )
    result = run(*workers)
    result.assert_outcomes(passed=1)
    assert len(list(pytester.path.glob("built-*"))) == 1
    result.stdout.fnmatch_lines(["testfleet cache: 1 hits, 1 misses, 1 sets, 0 evictions, ~*"])


def test_falsy_value_is_a_hit(pytester: pytest.Pytester, run: Run) -> None:
    """None, 0 and "" stored are hits, not misses."""
    pytester.makepyfile(
        """
        def test_falsy(fleet_cache):
            for key, value in (("none", None), ("zero", 0), ("empty", "")):
                fleet_cache.set(key, value)
                assert fleet_cache.get(key, "missing") == value
                assert fleet_cache.get_or_set(key, lambda: "built") == value
        """
    )
    result = run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["testfleet cache: 6 hits, 0 misses, 3 sets, 0 evictions, ~*"])


@pytest.mark.parametrize("workers", [(), ("--workers", "2")], ids=["plain", "workers"])
@pytest.mark.parametrize(
    ("bound", "values", "gone"),
    [
        ("max_entries = 2", ["1", "2", "3"], "a"),
        ("max_bytes = 10", ["123456", "123456", "12"], "a"),
    ],
    ids=["max_entries", "max_bytes"],
)
def test_eviction_at_the_bounds(
    pytester: pytest.Pytester,
    run: Run,
    *,
    workers: tuple[str, ...],
    bound: str,
    values: list[str],
    gone: str,
) -> None:
    """Beyond max_entries or max_bytes the least recently used entry is evicted."""
    pytester.makepyprojecttoml(f"[tool.testfleet.cache]\n{bound}\n")
    pytester.makepyfile(
        f"""
        def test_bounds(fleet_cache):
            for key, value in zip("abc", {values!r}):
                fleet_cache.set(key, value)
            assert fleet_cache.get({gone!r}) is None
            assert fleet_cache.get("c") == {values[2]!r}

        def test_other():
            pass
        """
    )
    result = run(*workers)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["testfleet cache: 1 hits, 1 misses, 3 sets, 1 evictions, ~*"])


def test_persist_across_runs(pytester: pytest.Pytester, run: Run) -> None:
    """With persist = true a value built in one run is a hit in the next one."""
    pytester.makepyprojecttoml("[tool.testfleet.cache]\npersist = true\nttl = 3600\n")
    pytester.makepyfile(
        """
        import os

        def build():
            open(os.path.join(os.path.dirname(__file__), "built-" + str(os.getpid())), "a").close()
            return [1, 2]

        def test_index(fleet_cache):
            assert fleet_cache.get_or_set("index", build) == [1, 2]
        """
    )
    first = run("--workers", "2")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["testfleet cache: 0 hits, 1 misses, 1 sets, 0 evictions, ~*"])
    assert (pytester.path / ".testfleet" / "cache.db").is_file()
    second = run()
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["testfleet cache: 1 hits, 0 misses, 0 sets, 0 evictions, ~*"])
    assert len(list(pytester.path.glob("built-*"))) == 1


def test_without_persist_each_run_starts_empty(pytester: pytest.Pytester, run: Run) -> None:
    """Without persist the next run misses what the last one set."""
    pytester.makepyfile(
        """
        def test_once(fleet_cache):
            assert fleet_cache.get("k") is None
            fleet_cache.set("k", "v")
        """
    )
    run().assert_outcomes(passed=1)
    run().assert_outcomes(passed=1)


def test_no_line_when_unused(pytester: pytest.Pytester, run: Run) -> None:
    """A run that never uses the cache prints no cache line, with or without workers."""
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass\n")
    for args in ((), ("--workers", "2")):
        result = run(*args)
        result.assert_outcomes(passed=2)
        result.stdout.no_fnmatch_line("*testfleet cache*")


def test_unstorable_value(pytester: pytest.Pytester, run: Run) -> None:
    """A value that is not bytes, str or JSON fails the test with a TypeError naming its type."""
    pytester.makepyfile(
        """
        def test_set(fleet_cache):
            fleet_cache.set("k", {1, 2})
        """
    )
    result = run("--workers", "2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TypeError: fleet_cache cannot store a value of type set *"])


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        (
            "pyproject.toml",
            "[tool.testfleet.cache]\nmax_entrys = 5\n",
            "*pyproject.toml: tool.testfleet.cache.max_entrys: unknown key; allowed keys: *",
        ),
        (
            "pyproject.toml",
            "[tool.testfleet.cache]\nmax_bytes = -1\n",
            "*pyproject.toml: tool.testfleet.cache.max_bytes: must be a whole number of 1 "
            "or more, not -1",
        ),
        (
            "testfleet.toml",
            "[cache]\npersist = 'yes'\n",
            "*testfleet.toml: cache.persist: must be true or false, not a string",
        ),
        (
            "testfleet.toml",
            "[cache]\nttl = 0\n",
            "*testfleet.toml: cache.ttl: must be a number of seconds above 0, not 0",
        ),
    ],
)
@pytest.mark.parametrize("workers", [(), ("--workers", "2")], ids=["plain", "workers"])
def test_bad_config_is_a_usage_error(
    pytester: pytest.Pytester,
    run: Run,
    *,
    workers: tuple[str, ...],
    file: str,
    text: str,
    message: str,
) -> None:
    """A bad cache table stops the run with exit code 4, naming the file and the key."""
    (pytester.path / file).write_text(text, encoding="utf-8")
    pytester.makepyfile("def test_a(fleet_cache): pass\n")
    result = run(*workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: testfleet: {message}"])
    assert "Traceback" not in result.stderr.str()


def test_testfleet_toml_wins(pytester: pytest.Pytester, run: Run) -> None:
    """testfleet.toml's [cache] is used instead of pyproject.toml's."""
    pytester.makepyprojecttoml("[tool.testfleet.cache]\nmax_entries = -1\n")
    Path(pytester.path, "testfleet.toml").write_text("[cache]\nmax_entries = 1\n")
    pytester.makepyfile(
        """
        def test_one(fleet_cache):
            fleet_cache.set("a", 1)
            fleet_cache.set("b", 2)
            assert fleet_cache.get("a") is None
        """
    )
    run().assert_outcomes(passed=1)


def test_builder_that_dies_is_replaced(pytester: pytest.Pytester, run: Run) -> None:
    """When the worker building a key dies, a worker waiting for it builds it instead."""
    pytester.makeconftest(
        """
        import os, time

        HERE = os.path.dirname(__file__)

        def arrive():
            open(os.path.join(HERE, "arrived", str(os.getpid())), "w").close()

        def build():
            open(os.path.join(HERE, "builds", str(os.getpid())), "w").close()
            if len(os.listdir(os.path.join(HERE, "builds"))) == 1:
                deadline = time.monotonic() + 10
                while len(os.listdir(os.path.join(HERE, "arrived"))) < 2:
                    assert time.monotonic() < deadline, "the other worker never asked"
                    time.sleep(0.02)
                time.sleep(0.2)  # let the other worker find the key claimed
                os._exit(3)
            return "built by the survivor"
        """
    )
    pytester.makepyfile(
        """
        import pytest
        from conftest import arrive, build

        @pytest.mark.parametrize("n", range(4))
        def test_site(fleet_cache, n):
            arrive()
            assert fleet_cache.get_or_set("k", build) == "built by the survivor"
        """
    )
    (pytester.path / "builds").mkdir()
    (pytester.path / "arrived").mkdir()
    result = run("--workers", "2")
    # The test whose worker died fails (a crash); the others read the survivor's value.
    result.assert_outcomes(passed=3, failed=1)
    assert len(list((pytester.path / "builds").iterdir())) == 2


def test_under_pytest_xdist(pytester: pytest.Pytester, run: Run) -> None:
    """Under pytest-xdist's -n the workers share the cache too, and the line sums them."""
    pytester.makepyfile(test_site=CONCURRENT_SUITE)
    (pytester.path / "builds").mkdir()
    (pytester.path / "arrived").mkdir()
    result = run("-n", "2")
    result.assert_outcomes(passed=4)
    assert len(list((pytester.path / "builds").iterdir())) == 1
    result.stdout.fnmatch_lines(
        ["testfleet cache: 3 hits, 1 misses, 1 sets, 0 evictions, ~* s saved"]
    )


# Each build takes a little time, so that hits save some and the figure is not 0.
RECORDED_SUITE = """
import time
import pytest

def build():
    time.sleep(0.2)
    return "built"

@pytest.mark.parametrize("n", range(6))
def test_reads(fleet_cache, n):
    assert fleet_cache.get_or_set(f"key{n % 2}", build) == "built"

def test_plain():
    pass
"""


def test_the_history_records_the_figures_the_line_printed(
    pytester: pytest.Pytester, run: Run
) -> None:
    """A --workers 2 run that used the cache records the printed figures; a run without it none."""
    pytester.makepyfile(test_site=RECORDED_SUITE)
    result = run("--workers", "2", "--history=h.db")
    result.assert_outcomes(passed=7)
    line = next(s for s in result.stdout.lines if s.startswith("testfleet cache:"))
    without = run("--workers", "2", "--history=h.db", "-k", "plain")
    without.assert_outcomes(passed=1, deselected=6)
    assert not any(s.startswith("testfleet cache:") for s in without.stdout.lines)

    with SQLiteStore(pytester.path / "h.db") as store:
        newest, first = store.runs()
    assert newest.cache is None
    assert first.cache is not None
    assert first.cache.hits + first.cache.misses == 6
    assert first.cache.saved_seconds > 0
    printed = (
        f"testfleet cache: {first.cache.hits} hits, {first.cache.misses} misses, "
        f"{first.cache.sets} sets, {first.cache.evictions} evictions, "
        f"~{first.cache.saved_seconds:.1f} s saved"
    )
    assert line == printed
