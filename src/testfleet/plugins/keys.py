"""The typed keys under which testfleet keeps its state in ``config.stash``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    # Named in the keys' types only: the plugin imports this module on every
    # run, and the types' modules load when a feature uses them.
    # (ruff does not read a string inside a subscript as a type, hence the noqa)
    from testfleet.model.fleet import FleetSettings  # noqa: F401
    from testfleet.model.history import CacheFigures, FinishedRun  # noqa: F401
    from testfleet.monitoring.resources import ResourceMonitor  # noqa: F401


@dataclass(frozen=True)
class PlanFacts:
    """What the planner knew of each test and of the run, for the record."""

    #: Node id -> the category it was planned in.
    categories: dict[str, str] = field(default_factory=dict)
    #: Node id -> the resources it holds (its markers').
    resources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The run phase's predicted wall time, when the history knew the tests.
    predicted: float | None = None


#: The run's unique id, shared by the controller and all its workers.
TESTRUN_UID = pytest.StashKey[str]()
#: The number of workers asked for: an int, or None for "run in process".
REQUESTED_WORKERS = pytest.StashKey["int | None"]()
#: Which worker ran each node id, filled by the relay as reports arrive.
WORKER_OF = pytest.StashKey[dict[str, str]]()
#: The shared cache's figures for the whole run, set by the cache plugin in the
#: controller at session finish (before the history records the run), only when
#: the run used the cache.
CACHE_FIGURES = pytest.StashKey["CacheFigures"]()
#: The fleet run this process is a node of (``--fleet``), in the controller and
#: its workers; absent outside fleet runs.
FLEET = pytest.StashKey["FleetSettings"]()
#: The run as it finished: set in the controller by the recorder at session
#: finish, before the history stores it and the report shows it.
FINISHED_RUN = pytest.StashKey["FinishedRun"]()
#: Each node id's CPU seconds and peak RSS (bytes, None: unknown), as measured
#: in the process that ran it.
USAGE_OF = pytest.StashKey[dict[str, tuple[float, "int | None"]]]()
#: Set while the tests run in worker processes: the controller measures none itself.
IN_WORKERS = pytest.StashKey[bool]()
#: Every finished worker's ``workeroutput``, in the controller.
WORKER_OUTPUTS = pytest.StashKey[list[dict[str, Any]]]()
#: What the planner said of the run: categories, resources, predicted wall.
PLAN_FACTS = pytest.StashKey["PlanFacts"]()
#: The resource monitor sampling the run, when it is monitored.
MONITOR = pytest.StashKey["ResourceMonitor"]()
#: The node ids in quarantine (``[tool.testfleet] quarantine``), when any.
QUARANTINE = pytest.StashKey[frozenset[str]]()
