"""Unit tests of the controller-worker messages and their framing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.engine.messages import (
    Acquire,
    Denied,
    Ended,
    Finish,
    FrameReader,
    Granted,
    Interrupted,
    ItemDone,
    Message,
    ProtocolError,
    Release,
    Reported,
    RunItems,
    Started,
    Stop,
    StopAsked,
    ToController,
    ToWorker,
    Warned,
    WorkerError,
    WorkerFinished,
    decode_to_controller,
    decode_to_worker,
    encode,
)

START = Started(("t.py", 3, "x"))
LATE = Warned("late", "builtins:UserWarning", "t.py", 3, None, "runtest", "", None)

MESSAGES: list[Message] = [
    RunItems((0, 5, 7)),
    Finish(),
    Stop(),
    ItemDone(3, (START, Reported({"nodeid": "t.py::x", "when": "call"}), Ended())),
    ItemDone(4, (START, Reported({"longrepr": None}), Ended(0.25, 41_000_000))),
    ItemDone(5, (Started(("t.py", None, "y")), LATE, Ended())),
    ItemDone(3, (Reported({"outcome": "failed"}),), late=True),
    Interrupted(2, (START,), "exit", "leaving", 3),
    Interrupted(2, (), "keyboard", "KeyboardInterrupt"),
    WorkerError("boom\ntraceback"),
    WorkerFinished({"cov_worker_node_id": "gw0", "n": [1, 2]}),
    WorkerFinished({}, (LATE,)),
    WorkerFinished({"coverage": b"\x00bytes too"}),
    StopAsked("session-timeout: 1 sec exceeded", False),
    StopAsked(True, "a plugin stopped"),
    Acquire(4, "smtp", 30.0, "tests/test_mail.py::test_send"),
    Acquire(5, "smtp", None, "code outside a test"),
    Release("smtp"),
    Granted(4),
    Denied(5, "(capacity 1): held by tests/test_mail.py::test_send (worker gw1, ...)"),
]


TO_WORKER = [m for m in MESSAGES if isinstance(m, ToWorker)]
TO_CONTROLLER = [m for m in MESSAGES if isinstance(m, ToController)]


def reader_for(message: Message) -> FrameReader[ToWorker] | FrameReader[ToController]:
    """A reader at the end ``message`` goes to."""
    if isinstance(message, ToWorker):
        return FrameReader(decode_to_worker)
    return FrameReader(decode_to_controller)


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(message: Message) -> None:
    """Every message decodes to itself from its frame, at the end it goes to."""
    (decoded,) = reader_for(message).feed(encode(message))
    assert decoded == message
    assert type(decoded) is type(message)


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_a_message_for_the_other_end_is_a_protocol_error(message: Message) -> None:
    """Each end decodes only its own direction: a worker never takes an ItemDone."""
    other = decode_to_controller if isinstance(message, ToWorker) else decode_to_worker
    with pytest.raises(ProtocolError, match="malformed message"):
        other(encode(message)[4:])


@given(
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=10),
    to_worker=st.booleans(),
)
def test_frames_survive_any_chunking(cuts: list[int], to_worker: bool) -> None:
    """Frames split anywhere by the pipe are reassembled whole and in order."""
    messages: list[Message] = list(TO_WORKER if to_worker else TO_CONTROLLER)
    stream = b"".join(encode(m) for m in messages)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    reader = FrameReader(decode_to_worker) if to_worker else FrameReader(decode_to_controller)
    received: list[object] = []
    for start, end in itertools.pairwise(points):
        received += reader.feed(stream[start:end])
    assert received == messages
    assert reader.pending == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not msgpack \xc1",
        b"\x91\xa6launch",  # ["launch"]: no such message
        b"\x91\xa3run",  # ["run"]: its indices are missing
        b"\x92\xa3run\xa3abc",  # ["run", "abc"]: indices that are not integers
        b"\x93\xa4done\x01\x91\x91\xa5start",  # a start without its location
    ],
)
def test_malformed_frames_are_protocol_errors(body: bytes) -> None:
    """A body that is not one of our messages raises ProtocolError, not a KeyError."""
    with pytest.raises(ProtocolError):
        decode_to_worker(body)
    with pytest.raises(ProtocolError):
        decode_to_controller(body)


def test_values_msgpack_cannot_carry_travel_as_their_str() -> None:
    """A report value that is no plain type (a record_property object) arrives as its
    str(), and so does an integer too large for 64 bits."""

    class Version:
        def __str__(self) -> str:
            return "v1.2"

    message = ItemDone(0, (Reported({"user_properties": [["version", Version()]]}),))
    (decoded,) = FrameReader(decode_to_controller).feed(encode(message))
    assert decoded == ItemDone(0, (Reported({"user_properties": [["version", "v1.2"]]}),))
    huge = ItemDone(1, (Reported({"user_properties": [("count", 2**70), ("small", -1)]}),))
    (decoded,) = FrameReader(decode_to_controller).feed(encode(huge))
    expected = {"user_properties": [["count", str(2**70)], ["small", -1]]}
    assert decoded == ItemDone(1, (Reported(expected),))
