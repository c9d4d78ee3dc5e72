"""Pure planners: they take item indices and numbers, and return assignments.

Nothing in this package starts a process, reads a file, looks at a clock or
touches a pytest object, so it is tested with plain unit and property tests.
"""

from __future__ import annotations

from testfleet.scheduling.load import WorkQueue, batch_target, group_by_scope

__all__ = ["WorkQueue", "batch_target", "group_by_scope"]
