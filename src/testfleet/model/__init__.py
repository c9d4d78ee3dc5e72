"""Plain data shared by the layers; imports nothing else of testfleet."""

from __future__ import annotations

from testfleet.model.workers import WorkerExit, worker_name

__all__ = ["WorkerExit", "worker_name"]
