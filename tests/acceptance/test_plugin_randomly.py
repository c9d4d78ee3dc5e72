"""pytest-randomly under --workers: one seed for every worker, printed once, reproducible."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pytest_randomly")

#: Each test records the seed it was given and the first number `random` gives
#: it; one test's outcome depends on that number.
SUITE = """
    import os
    import random
    from pathlib import Path

    import pytest

    SEEN = Path(__file__).parent / "seen"


    @pytest.fixture(autouse=True)
    def record(request):
        value = random.random()
        seed = request.config.getoption("randomly_seed")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "-")
        SEEN.mkdir(exist_ok=True)
        (SEEN / request.node.name).write_text(f"{seed} {value!r} {worker}")
        return value


    @pytest.mark.parametrize("n", range(10))
    def test_numbers(n):
        assert 0 <= random.random() < 1


    def test_depends_on_the_seed(record):
        assert record < 0.5
"""


def run_randomly(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest with pytest-randomly on (the shared `run` fixture turns it off)."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=60)


def seen(pytester: pytest.Pytester) -> dict[str, tuple[int, str, str]]:
    """Per test: (seed, first random number, worker); then cleared for the next run."""
    views = {}
    for path in sorted((pytester.path / "seen").iterdir()):
        seed, value, worker = path.read_text().split()
        views[path.name] = (int(seed), value, worker)
        path.unlink()
    assert len(views) == 11
    return views


def the_seed(result: pytest.RunResult) -> int:
    """The seed of the run, from pytest-randomly's header line, which must appear once."""
    seeds = re.findall(r"^Using --randomly-seed=(\d+)$", result.stdout.str(), re.M)
    assert len(seeds) == 1, result.stdout.str()
    return int(seeds[0])


def test_one_seed_printed_once_and_reproducible(pytester: pytest.Pytester) -> None:
    """Every worker uses the seed printed once; that seed reproduces values and outcomes."""
    pytester.makepyfile(test_random=SUITE)

    first = run_randomly(pytester, "--workers", "2")
    seed = the_seed(first)
    first_views = seen(pytester)

    assert {s for s, _, _ in first_views.values()} == {seed}
    assert {w for _, _, w in first_views.values()} == {"gw0", "gw1"}

    again = run_randomly(pytester, f"--randomly-seed={seed}", "--workers", "2")
    assert the_seed(again) == seed
    again_views = seen(pytester)
    assert again.parseoutcomes() == first.parseoutcomes()
    assert {k: v[:2] for k, v in again_views.items()} == {k: v[:2] for k, v in first_views.items()}

    serial = run_randomly(pytester, f"--randomly-seed={seed}")
    serial_views = seen(pytester)
    assert serial.parseoutcomes() == first.parseoutcomes()
    assert {k: v[:2] for k, v in serial_views.items()} == {k: v[:2] for k, v in first_views.items()}
