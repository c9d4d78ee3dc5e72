"""Tests and plugins written for pytest-xdist see what they expect in testfleet's workers."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

#: Each test writes what it sees of its worker to seen-<n>.json.
SPY = """
    import json
    import os
    from pathlib import Path

    import pytest

    @pytest.mark.parametrize("n", range(8))
    def test_spy(n, request, worker_id, testrun_uid):
        workerinput = getattr(request.config, "workerinput", None)
        seen = {
            "env_worker": os.environ.get("PYTEST_XDIST_WORKER"),
            "env_count": os.environ.get("PYTEST_XDIST_WORKER_COUNT"),
            "env_uid": os.environ.get("PYTEST_XDIST_TESTRUNUID"),
            "worker_id": worker_id,
            "testrun_uid": testrun_uid,
            "workerinput_id": workerinput["workerid"] if workerinput else None,
        }
        (Path(__file__).parent / f"seen-{n}.json").write_text(json.dumps(seen))
"""


def seen(pytester: pytest.Pytester) -> list[dict[str, str | None]]:
    """What each test of the SPY module saw, then removed for the next run."""
    views = []
    for path in sorted(pytester.path.glob("seen-*.json")):
        views.append(json.loads(path.read_text()))
        path.unlink()
    assert len(views) == 8
    return views


def test_worker_identity_in_workers(pytester: pytest.Pytester, run: Run) -> None:
    """In workers, the xdist variables, worker_id, testrun_uid and config.workerinput agree."""
    pytester.makepyfile(test_spy=SPY)

    run("--workers", "2").assert_outcomes(passed=8)

    views = seen(pytester)
    assert {view["worker_id"] for view in views} == {"gw0", "gw1"}
    for view in views:
        assert view["env_worker"] == view["worker_id"] == view["workerinput_id"]
        assert view["env_count"] == "2"
    uids = {view["env_uid"] for view in views} | {view["testrun_uid"] for view in views}
    assert len(uids) == 1
    assert None not in uids


def test_testrun_uid_differs_between_runs(pytester: pytest.Pytester, run: Run) -> None:
    """Each run has its own testrun_uid."""
    pytester.makepyfile(test_spy=SPY)

    run("--workers", "2").assert_outcomes(passed=8)
    first = {view["testrun_uid"] for view in seen(pytester)}
    run("--workers", "2").assert_outcomes(passed=8)
    second = {view["testrun_uid"] for view in seen(pytester)}

    assert len(first) == len(second) == 1
    assert first != second


def test_worker_identity_without_workers(pytester: pytest.Pytester, run: Run) -> None:
    """Without --workers, worker_id is 'master', there is no workerinput and no xdist variable."""
    pytester.makepyfile(test_spy=SPY)

    run().assert_outcomes(passed=8)

    views = seen(pytester)
    for view in views:
        assert view["worker_id"] == "master"
        assert view["workerinput_id"] is None
        assert view["env_worker"] is None
        assert view["env_count"] is None
    assert len({view["testrun_uid"] for view in views}) == 1


def test_xdist_numprocesses_still_works(pytester: pytest.Pytester, run: Run) -> None:
    """With testfleet installed, pytest-xdist's -n 2 runs the suite on xdist's own workers."""
    pytest.importorskip("xdist")
    pytester.makepyfile(test_spy=SPY)

    result = run("-n", "2")

    result.assert_outcomes(passed=8)
    result.stdout.no_fnmatch_line("testfleet: *")
    views = seen(pytester)
    assert {view["worker_id"] for view in views} == {"gw0", "gw1"}
    for view in views:
        assert view["env_worker"] == view["worker_id"] == view["workerinput_id"]
        assert view["env_count"] == "2"
    assert len({view["testrun_uid"] for view in views}) == 1


def test_workers_and_numprocesses_together_is_a_usage_error(
    pytester: pytest.Pytester, run: Run
) -> None:
    """--workers 2 with -n 2 is refused as a usage error (exit code 4) naming both options."""
    pytest.importorskip("xdist")
    pytester.makepyfile(test_spy=SPY)

    result = run("--workers", "2", "-n", "2")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--workers*-n*"])
    assert not list(pytester.path.glob("seen-*.json"))
