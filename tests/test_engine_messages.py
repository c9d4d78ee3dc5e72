"""Unit tests of the controller-worker messages and their framing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.engine.messages import (
    Acquire,
    Denied,
    Finish,
    FrameReader,
    Granted,
    Interrupted,
    ItemDone,
    Message,
    ProtocolError,
    Release,
    RunItems,
    Stop,
    StopAsked,
    WorkerError,
    WorkerFinished,
    decode,
    encode,
)

MESSAGES: list[Message] = [
    RunItems((0, 5, 7)),
    Finish(),
    Stop(),
    ItemDone(3, (["start"], ["report", {"nodeid": "t.py::x", "when": "call"}], ["finish"])),
    ItemDone(3, (["report", {"outcome": "failed"}],), late=True),
    Interrupted(2, (["start"],), "exit", "leaving", 3),
    Interrupted(2, (), "keyboard", "KeyboardInterrupt"),
    WorkerError("boom\ntraceback"),
    WorkerFinished({"cov_worker_node_id": "gw0", "n": [1, 2]}),
    WorkerFinished({}, (["warning", {"message": "late"}],)),
    StopAsked("session-timeout: 1 sec exceeded", False),
    StopAsked(True, "a plugin stopped"),
    Acquire(4, "smtp", 30.0, "tests/test_mail.py::test_send"),
    Acquire(5, "smtp", None, "code outside a test"),
    Release("smtp"),
    Granted(4),
    Denied(5, "(capacity 1): held by tests/test_mail.py::test_send (worker gw1, ...)"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(message: Message) -> None:
    """Every message decodes to itself from its frame."""
    (decoded,) = FrameReader().feed(encode(message))
    assert decoded == message


@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10))
def test_frames_survive_any_chunking(cuts: list[int]) -> None:
    """Frames split anywhere by the pipe are reassembled whole and in order."""
    stream = b"".join(encode(m) for m in MESSAGES)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    reader = FrameReader()
    received = []
    for start, end in itertools.pairwise(points):
        received += list(reader.feed(stream[start:end]))
    assert received == MESSAGES
    assert reader.pending == 0


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"no": "type"}', b'{"type": "launch-missiles"}', b'{"type": "run"}'],
)
def test_malformed_frames_are_protocol_errors(body: bytes) -> None:
    """A body that is not one of our messages raises ProtocolError, not a KeyError."""
    with pytest.raises(ProtocolError):
        decode(body)


def test_values_json_cannot_carry_travel_as_their_str() -> None:
    """A report value that is no JSON type (a record_property object) arrives as its str()."""

    class Version:
        def __str__(self) -> str:
            return "v1.2"

    message = ItemDone(0, (["report", {"user_properties": [["version", Version()]]}],))
    (decoded,) = FrameReader().feed(encode(message))
    assert decoded == ItemDone(0, (["report", {"user_properties": [["version", "v1.2"]]}],))
