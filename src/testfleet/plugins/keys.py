"""The typed keys under which testfleet keeps its state in ``config.stash``."""

from __future__ import annotations

import pytest

# Modules of a few small dataclasses: cheap to import with the plugin.
from testfleet.model.fleet import FleetSettings
from testfleet.model.history import CacheFigures, FinishedRun

#: The run's unique id, shared by the controller and all its workers.
TESTRUN_UID = pytest.StashKey[str]()
#: The number of workers asked for: an int, or None for "run in process".
REQUESTED_WORKERS = pytest.StashKey["int | None"]()
#: Which worker ran each node id, filled by the relay as reports arrive.
WORKER_OF = pytest.StashKey[dict[str, str]]()
#: The shared cache's figures for the whole run, set by the cache plugin in the
#: controller at session finish (before the history records the run), only when
#: the run used the cache.
CACHE_FIGURES = pytest.StashKey[CacheFigures]()
#: The fleet run this process is a node of (``--fleet``), in the controller and
#: its workers; absent outside fleet runs.
FLEET = pytest.StashKey[FleetSettings]()
#: The run as it finished: set in the controller by the recorder at session
#: finish, before the history stores it and the report shows it.
FINISHED_RUN = pytest.StashKey[FinishedRun]()
