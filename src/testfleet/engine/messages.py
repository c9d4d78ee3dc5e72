"""The messages between controller and workers, and their wire format.

Every message, and every event of a test that a message carries, is a typed
value: a frozen ``msgspec.Struct`` with a tag.  On the wire a message is a
frame: four bytes of big-endian length, then the message as MessagePack (a
compact array: its tag, then its fields).  Each end decodes only what may come
its way (:data:`ToWorker` in a worker, :data:`ToController` in the
controller), and what does not fit is a :class:`ProtocolError`.  Nothing is
pickled: a worker's reports travel in the form pytest's own
``pytest_report_to_serializable`` gives them, plain data that no receiver can
be made to execute.

The codec was chosen by measurement (``benchmarks/codec.py``; figures in
docs/benchmarks.md, "The messages"): for a trivial test's message (its start,
three reports and its end) the standard library's ``json`` takes 13.5 µs to
encode and 10.2 µs to decode; these typed messages as msgspec's MessagePack
take 1.5 and 2.8 µs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final, Generic, TypeAlias, TypeVar

import msgspec

_HEADER: Final = struct.Struct(">I")
#: MessagePack carries integers of 64 bits; a larger one travels as its str().
_INT_RANGE: Final = range(-(2**63), 2**64)


# -- the events of a test, in the order they happened in the worker ---------------


class Started(msgspec.Struct, frozen=True, array_like=True, tag="start"):
    """The test began (``pytest_runtest_logstart``); ``location`` is its ``item.location``."""

    location: tuple[str, int | None, str]


class Reported(msgspec.Struct, frozen=True, array_like=True, tag="report"):
    """One of its reports, as ``pytest_report_to_serializable`` gave it."""

    data: dict[str, Any]


class Ended(msgspec.Struct, frozen=True, array_like=True, tag="end"):
    """The test ended (``pytest_runtest_logfinish``), with what it cost its
    worker when that was measured: CPU seconds and peak RSS in bytes."""

    cpu: float | None = None
    peak: int | None = None


class Warned(msgspec.Struct, frozen=True, array_like=True, tag="warning"):
    """A warning pytest recorded (``pytest_warning_recorded``), as plain data."""

    message: str
    #: ``module:qualname`` of the warning's class.
    category: str
    filename: str
    lineno: int
    line: str | None
    when: str
    nodeid: str
    location: tuple[str, int | None, str] | None


Event: TypeAlias = Started | Reported | Ended | Warned


# -- controller to worker ---------------------------------------------------------


class RunItems(msgspec.Struct, frozen=True, array_like=True, tag="run"):
    """Append these item indices to your queue."""

    indices: tuple[int, ...]


class Finish(msgspec.Struct, frozen=True, array_like=True, tag="finish"):
    """No more work will come; run what you hold, then exit."""


class Stop(msgspec.Struct, frozen=True, array_like=True, tag="stop"):
    """The run is stopping (``-x``): finish the current test, exit."""


class Granted(msgspec.Struct, frozen=True, array_like=True, tag="granted"):
    """The slot asked for by ``Acquire(request, ...)`` is yours."""

    request: int


class Denied(msgspec.Struct, frozen=True, array_like=True, tag="denied"):
    """``Acquire(request, ...)`` timed out; ``message`` says who holds it."""

    request: int
    message: str


# -- worker to controller ---------------------------------------------------------


class ItemDone(msgspec.Struct, frozen=True, array_like=True, tag="done"):
    """An item ran; here is everything it reported."""

    index: int
    events: tuple[Event, ...]
    #: Reports that came after the item was done: the teardown a stopping
    #: worker runs when it leaves, which ends in an error only.
    late: bool = False


class Interrupted(msgspec.Struct, frozen=True, array_like=True, tag="interrupted"):
    """A test ended the whole run, as it would serially.

    ``kind`` is ``"exit"`` for ``pytest.exit()`` (with its ``returncode``) or
    ``"keyboard"`` for a ``KeyboardInterrupt`` the test raised.  ``events`` are
    what the item reported before that.
    """

    index: int
    events: tuple[Event, ...]
    kind: str
    message: str
    returncode: int | None = None


class StopAsked(msgspec.Struct, frozen=True, array_like=True, tag="stop-asked"):
    """A plugin in the worker asked the session to stop.

    pytest-timeout's ``--session-timeout``, for one, sets ``session.shouldfail``
    in the process that runs the tests; the controller's session takes the
    request over, as if it had been made there, and the run stops.
    """

    shouldfail: str | bool
    shouldstop: str | bool


class WorkerFinished(msgspec.Struct, frozen=True, array_like=True, tag="finished"):
    """The worker ended its pytest session and is about to exit.

    ``output`` is the worker's ``config.workeroutput`` (what pytest-xdist hands
    to ``pytest_testnodedown``); ``events`` are the warnings recorded while the
    session finished, for the controller's summary.
    """

    output: dict[str, Any]
    events: tuple[Warned, ...] = ()


class Acquire(msgspec.Struct, frozen=True, array_like=True, tag="acquire"):
    """A test asks for a slot of resource ``name`` (``testfleet.acquire``).

    ``holder`` is the test asking, for the message another waiter gets; the
    answer is :class:`Granted` or, after ``timeout`` seconds, :class:`Denied`.
    """

    request: int
    name: str
    timeout: float | None
    holder: str


class Release(msgspec.Struct, frozen=True, array_like=True, tag="release"):
    """One slot of ``name`` taken with :class:`Acquire` is free."""

    name: str


class WorkerError(msgspec.Struct, frozen=True, array_like=True, tag="error"):
    """testfleet itself failed inside the worker."""

    text: str


ToWorker: TypeAlias = RunItems | Finish | Stop | Granted | Denied
ToController: TypeAlias = (
    ItemDone | Interrupted | StopAsked | WorkerFinished | WorkerError | Acquire | Release
)
Message: TypeAlias = ToWorker | ToController
M = TypeVar("M", ToWorker, ToController)


class ProtocolError(Exception):
    """A frame that is not a message this end can receive."""


# A value MessagePack cannot carry (a record_property object, say) travels as
# its str(): what junitxml and the terminal would show of it anyway.
_ENCODER: Final = msgspec.msgpack.Encoder(enc_hook=str)
_TO_WORKER: Final = msgspec.msgpack.Decoder(ToWorker)
_TO_CONTROLLER: Final = msgspec.msgpack.Decoder(ToController)


def encode(message: Message) -> bytes:
    """The frame that carries ``message``."""
    frame = bytearray(_HEADER.size)
    try:
        _ENCODER.encode_into(message, frame, _HEADER.size)
    except OverflowError:
        # An integer beyond 64 bits somewhere in a report: send its digits.
        del frame[_HEADER.size :]
        _ENCODER.encode_into(_fit(msgspec.to_builtins(message, enc_hook=str)), frame, _HEADER.size)
    _HEADER.pack_into(frame, 0, len(frame) - _HEADER.size)
    return bytes(frame)


def _fit(value: Any) -> Any:
    """``value`` (plain data) with every integer MessagePack cannot carry as a str."""
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT_RANGE:
        return str(value)
    if isinstance(value, list | tuple):
        return [_fit(item) for item in value]
    if isinstance(value, dict):
        return {_fit(key): _fit(item) for key, item in value.items()}
    return value


def _decoder(
    decoder: msgspec.msgpack.Decoder[Any], direction: str
) -> Callable[[bytes | memoryview], Any]:
    def decode(body: bytes | memoryview) -> Any:
        try:
            return decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"malformed message {direction}: {exc}") from exc

    return decode


#: The message to a worker in a frame's body (the bytes after its length).
decode_to_worker: Callable[[bytes | memoryview], ToWorker] = _decoder(_TO_WORKER, "to a worker")
#: The message to the controller in a frame's body.
decode_to_controller: Callable[[bytes | memoryview], ToController] = _decoder(
    _TO_CONTROLLER, "to the controller"
)


class FrameReader(Generic[M]):
    """Reassembles frames from the chunks a pipe delivers, and decodes them with
    ``decode`` (:func:`decode_to_worker` or :func:`decode_to_controller`)."""

    def __init__(self, decode: Callable[[bytes | memoryview], M]) -> None:
        self._decode: Callable[[bytes | memoryview], M] = decode
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[M]:
        """Add ``chunk``; every message it completes, in order."""
        self._buffer += chunk
        messages: list[M] = []
        start = 0
        size = len(self._buffer)
        with memoryview(self._buffer) as view:
            while size - start >= _HEADER.size:
                (length,) = _HEADER.unpack_from(view, start)
                end = start + _HEADER.size + length
                if end > size:
                    break
                messages.append(self._decode(view[start + _HEADER.size : end]))
                start = end
        del self._buffer[:start]
        return messages

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still waiting for the rest."""
        return len(self._buffer)
