"""What one test's message costs to encode and decode, per codec.

The message is what a worker sends for a trivial test: its start, its three reports
as ``pytest_report_to_serializable`` gives them, and its end with CPU and peak RSS.
Each codec encodes and decodes the same plain data; msgspec also decodes it straight
into testfleet's typed messages, as the engine does. Codecs that are not installed
are named, not dropped.

Usage: ``python benchmarks/codec.py [--number 20000] [--repeat 5]``; the figure for
each codec is the best of the repeats, in microseconds per message.
"""

from __future__ import annotations

import argparse
import importlib
import json
import timeit
from collections.abc import Callable, Sequence
from typing import Any

from _pytest.reports import TestReport, _report_to_json

from testfleet.engine.messages import (
    Ended,
    ItemDone,
    Reported,
    Started,
    decode_to_controller,
    encode,
)

NODEID = "tests/test_mod_07.py::test_case_0042"
LOCATION = ("tests/test_mod_07.py", 41, "test_case_0042")


def report_data(when: str) -> dict[str, Any]:
    """A passed trivial test's report of phase ``when``, as plain data."""
    keywords = {"test_case_0042": 1, "test_mod_07.py": 1, "trivial5k": 1, "pytestmark": 1}
    report = TestReport(
        NODEID, LOCATION, keywords, "passed", None, when, [], 0.0001234, 1.7e9, 1.7e9 + 2e-4, []
    )
    # pytest's own serialiser: what pytest_report_to_serializable gives by default.
    return _report_to_json(report)


def message() -> ItemDone:
    """The message a worker sends for one trivial test."""
    reports = tuple(Reported(report_data(when)) for when in ("setup", "call", "teardown"))
    return ItemDone(1234, (Started(LOCATION), *reports, Ended(0.000123, 45_678_912)))


def plain(done: ItemDone) -> dict[str, Any]:
    """The same message as the dict the JSON codec sent before the typed messages."""
    events: list[list[Any]] = [["start", list(LOCATION)]]
    events += [["report", e.data] for e in done.events if isinstance(e, Reported)]
    events.append(["finish", 0.000123, 45_678_912])
    return {"type": "done", "index": done.index, "events": events, "late": False}


def codecs(done: ItemDone) -> dict[str, tuple[Callable[[], object], Callable[[], object]] | str]:
    """Each codec's (encode, decode) of the message, or why it cannot run."""
    data = plain(done)
    found: dict[str, tuple[Callable[[], object], Callable[[], object]] | str] = {}
    text = json.dumps(data, separators=(",", ":"), default=str).encode()
    found["json (stdlib)"] = (
        lambda: json.dumps(data, separators=(",", ":"), default=str).encode(),
        lambda: json.loads(text),
    )
    try:
        orjson: Any = importlib.import_module("orjson")
    except ImportError:
        found["orjson"] = "not installed (python -m pip install orjson)"
    else:
        packed = orjson.dumps(data, default=str)
        found["orjson"] = (lambda: orjson.dumps(data, default=str), lambda: orjson.loads(packed))
    import msgspec

    mp_enc = msgspec.msgpack.Encoder(enc_hook=str)
    mp_dec = msgspec.msgpack.Decoder()
    mp_body = mp_enc.encode(data)
    found["msgspec msgpack, untyped"] = (
        lambda: mp_enc.encode(data),
        lambda: mp_dec.decode(mp_body),
    )
    js_enc = msgspec.json.Encoder(enc_hook=str)
    js_dec = msgspec.json.Decoder()
    js_body = js_enc.encode(data)
    found["msgspec json, untyped"] = (lambda: js_enc.encode(data), lambda: js_dec.decode(js_body))
    frame = encode(done)
    found["testfleet: msgspec msgpack, typed"] = (
        lambda: encode(done),
        lambda: decode_to_controller(frame[4:]),
    )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    done = message()
    print(f"Command: `python benchmarks/codec.py --number {args.number} --repeat {args.repeat}`")
    print(f"One message: {len(encode(done)) - 4} bytes as MessagePack, ", end="")
    print(f"{len(json.dumps(plain(done), separators=(',', ':')))} bytes as JSON.\n")
    print("| codec | encode µs | decode µs | both µs |")
    print("|---|---|---|---|")
    for name, pair in codecs(done).items():
        if isinstance(pair, str):
            print(f"| {name} | {pair} | | |")
            continue
        enc, dec = (
            min(timeit.repeat(f, number=args.number, repeat=args.repeat)) / args.number * 1e6
            for f in pair
        )
        print(f"| {name} | {enc:.2f} | {dec:.2f} | {enc + dec:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
