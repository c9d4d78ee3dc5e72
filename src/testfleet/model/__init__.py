"""Plain data shared by the layers; imports nothing else of testfleet."""

from __future__ import annotations

from testfleet.model.history import Outcome, RunRecord, RunStatus, TestResult
from testfleet.model.workers import WorkerExit, worker_name

__all__ = ["Outcome", "RunRecord", "RunStatus", "TestResult", "WorkerExit", "worker_name"]
