"""A worker's marks of the tests it starts, in the run's Redis, as it starts them.

When a node is lost, the node that takes over its unit must know which test was
running, to run it again only once (a test that takes its node down must not
take every node down).  Only the worker knows the moment a test starts, and a
node can vanish at any moment after it: the worker sends the mark before the
test's setup, on a connection of its own that asked the server for no replies
(``CLIENT REPLY OFF``), so a mark costs a write to a socket and never a wait.
Bytes a process has written to a socket still reach the server when the
process is killed the moment after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testfleet.distributed.protocol import Keys

if TYPE_CHECKING:
    from testfleet.model.fleet import FleetSettings


class StartMarks:
    """Marks ``running[nodeid] = node<TAB>worker<TAB>n`` for the n-th test a worker starts."""

    def __init__(self, settings: FleetSettings, worker: str) -> None:
        self._settings = settings
        self._key = Keys(settings.prefix).running
        self._prefix = f"{settings.node}\t{worker}\t"
        self._connection: Any = None
        self._count = 0
        #: The server could not be reached: the node's controller says so and stops.
        self._broken = False

    def started(self, nodeid: str) -> None:
        """Mark ``nodeid`` as started by this worker, now."""
        if self._broken:
            return
        import redis

        try:
            if self._connection is None:
                self._connection = self._open()
            self._count += 1
            self._connection.send_command("HSET", self._key, nodeid, f"{self._prefix}{self._count}")
            if self._count == 1:  # the run's keys expire, this one from its first write
                ttl = int(self._settings.key_ttl * 1000)
                self._connection.send_command("PEXPIRE", self._key, ttl)
        except (redis.RedisError, OSError):
            self._broken = True

    def close(self) -> None:
        """Close the connection (the marks sent are the server's already)."""
        if self._connection is not None:
            self._connection.disconnect()
            self._connection = None

    def _open(self) -> Any:
        import redis

        pool = redis.ConnectionPool.from_url(
            self._settings.url, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        # redis-py types its connections loosely: one Any, checked by use.
        connection: Any = pool.make_connection()
        connection.connect()
        connection.send_command("CLIENT", "REPLY", "OFF")
        return connection
