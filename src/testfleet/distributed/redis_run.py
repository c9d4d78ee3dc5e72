"""One fleet run's state in Redis, and the atomic steps nodes take on it.

The work is a stream of planned units read through one consumer group: a
unit a node reads is *pending* on it (Redis remembers who holds it and how
many times it was delivered) until the node acknowledges it.  A node's
*lease* on a unit is that pending entry, fenced by its delivery count:

- a live node renews its leases with its heartbeat (``XCLAIM ... JUSTID`` of
  its own pending entries resets their idle time and keeps the count);
- a unit idle longer than the lease timeout belongs to a lost node, and the
  next node that looks takes it over with ``XAUTOCLAIM``, which raises the
  count;
- a node writes results and acknowledges a unit only through
  :data:`_COMMIT`, which first checks that the entry is still pending on this
  node with the count it was delivered with.  A node that was taken over (it
  stalled, or was cut off and came back) has every later write refused, so
  no test is recorded twice; the run's ``done`` hash is written once per test
  on top of that.

Every step that reads and then writes is a Lua script, so it is atomic on
the server.  Every key lives under the run's prefix and expires.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from testfleet.distributed.protocol import (
    GROUP,
    SCHEMA,
    FleetResult,
    Keys,
    MalformedEntry,
    Unit,
    decode_lost,
    decode_result,
    decode_unit,
    encode_result,
    encode_unit,
)
from testfleet.model.fleet import FleetSettings

if TYPE_CHECKING:
    import redis

_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], ARGV[1], '0', 'MKSTREAM')
for i = 7, #ARGV do redis.call('XADD', KEYS[2], '*', 'unit', ARGV[i]) end
redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[2])
redis.call('HSET', KEYS[1], 'schema', ARGV[3], 'digest', ARGV[4], 'tests', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""

_HEARTBEAT = """
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])
for i = 3, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[2], ARGV[1], '-', '+', 100000, ARGV[2])
if not ok then return 0 end
-- XCLAIM of this node's own entries, ids in batches; JUSTID keeps the delivery
-- count (the lease's fencing token) and resets the idle time.  (In Lua only the
-- last expression of an argument list expands, so the call is built whole.)
local call = nil
for _, entry in ipairs(pending) do
  if call == nil then call = {'XCLAIM', KEYS[2], ARGV[1], ARGV[2], 0} end
  call[#call + 1] = entry[1]
  if #call == 505 then
    call[#call + 1] = 'JUSTID'
    redis.call(unpack(call))
    call = nil
  end
end
if call ~= nil then
  call[#call + 1] = 'JUSTID'
  redis.call(unpack(call))
end
return #pending
"""

_ABANDON = """
local given = 0
local entries = tonumber(ARGV[4])
for i = 5 + entries, #ARGV do
  local mark = redis.call('HGET', KEYS[2], ARGV[i])
  if mark and string.sub(mark, 1, #ARGV[2] + 1) == ARGV[2] .. '\t' then
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
for i = 5, 4 + entries do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #pending == 1 and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2] .. ':left', 0, ARGV[i],
               'IDLE', ARGV[3], 'JUSTID')
    given = given + 1
  end
end
return given
"""

_RECLAIM = """
local out = {}
local cursor = '0-0'
repeat
  local found = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor,
                           'COUNT', ARGV[4])
  cursor = found[1]
  for _, entry in ipairs(found[2]) do
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
    out[#out + 1] = {entry[1], entry[2], pending[1][4]}
  end
until cursor == '0-0' or #out >= tonumber(ARGV[4])
return out
"""

_COMMIT = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #pending == 0 or pending[1][2] ~= ARGV[2] or tonumber(pending[1][4]) ~= tonumber(ARGV[4]) then
  return {-1, redis.call('HLEN', KEYS[2])}
end
local count = tonumber(ARGV[7])
local accepted = 0
for i = 0, count - 1 do
  local nodeid, body = ARGV[8 + 2 * i], ARGV[9 + 2 * i]
  if redis.call('HSETNX', KEYS[2], nodeid, body) == 1 then
    redis.call('XADD', KEYS[3], '*', 'result', body)
    accepted = accepted + 1
  end
  redis.call('HDEL', KEYS[4], nodeid)
end
if ARGV[5] == '1' then redis.call('XACK', KEYS[1], ARGV[1], ARGV[3]) end
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
return {accepted, redis.call('HLEN', KEYS[2])}
"""

# A resource's slots are a sorted set of holders scored by their expiry, in the
# server's clock (TIME): a lost node's slots lapse with its lease.
_NOW = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"""

_TAKE_SLOT = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""
)

_RENEW_SLOTS = (
    _NOW
    + """
local lost = {}
for i, key in ipairs(KEYS) do
  local expiry = redis.call('ZSCORE', key, ARGV[i + 1])
  if expiry and tonumber(expiry) > now then
    redis.call('ZADD', key, now + tonumber(ARGV[1]), ARGV[i + 1])
  else
    lost[#lost + 1] = ARGV[i + 1]
  end
end
return lost
"""
)


@dataclass
class Lease:
    """A unit this node holds: the stream entry, fenced by its delivery count."""

    entry: str
    deliveries: int
    unit: Unit
    #: Its tests that have no result yet (from this node or an earlier holder).
    remaining: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.remaining:
            self.remaining = set(self.unit.tests)


@dataclass(frozen=True)
class Mark:
    """A test a worker of a node started, with no result recorded yet."""

    nodeid: str
    node: str
    worker: str
    #: Its place in the order that worker started tests.
    order: int


@dataclass(frozen=True)
class RunMeta:
    """What the planner published."""

    digest: str
    tests: int


@dataclass(frozen=True)
class Commit:
    """What :meth:`RedisRun.commit` found."""

    #: False when the lease was taken over: nothing was written.
    held: bool
    #: Results written now (a test already recorded is not written again).
    accepted: int
    #: Tests of the run with a result, all nodes together.
    done: int


class RedisRun:
    """The steps of one node on one run's keys."""

    def __init__(self, client: redis.Redis, settings: FleetSettings) -> None:
        # redis-py's answers are typed loosely (bytes or str, sync or async):
        # every answer is checked where it is read.
        self._client: Any = client
        self.settings = settings
        self.keys = Keys(settings.prefix)
        self._node = settings.node
        self._ttl_ms = int(settings.key_ttl * 1000)
        self._lease_ms = int(settings.lease * 1000)
        self._publish = client.register_script(_PUBLISH)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._reclaim = client.register_script(_RECLAIM)
        self._commit = client.register_script(_COMMIT)
        self._abandon = client.register_script(_ABANDON)
        #: Entries read and skipped as malformed, for the node to tell the user.
        self.skipped: list[str] = []
        self._take_slot = client.register_script(_TAKE_SLOT)
        self._renew_slots = client.register_script(_RENEW_SLOTS)

    # -- planning ----------------------------------------------------------------

    def claim_planning(self) -> bool:
        """Whether this node is the one to plan (the claim expires with the lease)."""
        return bool(self._client.set(self.keys.planner, self._node, nx=True, px=self._lease_ms))

    def meta(self) -> RunMeta | None:
        """What the planner published, or None before it has."""
        found: dict[str, str] = self._client.hgetall(self.keys.meta)
        if not found:
            return None
        try:
            schema, tests = int(found["schema"]), int(found["tests"])
            run_digest = found["digest"]
        except (KeyError, ValueError):
            raise MalformedEntry(
                f"the run's description is not one testfleet wrote: {found}"
            ) from None
        if schema != SCHEMA:
            raise MalformedEntry(
                f"the run was planned by another version of testfleet (schema {schema}, "
                f"this one reads {SCHEMA})"
            )
        return RunMeta(run_digest, tests)

    def planned_nodeids(self) -> list[str]:
        """The planner's collection, to show what differs."""
        text = self._client.get(self.keys.nodeids)
        try:
            nodeids = json.loads(text) if isinstance(text, str) else []
        except ValueError:
            return []
        return [n for n in nodeids if isinstance(n, str)] if isinstance(nodeids, list) else []

    def publish(self, run_digest: str, nodeids: Sequence[str], units: Iterable[Unit]) -> bool:
        """Publish the plan; False when another node published first."""
        args: list[str | int] = [
            GROUP,
            self._ttl_ms,
            SCHEMA,
            run_digest,
            len(nodeids),
            json.dumps(list(nodeids)),
        ]
        args += [encode_unit(u)["unit"] for u in units]
        keys = [self.keys.meta, self.keys.work, self.keys.nodeids]
        return bool(self._publish(keys=keys, args=args))

    # -- membership ---------------------------------------------------------------

    def join(self, workers: int) -> None:
        """Count this node (and its workers) in the run and start its heartbeat."""
        self._client.hset(self.keys.nodes, self._node, workers)
        self._client.pexpire(self.keys.nodes, self._ttl_ms)
        self.heartbeat(workers)

    def heartbeat(self, workers: int) -> int:
        """Say this node is alive; renew its leases and the run's keys' expiry.

        Returns how many units this node holds.
        """
        # Every key but the planning claim, which must lapse if its planner dies.
        kept = [k for k in self.keys.every() if k != self.keys.planner]
        keys = [self.keys.heartbeat(self._node), self.keys.work, *kept]
        info = json.dumps({"workers": workers})
        args: list[str | int] = [GROUP, self._node, self._lease_ms, info, self._ttl_ms]
        return int(self._heartbeat(keys=keys, args=args))

    def leave(self) -> None:
        """Stop the heartbeat at once: this node holds nothing any more."""
        self._client.delete(self.keys.heartbeat(self._node))

    def nodes(self) -> dict[str, int]:
        """The nodes that joined the run, with their workers."""
        found: dict[str, str] = self._client.hgetall(self.keys.nodes)
        return {node: int(workers) if workers.isdigit() else 0 for node, workers in found.items()}

    # -- work ---------------------------------------------------------------------

    def take(self, count: int) -> list[Lease]:
        """Up to ``count`` units no node has had yet; empty only when none is left.

        Malformed entries are skipped (and acknowledged): reading goes on past
        them, so that a stream that starts with some is not taken for empty.
        """
        while True:
            answer = self._client.xreadgroup(GROUP, self._node, {self.keys.work: ">"}, count=count)
            entries = answer[0][1] if answer else []
            leases = self._leases((entry, fields, 1) for entry, fields in entries)
            if leases or not entries:
                return leases

    def abandon(self, entries: Sequence[str], tests: Sequence[str] = ()) -> int:
        """Hand the units ``entries`` to the other nodes now, as if their lease had
        lapsed (this node is leaving before it ran them); how many were handed on.

        They move to a consumer no node reads as, idle for twice a lease, so the
        next ``XAUTOCLAIM`` takes them; this node's writes for them are refused.
        Its marks of ``tests`` started go: none of them is running any more.
        """
        if not entries:
            return 0
        args: list[str | int] = [GROUP, self._node, 2 * self._lease_ms, len(entries)]
        args += [*entries, *tests]
        return int(self._abandon(keys=[self.keys.work, self.keys.running], args=args))

    def reclaim(self, count: int = 16) -> list[Lease]:
        """Units of lost nodes (idle past the lease timeout), taken over by this node."""
        found = self._reclaim(
            keys=[self.keys.work], args=[GROUP, self._node, self._lease_ms, count]
        )
        return self._leases(
            (entry, dict(zip(flat[::2], flat[1::2], strict=True)), int(deliveries))
            for entry, flat, deliveries in found
        )

    def _leases(self, entries: Iterable[tuple[str, dict[str, str], int]]) -> list[Lease]:
        leases = []
        for entry, fields, deliveries in entries:
            try:
                unit = decode_unit(fields)
            except MalformedEntry as exc:
                # Never run: acknowledged, so that no node reads it again.
                self.skipped.append(f"testfleet: skipped entry {entry} of the work stream: {exc}")
                self._client.xack(self.keys.work, GROUP, entry)
                continue
            leases.append(Lease(entry, deliveries, unit))
        return leases

    def commit(
        self,
        lease: Lease,
        results: Sequence[FleetResult],
        *,
        ack: bool,
    ) -> Commit:
        """Record ``results`` of ``lease``'s tests (their start marks go) and
        acknowledge the unit when ``ack``.  Nothing is written if the lease was lost."""
        args: list[str | int] = [
            GROUP,
            self._node,
            lease.entry,
            lease.deliveries,
            "1" if ack else "0",
            self._ttl_ms,
            len(results),
        ]
        for result in results:
            args += [result.nodeid, encode_result(result)]
        keys = [self.keys.work, self.keys.done, self.keys.results, self.keys.running]
        accepted, done = self._commit(keys=keys, args=args)
        return Commit(held=int(accepted) >= 0, accepted=max(0, int(accepted)), done=int(done))

    # -- resource slots, shared by the whole fleet --------------------------------------

    def take_slot(self, resource: str, holder: str, capacity: int) -> bool:
        """Whether ``holder`` (this node's name and a number) got a slot of ``resource``."""
        keys = [self.keys.slots(resource)]
        args: list[str | int] = [holder, capacity, self._lease_ms, self._ttl_ms]
        return bool(self._take_slot(keys=keys, args=args))

    def give_slot(self, resource: str, holder: str) -> None:
        """Give a slot of ``resource`` back."""
        self._client.zrem(self.keys.slots(resource), holder)

    def renew_slots(self, held: Sequence[tuple[str, str]]) -> list[str]:
        """Renew the (resource, holder) slots held; the holders whose slot had lapsed."""
        if not held:
            return []
        keys = [self.keys.slots(resource) for resource, _ in held]
        args: list[str | int] = [self._lease_ms, *(holder for _, holder in held)]
        return list(self._renew_slots(keys=keys, args=args))

    # -- what the run knows about tests ------------------------------------------------

    def recorded(self, nodeids: Sequence[str]) -> set[str]:
        """Which of ``nodeids`` have a result already."""
        if not nodeids:
            return set()
        found = self._client.hmget(self.keys.done, list(nodeids))
        return {n for n, value in zip(nodeids, found, strict=True) if value is not None}

    def started(self) -> list[Mark]:
        """Every test some worker of some node started and whose result is not recorded."""
        found: dict[str, str] = self._client.hgetall(self.keys.running)
        marks = []
        for nodeid, text in found.items():
            node, _, rest = text.partition("\t")
            worker, _, order = rest.partition("\t")
            if node and worker and order.isdigit():
                marks.append(Mark(nodeid, node, worker, int(order)))
        return marks

    def note_lost(self, nodeid: str, node: str) -> list[str]:
        """Record that ``node`` was lost while running ``nodeid``; every node lost so far."""
        try:
            lost = decode_lost(self._client.hget(self.keys.lost, nodeid))
        except MalformedEntry:
            lost = []
        lost.append(node)
        self._client.hset(self.keys.lost, nodeid, json.dumps(lost))
        self._client.pexpire(self.keys.lost, self._ttl_ms)
        return lost

    def pending_total(self) -> int:
        """Units some node holds (read and not acknowledged), all nodes together."""
        summary = self._client.xpending(self.keys.work, GROUP)
        return int(summary["pending"])

    def done_count(self) -> int:
        """Tests of the run with a result."""
        return int(self._client.hlen(self.keys.done))

    def results(self) -> list[FleetResult]:
        """Every test's result so far, malformed entries left out (and logged)."""
        found: list[str] = self._client.hvals(self.keys.done)
        results = []
        for text in found:
            try:
                results.append(decode_result(text))
            except MalformedEntry as exc:
                self.skipped.append(f"testfleet: skipped a result of the run: {exc}")
        return results

    def claim_recording(self) -> bool:
        """Whether this node records the whole run in the history (one node does)."""
        return bool(self._client.set(self.keys.recorder, self._node, nx=True, px=self._ttl_ms))
