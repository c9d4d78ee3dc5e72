"""What a fleet run keeps in Redis: key names, and entries validated on the way in.

Pure: no connection, no clock.  Every value a node reads back from Redis
passes through a ``decode_*`` function that checks its shape and raises
:class:`MalformedEntry` when it is not what a node wrote: a shared server is
not trusted to hold only what testfleet put there, and nothing read from it
is ever executed or unpickled.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from testfleet.model import Outcome, TestResult

#: The version of the entries below; a node refuses a run written by another.
SCHEMA = 1
#: The consumer group every node reads the work stream through.
GROUP = "testfleet"
#: The longest failure text kept per test in the run's results (characters).
MAX_MESSAGE = 8000

_OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))


class MalformedEntry(ValueError):
    """An entry in the run's keys that no testfleet node wrote: it is skipped."""


@dataclass(frozen=True)
class Keys:
    """The names of a run's keys, all under ``testfleet:{run_id}:``."""

    prefix: str

    @property
    def planner(self) -> str:
        """The node planning the run: set once, with an expiry (the claim)."""
        return self.prefix + "planner"

    @property
    def meta(self) -> str:
        """A hash: schema, digest of the planned collection, number of tests."""
        return self.prefix + "meta"

    @property
    def nodeids(self) -> str:
        """The planner's collection as a JSON list, to show a node what differs."""
        return self.prefix + "nodeids"

    @property
    def work(self) -> str:
        """The stream of planned units, read through the group :data:`GROUP`."""
        return self.prefix + "work"

    @property
    def done(self) -> str:
        """A hash: node id -> its result, written once (the run's record of results)."""
        return self.prefix + "done"

    @property
    def results(self) -> str:
        """The stream of results, in the order they were accepted."""
        return self.prefix + "results"

    @property
    def running(self) -> str:
        """A hash: node id -> ``node<TAB>worker<TAB>n``, the n-th test that worker started
        (written as it starts it, removed with its result)."""
        return self.prefix + "running"

    @property
    def lost(self) -> str:
        """A hash: node id -> the nodes lost while running it, as a JSON list."""
        return self.prefix + "lost"

    @property
    def nodes(self) -> str:
        """A hash: the nodes that joined the run -> their workers."""
        return self.prefix + "nodes"

    @property
    def recorder(self) -> str:
        """The node that records the whole run in the history: set once."""
        return self.prefix + "recorder"

    def heartbeat(self, node: str) -> str:
        """A node's heartbeat: exists while the node is alive."""
        return f"{self.prefix}node:{node}"

    def slots(self, resource: str) -> str:
        """A sorted set of the fleet's holders of ``resource``, scored by expiry."""
        return f"{self.prefix}slots:{resource}"

    def every(self) -> list[str]:
        """The run's fixed keys (not the per-node or per-resource ones)."""
        return [
            self.planner,
            self.meta,
            self.nodeids,
            self.work,
            self.done,
            self.results,
            self.running,
            self.lost,
            self.nodes,
            self.recorder,
        ]


def digest(nodeids: Sequence[str]) -> str:
    """A short fingerprint of a collection: its node ids, in any order (a plugin
    such as pytest-randomly may order each node's collection differently)."""
    hasher = hashlib.sha256()
    for nodeid in sorted(nodeids):
        hasher.update(nodeid.encode("utf-8", "surrogateescape"))
        hasher.update(b"\0")
    return hasher.hexdigest()[:32]


def first_differences(planned: Sequence[str], here: Sequence[str], limit: int = 5) -> list[str]:
    """Lines naming the first tests that differ between two collections."""
    planned_set, here_set = set(planned), set(here)
    lines = [f"  only here: {n}" for n in here if n not in planned_set][:limit]
    lines += [f"  only on the planner: {n}" for n in planned if n not in here_set][:limit]
    if not lines and len(planned) != len(here):
        lines.append(f"  {len(here)} tests here, {len(planned)} on the planner")
    return lines


@dataclass(frozen=True)
class Unit:
    """One unit of planned work: tests that run together on one node, in order."""

    tests: tuple[str, ...]
    #: The planner's estimate of each test, in seconds.
    estimates: tuple[float, ...]


def encode_unit(unit: Unit) -> dict[str, str]:
    """The fields of the unit's entry on the work stream."""
    body = {"v": SCHEMA, "tests": list(unit.tests), "estimates": list(unit.estimates)}
    return {"unit": json.dumps(body, separators=(",", ":"))}


def decode_unit(fields: Mapping[str, str]) -> Unit:
    """The unit in a work stream entry; :class:`MalformedEntry` if it is not one."""
    body = _json_object(fields, "unit")
    tests = body.get("tests")
    estimates = body.get("estimates")
    if (
        not isinstance(tests, list)
        or not tests
        or not all(isinstance(t, str) and t for t in tests)
        or not isinstance(estimates, list)
        or len(estimates) != len(tests)
        or not all(_seconds(e) for e in estimates)
    ):
        raise MalformedEntry("a unit needs a non-empty list of tests and one estimate each")
    return Unit(tuple(tests), tuple(float(e) for e in estimates))


