"""Keep BLAS and OpenMP thread pools from oversubscribing the CPUs.

Every worker that loads numpy would otherwise start one BLAS thread per CPU:
W workers on C cores then run W x C threads, and numerical tests run slower in
parallel than serially.  Each worker gets ``max(1, C // W)`` threads unless the
user chose a number.  Environment variables cover libraries loaded after the
fork and subprocesses; libraries the controller loaded before forking (numpy
imported at collection) already read them, so their pools are resized at run
time through threadpoolctl.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

#: Variables that size BLAS thread pools, and the one for OpenMP.
BLAS_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
OPENMP_VARIABLE = "OMP_NUM_THREADS"

#: Modules that load a BLAS or OpenMP library when imported.
_NATIVE_POOL_MODULES = ("numpy", "scipy", "sklearn", "torch")


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int, cpus: int | None = None) -> int:
    """The fair share of CPUs for one of ``workers`` workers."""
    return max(1, (available_cpus() if cpus is None else cpus) // max(1, workers))


def limit_threads(limit: int, environ: MutableMapping[str, str]) -> list[str]:
    """Limit the pools to ``limit`` threads where the user has not; return what was limited."""
    limited: list[str] = []
    if not any(name in environ for name in BLAS_VARIABLES):
        environ.update(dict.fromkeys(BLAS_VARIABLES, str(limit)))
        limited.append("blas")
    if OPENMP_VARIABLE not in environ:
        environ[OPENMP_VARIABLE] = str(limit)
        limited.append("openmp")
    if limited and any(name in sys.modules for name in _NATIVE_POOL_MODULES):
        # Imported only when a pool exists to resize: it inspects every loaded library.
        from threadpoolctl import threadpool_limits

        for api in limited:
            threadpool_limits(limits=limit, user_api=api)
    return limited
