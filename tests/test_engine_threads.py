"""Unit tests of BLAS/OpenMP thread limits for workers."""

from __future__ import annotations

import pytest

from testfleet.engine.threads import (
    BLAS_VARIABLES,
    OPENMP_VARIABLE,
    limit_threads,
    threads_per_worker,
)


@pytest.mark.parametrize(
    ("workers", "cpus", "expected"), [(1, 8, 8), (2, 8, 4), (3, 8, 2), (8, 2, 1), (0, 4, 4)]
)
def test_threads_per_worker(workers: int, cpus: int, expected: int) -> None:
    """Each worker gets its share of the CPUs, at least one thread."""
    assert threads_per_worker(workers, cpus) == expected


def test_limits_are_set_where_the_user_set_none() -> None:
    """Every pool variable is set to the limit in an environment without any."""
    environ: dict[str, str] = {}
    assert limit_threads(2, environ) == ["blas", "openmp"]
    assert environ == dict.fromkeys((*BLAS_VARIABLES, OPENMP_VARIABLE), "2")


def test_the_users_choice_wins() -> None:
    """A BLAS variable set by the user leaves all BLAS limits alone; OpenMP is still limited."""
    environ = {"OPENBLAS_NUM_THREADS": "4"}
    assert limit_threads(1, environ) == ["openmp"]
    assert environ == {"OPENBLAS_NUM_THREADS": "4", OPENMP_VARIABLE: "1"}
