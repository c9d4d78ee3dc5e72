"""``testfleet.acquire`` in pytest: the capacities of the run, and the worker's controller.

The resources layer holds the slots (:mod:`testfleet.resources.slots`); this
module gives it what it cannot know alone: the capacities of
``[tool.testfleet.resources]`` (read when the first slot is taken, so a run
that never acquires reads nothing), and, in a worker of a ``--workers`` run,
the way to the controller's slots.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from testfleet.resources.slots import ProcessSlots, Remote, use


def _capacity_of(config: pytest.Config) -> Callable[[str], int]:
    def capacity(name: str) -> int:
        from testfleet.plugins.suite import load_capacities

        return load_capacities(config).get(name, 1)

    return capacity


def configure_slots(config: pytest.Config) -> None:
    """Slots in this process with the run's capacities (a plain run, the controller)."""
    use(ProcessSlots(_capacity_of(config)))


def unconfigure_slots() -> None:
    """Forget the run's slots: the next session in this process starts afresh."""
    use(ProcessSlots(lambda name: 1))


def connect(config: pytest.Config) -> Callable[[Remote], None]:
    """What a worker calls with its way to the controller's slots."""

    def use_controller(remote: Remote) -> None:
        use(ProcessSlots(_capacity_of(config), remote))

    return use_controller
