"""Unit tests of the history plugin's pure helpers: outcomes, results and the git commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from testfleet.model import TestResult
from testfleet.plugins.history import _read_head, last_outcomes
from testfleet.plugins.recorder import Phases, outcome_of


def report(when: str, outcome: str, **extra: object) -> pytest.TestReport:
    rep = pytest.TestReport("t.py::x", ("t.py", 0, "x"), {}, outcome, None, when)  # type: ignore[arg-type]
    for name, value in extra.items():
        setattr(rep, name, value)
    return rep


@pytest.mark.parametrize(
    ("when", "outcome", "extra", "expected"),
    [
        ("setup", "passed", {}, None),
        ("setup", "failed", {}, "error"),
        ("setup", "skipped", {}, "skipped"),
        ("setup", "skipped", {"wasxfail": ""}, "xfailed"),
        ("call", "passed", {}, "passed"),
        ("call", "failed", {}, "failed"),
        ("call", "skipped", {"wasxfail": "why"}, "xfailed"),
        ("call", "passed", {"wasxfail": "why"}, "xpassed"),
        ("teardown", "passed", {}, None),
        ("teardown", "failed", {}, "error"),
    ],
)
def test_outcome_of(
    when: str, outcome: str, extra: dict[str, object], expected: str | None
) -> None:
    """Each report decides the outcome pytest's summary would count, or none."""
    assert outcome_of(report(when, outcome, **extra)) == expected


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_head_on_a_branch_with_a_loose_ref(tmp_path: Path) -> None:
    """HEAD naming a branch resolves through the branch's ref file."""
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    assert _read_head(git) == COMMIT


def test_head_on_a_packed_ref(tmp_path: Path) -> None:
    """A branch that git packed is found in packed-refs."""
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text(
        f"# pack-refs\n{'f' * 40} refs/heads/other\n{COMMIT} refs/heads/main\n"
    )
    assert _read_head(git) == COMMIT


def test_detached_head_and_unborn_branch(tmp_path: Path) -> None:
    """A detached HEAD is the commit; a branch with no commit yet has none."""
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text(COMMIT + "\n")
    assert _read_head(git) == COMMIT
    (git / "HEAD").write_text("ref: refs/heads/new\n")
    assert _read_head(git) is None


def test_worktree_gitdir_file(tmp_path: Path) -> None:
    """A .git file (worktree) points to the real git directory and its common dir."""
    main = tmp_path / "repo" / ".git"
    (main / "refs" / "heads").mkdir(parents=True)
    (main / "refs" / "heads" / "feature").write_text(COMMIT)
    worktree = main / "worktrees" / "wt"
    worktree.mkdir(parents=True)
    (worktree / "HEAD").write_text("ref: refs/heads/feature\n")
    (worktree / "commondir").write_text("../..\n")
    checkout = tmp_path / "wt"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {worktree}\n")
    assert _read_head(checkout / ".git") == COMMIT


def test_last_outcomes_from_recent_results() -> None:
    """The newest run's outcome counts; within it, the last result (a rerun) wins."""
    recent = {
        "a": [
            (9, TestResult("a", "failed")),
            (9, TestResult("a", "passed")),
            (3, TestResult("a", "failed")),
        ],
        "b": [(7, TestResult("b", "error")), (3, TestResult("b", "passed"))],
    }
    assert last_outcomes(recent) == {"a": "passed", "b": "error"}


def test_a_lost_test_is_recorded_with_the_time_its_failed_report_gives() -> None:
    """A test lost to a crash or timeout costs the duration of the failed report made for it."""
    # As the relay reports a lost test: no setup report, a failed call report
    # that carries how long the test ran, and an empty teardown.
    phases = Phases()
    for rep in (
        report("call", "failed", duration=2.5, start=1005.0),
        report("teardown", "passed", duration=0.0),
    ):
        phases.add(rep, run_started=1000.0)

    assert phases.result("t.py::x", "gw1") == TestResult(
        "t.py::x", "failed", setup=0.0, call=2.5, teardown=0.0, worker="gw1", start=5.0
    )


def test_phases_come_from_each_report() -> None:
    """Setup, call and teardown durations add up, and the test starts with its setup."""
    phases = Phases()
    for rep in (
        report("setup", "passed", duration=0.25, start=1001.0),
        report("call", "passed", duration=1.0, start=1001.25),
        report("teardown", "passed", duration=0.125, start=1002.25),
    ):
        phases.add(rep, run_started=1000.0)

    result = phases.result("t.py::x", None)
    assert (result.outcome, result.duration, result.start) == ("passed", 1.375, 1.0)


def test_a_report_without_a_start_leaves_the_start_unknown() -> None:
    """A report made up without a start time (start 0) does not claim the test began the run."""
    phases = Phases()
    phases.add(report("call", "failed", duration=3.0), run_started=1000.0)

    assert phases.result("t.py::x", None).start is None
