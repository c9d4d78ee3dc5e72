"""A worker's ends of its two pipes to the controller.

The worker's main thread reads the control pipe between tests; a test (or a
thread it started) that calls ``testfleet.acquire`` reads it too, for the
controller's answer, while the main thread runs that test.  Whoever reads
keeps what arrives for whom it is meant: answers by their request number,
everything else for the worker's loop.  Writes are whole frames, one thread
at a time.
"""

from __future__ import annotations

import itertools
import os
import select
import threading

from testfleet.engine.messages import (
    Acquire,
    Denied,
    FrameReader,
    Granted,
    Release,
    ToController,
    ToWorker,
    decode_to_worker,
    encode,
)

#: How long one reader waits on the pipe before letting another thread read.
_WAIT_SLICE = 0.1


class ControllerGone(Exception):
    """The controller closed its end of the pipe: it is gone, so the worker goes."""


class Inbox:
    """Messages from the controller, read without blocking or while waiting."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._reader = FrameReader(decode_to_worker)
        self._lock = threading.Lock()
        #: Messages for the worker's loop, in their order.
        self._pending: list[ToWorker] = []
        #: Answers to acquires, by request number.
        self._answers: dict[int, Granted | Denied] = {}

    def poll(self) -> list[ToWorker]:
        """Whatever has arrived for the worker's loop, without waiting."""
        with self._lock:
            self._read(timeout=0)
            return self._take()

    def wait(self) -> list[ToWorker]:
        """Wait until at least one message for the worker's loop has arrived."""
        while True:
            with self._lock:
                self._read(timeout=_WAIT_SLICE)
                if self._pending:
                    return self._take()

    def answer(self, request: int) -> Granted | Denied:
        """Wait for the controller's answer to acquire ``request``."""
        while True:
            with self._lock:
                if request in self._answers:
                    return self._answers.pop(request)
                self._read(timeout=_WAIT_SLICE)

    def _take(self) -> list[ToWorker]:
        messages, self._pending = self._pending, []
        return messages

    def _read(self, timeout: float) -> None:
        while select.select([self._fd], [], [], timeout)[0]:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise ControllerGone
            for message in self._reader.feed(chunk):
                if isinstance(message, Granted | Denied):
                    self._answers[message.request] = message
                else:
                    self._pending.append(message)
            timeout = 0


class Outbox:
    """Messages to the controller, written whole and in order."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: ToController) -> None:
        """Write ``message``, blocking until the pipe took all of it."""
        data = memoryview(encode(message))
        with self._lock:
            while data:
                data = data[os.write(self._fd, data) :]


class ControllerSlots:
    """Resource slots of the whole run, asked of the controller (``testfleet.acquire``)."""

    def __init__(self, inbox: Inbox, outbox: Outbox) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._requests = itertools.count()

    def take(self, name: str, timeout: float | None, holder: str) -> str | None:
        """Wait for a slot of ``name``; None once it is ours, or why it was refused."""
        request = next(self._requests)
        self._outbox.send(Acquire(request, name, timeout, holder))
        answer = self._inbox.answer(request)
        return answer.message if isinstance(answer, Denied) else None

    def give_back(self, name: str) -> None:
        """The slot of ``name`` is free again."""
        self._outbox.send(Release(name))
