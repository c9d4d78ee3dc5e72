"""Workers share the CPUs: BLAS pools are sized to a fair share unless the user chose a size."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: numpy is imported at collection, in the controller, before the workers fork.
BLAS_SPY = """
    import json
    import os
    from pathlib import Path

    import numpy
    import pytest
    from threadpoolctl import threadpool_info

    @pytest.mark.parametrize("n", range(4))
    def test_blas(n, worker_id):
        numpy.ones((8, 8)) @ numpy.ones((8, 8))
        pools = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        seen = {
            "worker": worker_id,
            "blas": pools,
            "omp_env": os.environ.get("OMP_NUM_THREADS"),
            "openblas_env": os.environ.get("OPENBLAS_NUM_THREADS"),
        }
        (Path(__file__).parent / f"seen-{n}.json").write_text(json.dumps(seen))
"""


def cpus() -> int:
    """The CPUs this process (and so the pytest it starts) may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def seen(pytester: pytest.Pytester) -> list[dict[str, object]]:
    """What each test of BLAS_SPY saw."""
    views = [json.loads(p.read_text()) for p in sorted(pytester.path.glob("seen-*.json"))]
    assert len(views) == 4
    return views


@pytest.fixture
def blas_suite(pytester: pytest.Pytester) -> None:
    """The BLAS_SPY module, when numpy and threadpoolctl are installed."""
    # Looked up, not imported: pytester forgets modules after each test, and
    # numpy refuses to be imported a second time in one process.
    for name in ("numpy", "threadpoolctl"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    pytester.makepyfile(test_blas=BLAS_SPY)


@pytest.mark.usefixtures("blas_suite")
def test_blas_pool_gets_a_fair_share(pytester: pytest.Pytester, run: Run) -> None:
    """With --workers 2, each worker's BLAS pool has max(1, cpus // 2) threads."""
    run("--workers", "2").assert_outcomes(passed=4)

    expected = max(1, cpus() // 2)
    views = seen(pytester)
    assert {view["worker"] for view in views} == {"gw0", "gw1"}
    for view in views:
        assert view["blas"], "numpy's BLAS is not visible to threadpoolctl"
        assert set(view["blas"]) == {expected}  # type: ignore[arg-type]
        assert view["omp_env"] == view["openblas_env"] == str(expected)


@pytest.mark.usefixtures("blas_suite")
def test_user_blas_setting_is_respected(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user-set OPENBLAS_NUM_THREADS is left alone in the workers."""
    if cpus() < 2:
        pytest.skip("with one CPU the fair share and the user's choice cannot differ")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(cpus()))

    run("--workers", "2").assert_outcomes(passed=4)

    for view in seen(pytester):
        assert view["openblas_env"] == str(cpus())
        assert set(view["blas"]) == {cpus()}  # type: ignore[arg-type]
