"""Timestamps: one format for storage, one injectable source of "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

Clock = Callable[[], datetime]

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def system_clock() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(timezone.utc)


def to_timestamp(moment: datetime) -> str:
    """Format an aware datetime as the ISO-8601 UTC string Webbly stores."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse a stored timestamp back into an aware UTC datetime."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


class FixedClock:
    """A clock that returns a set time and moves only when told; for imports and demos."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self._now = self._now + timedelta(seconds=seconds)


class StepClock:
    """A clock that moves forward by ``step`` seconds every time it is read.

    Imports and seeding use it to give each change its own, reproducible time.
    """

    def __init__(self, start: datetime, step: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("StepClock needs a timezone-aware start")
        if step <= 0:
            raise ValueError("step must be positive")
        self._next = start
        self._step = timedelta(seconds=step)

    def __call__(self) -> datetime:
        now = self._next
        self._next = now + self._step
        return now