@dataclass(frozen=True)
class FleetResult:
    """The compact result of one test, as the run records it."""

    nodeid: str
    outcome: Outcome
    #: The node and the worker on it that ran the test.
    node: str
    worker: str
    setup: float = 0.0
    call: float = 0.0
    teardown: float = 0.0
    #: When the test began, in seconds since the epoch (None if unknown).
    start: float | None = None
    #: The node that was lost while running it before it ran here, if one was.
    rerun_after: str | None = None
    #: The failure's text (bounded), for a failed or erroring test.
    message: str = ""
    #: CPU seconds and peak RSS (bytes) its worker measured; None when not monitored.
    cpu: float | None = None
    peak_rss: int | None = None
    #: How many times it ran on its node (``--retry-failed``), and whether it is quarantined.
    attempts: int = 1
    quarantined: bool = False

    @property
    def duration(self) -> float:
        """The test's time, all phases."""
        return self.setup + self.call + self.teardown

    @property
    def fails_run(self) -> bool:
        """Whether it fails the run: it failed or erred, and is not quarantined."""
        return self.outcome in ("failed", "error") and not self.quarantined

    @property
    def shown(self) -> str:
        """Its outcome as the run's summary names it: a quarantined failure is ``quarantined``."""
        if self.quarantined and self.outcome in ("failed", "error"):
            return "quarantined"
        return self.outcome

    def to_test_result(self, run_started: float) -> TestResult:
        """The history's record of the test; ``start`` becomes relative to ``run_started``."""
        return TestResult(
            nodeid=self.nodeid,
            outcome=self.outcome,
            setup=self.setup,
            call=self.call,
            teardown=self.teardown,
            worker=f"{self.node}/{self.worker}",
            start=None if self.start is None else max(0.0, self.start - run_started),
            cpu=self.cpu,
            peak_rss=self.peak_rss,
            attempts=self.attempts,
            quarantined=self.quarantined,
        )


def encode_result(result: FleetResult) -> str:
    """The result as the run's ``done`` hash and ``results`` stream hold it."""
    body: dict[str, Any] = {
        "v": SCHEMA,
        "nodeid": result.nodeid,
        "outcome": result.outcome,
        "node": result.node,
        "worker": result.worker,
        "setup": result.setup,
        "call": result.call,
        "teardown": result.teardown,
        "start": result.start,
        "rerun_after": result.rerun_after,
        "message": result.message[:MAX_MESSAGE],
    }
    # What monitoring and retries add is written only when there is something to say.
    if result.cpu is not None:
        body["cpu"] = result.cpu
    if result.peak_rss is not None:
        body["peak_rss"] = result.peak_rss
    if result.attempts != 1:
        body["attempts"] = result.attempts
    if result.quarantined:
        body["quarantined"] = True
    return json.dumps(body, separators=(",", ":"))


def decode_result(text: str) -> FleetResult:
    """The result ``text`` holds; :class:`MalformedEntry` if it is not one."""
    body = _json_object({"result": text}, "result")
    nodeid, outcome = body.get("nodeid"), body.get("outcome")
    node, worker = body.get("node"), body.get("worker")
    phases = [body.get(k, 0.0) for k in ("setup", "call", "teardown")]
    start, rerun, message = body.get("start"), body.get("rerun_after"), body.get("message", "")
    cpu, peak, attempts = body.get("cpu"), body.get("peak_rss"), body.get("attempts", 1)
    quarantined = body.get("quarantined", False)
    if (
        not isinstance(nodeid, str)
        or not nodeid
        or outcome not in _OUTCOMES
        or not isinstance(node, str)
        or not isinstance(worker, str)
        or not all(_seconds(p) for p in phases)
        or not (start is None or _seconds(start))
        or not (rerun is None or isinstance(rerun, str))
        or not isinstance(message, str)
        or not (cpu is None or _seconds(cpu))
        or not (peak is None or (type(peak) is int and peak >= 0))
        or not (type(attempts) is int and attempts >= 1)
        or not isinstance(quarantined, bool)
    ):
        raise MalformedEntry(f"not a test result: {text[:80]!r}")
    return FleetResult(
        nodeid=nodeid,
        outcome=outcome,
        node=node,
        worker=worker,
        setup=float(phases[0]),
        call=float(phases[1]),
        teardown=float(phases[2]),
        start=None if start is None else float(start),
        rerun_after=rerun,
        message=message,
        cpu=None if cpu is None else float(cpu),
        peak_rss=peak,
        attempts=attempts,
        quarantined=quarantined,
    )


def decode_lost(text: str | None) -> list[str]:
    """The nodes lost while running a test, from the run's ``lost`` hash."""
    if text is None:
        return []
    try:
        nodes = json.loads(text)
    except ValueError:
        raise MalformedEntry(f"not a list of nodes: {text[:80]!r}") from None
    if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
        raise MalformedEntry(f"not a list of nodes: {text[:80]!r}")
    return nodes


def _json_object(fields: Mapping[str, str], name: str) -> dict[str, Any]:
    text = fields.get(name)
    if not isinstance(text, str):
        raise MalformedEntry(f"the entry has no {name!r} field")
    try:
        body = json.loads(text)
    except ValueError:
        raise MalformedEntry(f"the {name!r} field is not JSON: {text[:80]!r}") from None
    if not isinstance(body, dict):
        raise MalformedEntry(f"the {name!r} field is not a JSON object")
    if body.get("v") != SCHEMA:
        raise MalformedEntry(
            f"the entry was written by another version of testfleet (schema {body.get('v')!r}, "
            f"this one reads {SCHEMA})"
        )
    return body


def _seconds(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
