"""The messages between controller and workers, and their wire format.

Every message is a frozen dataclass with a type tag.  On the wire a message is
a frame: four bytes of big-endian length, then the message as UTF-8 JSON.
Nothing is pickled: a worker's reports travel in the form pytest's own
``pytest_report_to_serializable`` gives them, so the format is plain data that
no receiver can be made to execute.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

_HEADER: Final = struct.Struct(">I")

#: One event of a test, in the order it happened in the worker:
#: ``["start"]``, ``["report", <serialised report>]``, ``["finish"]`` (with the
#: test's CPU seconds and peak RSS after it when they were measured) or
#: ``["warning", <serialised warning>]``.
Event: TypeAlias = list[Any]


@dataclass(frozen=True)
class RunItems:
    """Controller to worker: append these item indices to your queue."""

    indices: tuple[int, ...]


@dataclass(frozen=True)
class Finish:
    """Controller to worker: no more work will come; run what you hold, then exit."""


@dataclass(frozen=True)
class Stop:
    """Controller to worker: the run is stopping (``-x``): finish the current test, exit."""


@dataclass(frozen=True)
class Granted:
    """Controller to worker: the slot asked for by ``Acquire(request, ...)`` is yours."""

    request: int


@dataclass(frozen=True)
class Denied:
    """Controller to worker: ``Acquire(request, ...)`` timed out; ``message`` says who holds it."""

    request: int
    message: str


@dataclass(frozen=True)
class ItemDone:
    """Worker to controller: an item ran; here is everything it reported."""

    index: int
    events: tuple[Event, ...]
    #: Reports that came after the item was done: the teardown a stopping
    #: worker runs when it leaves, which ends in an error only.
    late: bool = False


@dataclass(frozen=True)
class Interrupted:
    """Worker to controller: a test ended the whole run, as it would serially.

    ``kind`` is ``"exit"`` for ``pytest.exit()`` (with its ``returncode``) or
    ``"keyboard"`` for a ``KeyboardInterrupt`` the test raised.  ``events`` are
    what the item reported before that.
    """

    index: int
    events: tuple[Event, ...]
    kind: str
    message: str
    returncode: int | None = None


@dataclass(frozen=True)
class StopAsked:
    """Worker to controller: a plugin in the worker asked the session to stop.

    pytest-timeout's ``--session-timeout``, for one, sets ``session.shouldfail``
    in the process that runs the tests; the controller's session takes the
    request over, as if it had been made there, and the run stops.
    """

    shouldfail: str | bool
    shouldstop: str | bool


@dataclass(frozen=True)
class WorkerFinished:
    """Worker to controller: the worker ended its pytest session and is about to exit.

    ``output`` is the worker's ``config.workeroutput`` (what pytest-xdist hands
    to ``pytest_testnodedown``); ``events`` are the warnings recorded while the
    session finished, for the controller's summary.
    """

    output: dict[str, Any]
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Acquire:
    """Worker to controller: a test asks for a slot of resource ``name`` (``testfleet.acquire``).

    ``holder`` is the test asking, for the message another waiter gets; the
    answer is :class:`Granted` or, after ``timeout`` seconds, :class:`Denied`.
    """

    request: int
    name: str
    timeout: float | None
    holder: str


@dataclass(frozen=True)
class Release:
    """Worker to controller: one slot of ``name`` taken with :class:`Acquire` is free."""

    name: str


@dataclass(frozen=True)
class WorkerError:
    """Worker to controller: testfleet itself failed inside the worker."""

    text: str


ToWorker: TypeAlias = RunItems | Finish | Stop | Granted | Denied
ToController: TypeAlias = (
    ItemDone | Interrupted | StopAsked | WorkerFinished | WorkerError | Acquire | Release
)
Message: TypeAlias = ToWorker | ToController


class ProtocolError(Exception):
    """A frame that is not a message of this protocol."""


def encode(message: Message) -> bytes:
    """The frame that carries ``message``."""
    match message:
        case RunItems(indices):
            data: dict[str, Any] = {"type": "run", "indices": list(indices)}
        case Finish():
            data = {"type": "finish"}
        case Stop():
            data = {"type": "stop"}
        case ItemDone(index, events, late):
            data = {"type": "done", "index": index, "events": list(events), "late": late}
        case Interrupted(index, events, kind, text, returncode):
            data = {
                "type": "interrupted",
                "index": index,
                "events": list(events),
                "kind": kind,
                "message": text,
                "returncode": returncode,
            }
        case StopAsked(shouldfail, shouldstop):
            data = {"type": "stop-asked", "shouldfail": shouldfail, "shouldstop": shouldstop}
        case WorkerFinished(output, events):
            data = {"type": "finished", "output": output, "events": list(events)}
        case WorkerError(text):
            data = {"type": "error", "text": text}
        case Granted(request):
            data = {"type": "granted", "request": request}
        case Denied(request, text):
            data = {"type": "denied", "request": request, "message": text}
        case Acquire(request, name, timeout, holder):
            data = {
                "type": "acquire",
                "request": request,
                "name": name,
                "timeout": timeout,
                "holder": holder,
            }
        case Release(name):
            data = {"type": "release", "name": name}
    # A value JSON cannot carry (a record_property object, say) travels as its
    # str(): what junitxml and the terminal would show of it anyway.
    body = json.dumps(data, separators=(",", ":"), default=str).encode()
    return _HEADER.pack(len(body)) + body


def decode(body: bytes) -> Message:
    """The message in a frame's body (the bytes after its length)."""
    try:
        data = json.loads(body)
        match data["type"]:
            case "run":
                return RunItems(tuple(int(i) for i in data["indices"]))
            case "finish":
                return Finish()
            case "stop":
                return Stop()
            case "done":
                return ItemDone(int(data["index"]), tuple(data["events"]), bool(data.get("late")))
            case "interrupted":
                returncode = data.get("returncode")
                return Interrupted(
                    int(data["index"]),
                    tuple(data["events"]),
                    str(data["kind"]),
                    str(data["message"]),
                    None if returncode is None else int(returncode),
                )
            case "stop-asked":
                return StopAsked(_reason(data["shouldfail"]), _reason(data["shouldstop"]))
            case "finished":
                output = data["output"]
                if not isinstance(output, dict):
                    raise TypeError(f"workeroutput must be an object, got {type(output).__name__}")
                return WorkerFinished(output, tuple(data.get("events", ())))
            case "error":
                return WorkerError(str(data["text"]))
            case "granted":
                return Granted(int(data["request"]))
            case "denied":
                return Denied(int(data["request"]), str(data["message"]))
            case "acquire":
                timeout = data["timeout"]
                return Acquire(
                    int(data["request"]),
                    str(data["name"]),
                    None if timeout is None else float(timeout),
                    str(data["holder"]),
                )
            case "release":
                return Release(str(data["name"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"malformed message: {exc}") from exc
    raise ProtocolError(f"unknown message type {data['type']!r}")


def _reason(value: object) -> str | bool:
    """A session's ``shouldfail``/``shouldstop``: a message, or a flag."""
    return value if isinstance(value, str | bool) else str(value)


class FrameReader:
    """Reassembles frames from the chunks a pipe delivers."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[Message]:
        """Add ``chunk`` and yield every message it completes."""
        self._buffer += chunk
        start = 0
        size = len(self._buffer)
        while size - start >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buffer, start)
            end = start + _HEADER.size + length
            if end > size:
                break
            yield decode(bytes(self._buffer[start + _HEADER.size : end]))
            start = end
        del self._buffer[:start]

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still waiting for the rest."""
        return len(self._buffer)
