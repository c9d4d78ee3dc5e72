"""Named resources with capacities, and which tests hold them.

A test marked ``@pytest.mark.resource("smtp")`` holds ``smtp`` for its whole
run; a test of a ``parallel = false`` category holds that category's resource,
:func:`category_resource`, of capacity 1.  One mechanism for both: the planner
starts the work of a busy resource early, and the work queue never lets more
workers hold a resource than its capacity.

A *worker* holds one slot of a resource from the moment it is sent a test
holding it until it has reported every such test it was sent.  A worker runs
its tests one at a time, so the tests running with a resource never outnumber
the workers holding it; counting workers rather than tests lets a worker keep
the three tests in hand it needs (the running one, pytest's ``nextitem``, one
more) without spending three slots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: The prefix of the resource a ``parallel = false`` category becomes.
CATEGORY_PREFIX = "category:"


def category_resource(category: str) -> str:
    """The capacity-1 resource every test of a non-parallel ``category`` holds."""
    return CATEGORY_PREFIX + category


@dataclass(frozen=True)
class Resources:
    """Which items hold which resources, and how many workers may hold each."""

    #: Item index -> the resources it holds; items absent hold none.
    holds: Mapping[int, frozenset[str]] = field(default_factory=dict)
    #: Resource -> how many workers may hold it at once; absent means 1.
    capacities: Mapping[str, int] = field(default_factory=dict)

    def capacity(self, name: str) -> int:
        """How many workers may hold ``name`` at once (1 unless configured)."""
        return self.capacities.get(name, 1)

    def of(self, item: int) -> frozenset[str]:
        """The resources ``item`` holds."""
        return self.holds.get(item, frozenset())

    def of_all(self, items: Iterable[int]) -> frozenset[str]:
        """The resources any of ``items`` holds."""
        return frozenset().union(*(self.of(i) for i in items))

    @property
    def names(self) -> frozenset[str]:
        """Every resource some item holds."""
        return frozenset().union(*self.holds.values())


NO_RESOURCES = Resources()
