"""What a node of a fleet run knows about the run: plain data, set from the options."""

from __future__ import annotations

from dataclasses import dataclass

#: How long a fleet run's keys live in Redis unless configured (24 hours).
DEFAULT_KEY_TTL = 24 * 3600.0
#: How long a node's lease on its work lasts without a heartbeat, by default.
DEFAULT_LEASE = 15.0


@dataclass(frozen=True)
class FleetSettings:
    """One node's view of its fleet run."""

    #: The Redis URL (may hold a password: show it through ``model.urls.redact``).
    url: str
    #: The run every node of the fleet names: keys live under ``testfleet:{run_id}:``.
    run_id: str
    #: This node's name, unique in the run (the host name and process id by default).
    node: str
    #: Seconds every key of the run lives after it was last written.
    key_ttl: float = DEFAULT_KEY_TTL
    #: Seconds without a heartbeat after which a node's work is taken over.
    lease: float = DEFAULT_LEASE

    @property
    def prefix(self) -> str:
        """The namespace of the run's keys."""
        return f"testfleet:{self.run_id}:"
