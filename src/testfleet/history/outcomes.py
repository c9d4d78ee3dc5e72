"""A test's outcome from its reports, and its result from its three phases.

Pure: plain values in, plain values out.  pytest reports each test in up to
three phases (setup, call, teardown); the recorder hands each report's
values to :meth:`Phases.add`, and :meth:`Phases.result` gives the
:class:`~testfleet.model.TestResult` the history records, with the outcome
pytest's summary would count for the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from testfleet.model.history import Outcome, TestResult

#: The phase a report is about.
When: TypeAlias = Literal["setup", "call", "teardown"]
#: What a report says of its phase, as pytest's ``TestReport.outcome`` does.
ReportOutcome: TypeAlias = Literal["passed", "failed", "skipped"]


def decide(when: When, outcome: ReportOutcome, *, wasxfail: bool) -> Outcome | None:
    """The outcome one report decides, as pytest's summary names it; None if it decides none.

    ``wasxfail``: the report carries pytest's ``wasxfail`` (an expected failure).
    A failed setup or teardown is an error; a skip happens in setup; the call
    decides the rest.
    """
    if when != "call":
        if outcome == "failed":
            return "error"
        if outcome == "skipped" and when == "setup":
            return "xfailed" if wasxfail else "skipped"
        return None
    if wasxfail:
        return "xfailed" if outcome == "skipped" else "xpassed"
    return outcome


@dataclass
class Phases:
    """What the reports of one test said so far."""

    setup: float = 0.0
    call: float = 0.0
    teardown: float = 0.0
    #: Seconds from the start of the run to the test's first report that knows when.
    start: float | None = None
    #: The outcome the latest deciding report gave, unless one was an error.
    outcome: Outcome | None = None
    #: Whether any report was an error: then the test's outcome is "error".
    error: bool = False
    quarantined: bool = False
    #: How many times it ran (``--retry-failed``), as the controller counted.
    attempts: int = 1

    def add(
        self,
        when: When,
        outcome: ReportOutcome,
        duration: float,
        *,
        run_started: float,
        wasxfail: bool = False,
        start: float = 0.0,
        attempts: int = 1,
        quarantined: Outcome | None = None,
    ) -> None:
        """Take in one report of the test.

        ``run_started`` is when the run began and ``start`` when the report's
        phase began (0: unknown); ``attempts`` how many times the test ran;
        ``quarantined`` the outcome a quarantined failure would have had
        ("failed" or "error"), else None.
        """
        # Each phase's time is its report's duration, whoever wrote the report:
        # the failed report of a test lost to a crash or a timeout carries the
        # time the test ran before it was lost.
        setattr(self, when, duration)
        # The test began with its first report that knows when (a lost test
        # may have no setup report, and a made-up report starts at 0).
        if self.start is None and start > 0:
            self.start = max(0.0, start - run_started)
        self.attempts = max(self.attempts, attempts)
        decided = quarantined or decide(when, outcome, wasxfail=wasxfail)
        if quarantined:
            self.quarantined = True
        if decided == "error":
            self.error = True
        elif decided is not None:
            self.outcome = decided

    def result(self, nodeid: str, worker: str | None, **figures: Any) -> TestResult:
        """The test's result, as the history records it; ``figures`` are the rest of
        its fields (CPU, memory, category...)."""
        return TestResult(
            nodeid=nodeid,
            outcome="error" if self.error else (self.outcome or "passed"),
            setup=self.setup,
            call=self.call,
            teardown=self.teardown,
            worker=worker,
            start=self.start,
            attempts=self.attempts,
            **{"quarantined": self.quarantined, **figures},
        )
