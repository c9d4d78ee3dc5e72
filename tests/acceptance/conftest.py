"""Shared fixtures of the acceptance tests: each runs pytest on a small suite in a subprocess."""

from __future__ import annotations

from collections.abc import Callable

import pytest

#: Variables the process running this suite may have set (as a worker of its own
#: parallel run, say) that would change what the runs under test do.
_INHERITED_VARIABLES = (
    "PYTEST_ADDOPTS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "OMP_NUM_THREADS",
)

#: Options every run under test gets: the order pytest collects is the order it runs.
_BASE_OPTIONS = ("-p", "no:randomly")

Run = Callable[..., pytest.RunResult]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs under test start from an environment this suite's own runner did not shape."""
    for name in _INHERITED_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(pytester: pytest.Pytester) -> Run:
    """Run pytest in a subprocess in the pytester directory, without its cache by default."""

    def run_pytest(*args: str, cache: bool = False, timeout: float = 30.0) -> pytest.RunResult:
        options = list(_BASE_OPTIONS)
        if not cache:
            options += ["-p", "no:cacheprovider"]
        return pytester.runpytest_subprocess(*options, *args, timeout=timeout)

    return run_pytest
