"""Shared fixtures of the acceptance tests: each runs pytest on a small suite in a subprocess."""

from __future__ import annotations

from collections.abc import Callable

import pytest

#: Options every run under test gets: the order pytest collects is the order it runs.
_BASE_OPTIONS = ("-p", "no:randomly")

Run = Callable[..., pytest.RunResult]


@pytest.fixture
def run(pytester: pytest.Pytester) -> Run:
    """Run pytest in a subprocess in the pytester directory, without its cache by default."""

    def run_pytest(*args: str, cache: bool = False, timeout: float = 30.0) -> pytest.RunResult:
        options = list(_BASE_OPTIONS)
        if not cache:
            options += ["-p", "no:cacheprovider"]
        return pytester.runpytest_subprocess(*options, *args, timeout=timeout)

    return run_pytest
