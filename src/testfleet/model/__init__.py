"""Plain data shared by the layers; imports nothing else of testfleet but its lazy loader.

Its modules load on first use: the pytest plugin imports one small module of
this package on every run (``model.fleet``), and must not pay for the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from testfleet._lazy import lazy_attributes

if TYPE_CHECKING:
    from testfleet.model.history import Outcome, RunRecord, RunStatus, TestResult
    from testfleet.model.workers import WorkerExit, worker_name

_LAZY = {
    "Outcome": "testfleet.model.history",
    "RunRecord": "testfleet.model.history",
    "RunStatus": "testfleet.model.history",
    "TestResult": "testfleet.model.history",
    "WorkerExit": "testfleet.model.workers",
    "worker_name": "testfleet.model.workers",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = ["Outcome", "RunRecord", "RunStatus", "TestResult", "WorkerExit", "worker_name"]
