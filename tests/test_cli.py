"""Acceptance tests of the ``testfleet`` command."""

from __future__ import annotations

import sys

import pytest

from testfleet import __version__


def run_cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "testfleet.cli", *args, timeout=60)


def test_version(pytester: pytest.Pytester) -> None:
    """``testfleet --version`` prints the version and exits 0."""
    result = run_cli(pytester, "--version")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"testfleet {__version__}"])


def test_run_uses_workers_and_returns_pytests_exit_code(pytester: pytest.Pytester) -> None:
    """``testfleet run`` runs the suite on workers and exits with pytest's code."""
    pytester.makepyfile(
        test_one="def test_ok(worker_id): assert worker_id.startswith('gw')\n"
        "def test_other(worker_id): assert worker_id.startswith('gw')\n"
        "def test_bad(): assert False\n"
    )
    result = run_cli(pytester, "run", "--", "-p", "no:cacheprovider", "--workers", "2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["testfleet: 2 workers", "*1 failed, 2 passed*"])


def test_arguments_after_double_dash_reach_pytest(pytester: pytest.Pytester) -> None:
    """Paths come before ``--``; pytest options after it (here ``-k``) are pytest's."""
    pytester.makepyfile(test_a="def test_x(): pass\ndef test_y(): pass\n")
    result = run_cli(pytester, "run", "test_a.py", "--", "-p", "no:cacheprovider", "-k", "x")
    assert result.ret == 0
    result.assert_outcomes(passed=1, deselected=1)


def test_a_missing_path_is_pytests_usage_error(pytester: pytest.Pytester) -> None:
    """A path that does not exist gives pytest's usage error (exit 4), not a traceback."""
    result = run_cli(pytester, "run", "no_such_dir")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: file or directory not found: no_such_dir"])
    assert "Traceback" not in result.stderr.str()


def test_no_command_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Without a command, testfleet prints its usage and exits 2, as argparse tools do."""
    result = run_cli(pytester)
    assert result.ret == 2
    result.stderr.fnmatch_lines(["usage: testfleet*"])
