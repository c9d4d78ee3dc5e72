"""``testfleet fleet report``: the whole of a fleet run, read back from Redis."""

from __future__ import annotations

import sys
from pathlib import Path

from testfleet.model.fleet import FleetSettings

#: Exit codes, as pytest's: failures, an incomplete run, a run that is not there.
_FAILED, _INCOMPLETE, _USAGE = 1, 2, 4


def fleet_report(url: str, run_id: str, junitxml: Path | None) -> int:
    """Print the run's line and failures; write its JUnit XML; return the exit code."""
    import redis

    from testfleet.distributed.connection import FleetError, connect, describe_lost
    from testfleet.distributed.protocol import MalformedEntry
    from testfleet.distributed.redis_run import RedisRun
    from testfleet.distributed.settings import FleetSettingsError, check_url
    from testfleet.distributed.settings import run_id as checked_run_id
    from testfleet.model.urls import redact
    from testfleet.reporting.fleet import failures, junit_xml, run_line

    try:
        settings = FleetSettings(check_url(url), checked_run_id(run_id, {}), node="report")
        run = RedisRun(connect(url), settings)
        meta = run.meta()
        if meta is None:
            print(
                f"testfleet: no fleet run {run_id!r} at {redact(url)} (never started, or its "
                "keys expired)",
                file=sys.stderr,
            )
            return _USAGE
        results = run.results()
    except (FleetError, FleetSettingsError, MalformedEntry) as exc:
        print(exc if isinstance(exc, FleetError) else f"testfleet: {exc}", file=sys.stderr)
        return _USAGE
    except redis.RedisError as exc:
        print(describe_lost(url, exc), file=sys.stderr)
        return _USAGE
    for block in failures(results):
        print(block, end="\n\n")
    print(run_line(results))
    if junitxml is not None:
        junitxml.parent.mkdir(parents=True, exist_ok=True)
        junitxml.write_bytes(junit_xml(results, "pytest", {"testfleet_run_id": run_id}))
    if any(r.outcome in ("failed", "error") for r in results):
        return _FAILED
    if len(results) < meta.tests:
        print(
            f"testfleet: run {run_id} is not complete: {len(results)} of {meta.tests} tests "
            "have a result",
            file=sys.stderr,
        )
        return _INCOMPLETE
    return 0
