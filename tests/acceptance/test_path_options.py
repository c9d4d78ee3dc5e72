"""Options that take a path or URL keep the suite's own rootdir and configuration file.

pytest chooses the rootdir and configfile before it knows testfleet's options, so
in ``--history /elsewhere/h.db`` it reads the value as a test path. Each run here
starts in a suite whose configuration registers a marker under ``--strict-markers``
(from ``addopts``), so a run that lost the configuration fails its test.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., pytest.RunResult]

WEBBLY = Path(__file__).resolve().parents[2] / "examples" / "webbly"

#: The suite's configuration, in each format pytest reads.
CONFIGS = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        addopts = ["--strict-markers"]
        markers = ["unit: a unit test"]
    """,
    "pytest.ini": """
        [pytest]
        addopts = --strict-markers
        markers = unit: a unit test
    """,
}

#: A test that passes only where the suite's configuration was read.
MARKED = """
    import pytest

    @pytest.mark.unit
    def test_configured(request):
        assert request.config.inipath is not None
        assert request.config.rootpath == request.config.inipath.parent
"""


@pytest.fixture(params=sorted(CONFIGS))
def suite(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Path:
    """A suite in the pytester directory with its own configuration file."""
    name: str = request.param
    pytester.makefile(Path(name).suffix, **{Path(name).stem: CONFIGS[name]})
    pytester.makepyfile(test_marked=MARKED)
    return pytester.path


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An existing history file in a directory beside the suite, not inside it."""
    path = tmp_path_factory.mktemp("elsewhere") / "h.db"
    path.touch()
    return path


def recorded_runs(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM testfleet_runs").fetchone()[0])


def test_a_separated_value_outside_the_suite_is_a_usage_error(
    suite: Path, outside: Path, run: Run
) -> None:
    """``--history /elsewhere/h.db`` stops with exit 4 and shows ``--history=/elsewhere/h.db``."""
    result = run("--history", str(outside))

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --history {outside}: pytest chose rootdir * instead of rootdir {suite} "
            f"(configfile *), because it looks for them before it knows testfleet's options*"
            f"Join the value to its option with '=': --history={outside}"
        ]
    )
    assert "Traceback" not in result.stderr.str()
    assert outside.stat().st_size == 0  # nothing ran, nothing recorded


def test_a_joined_value_outside_the_suite_keeps_the_config(
    suite: Path, outside: Path, run: Run
) -> None:
    """``--history=/elsewhere/h.db`` runs with the suite's configuration and records there."""
    result = run(f"--history={outside}", "--workers", "2")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines([f"rootdir: {suite}", "configfile: *"])
    result.assert_outcomes(passed=1)
    assert recorded_runs(outside) == 1


def test_pytest_addopts_is_checked_too(
    suite: Path, outside: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A separated value in PYTEST_ADDOPTS, which pytest reads first, is caught the same way."""
    monkeypatch.setenv("PYTEST_ADDOPTS", f"--history {outside}")

    result = run()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*Join the value to its option with '=': --history={outside}"])


@pytest.mark.parametrize("joined", [False, True], ids=["separated", "joined"])
def test_a_relative_path_inside_the_suite_works_in_both_spellings(
    suite: Path, run: Run, joined: bool
) -> None:
    """A history file inside the suite leaves its rootdir alone, however it is written."""
    (suite / "ci").mkdir()
    (suite / "ci" / "h.db").touch()
    option = ["--history=ci/h.db"] if joined else ["--history", "ci/h.db"]

    result = run(*option, "--workers", "2")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"rootdir: {suite}"])
    result.assert_outcomes(passed=1)
    assert recorded_runs(suite / "ci" / "h.db") == 1


@pytest.fixture
def postgres_url(postgres_database: Callable[..., str]) -> str:
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    return postgres_database("testfleet_paths")


@pytest.mark.parametrize("joined", [False, True], ids=["separated", "joined"])
def test_a_postgresql_url_works_in_both_spellings(
    suite: Path, run: Run, postgres_url: str, joined: bool
) -> None:
    """A URL is no path: the run keeps the suite's rootdir and records into the database."""
    import psycopg

    option = [f"--history={postgres_url}"] if joined else ["--history", postgres_url]

    result = run(*option, "--workers", "2")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"rootdir: {suite}"])
    result.assert_outcomes(passed=1)
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM testfleet_runs").fetchone() == (1,)


def test_a_shard_value_that_names_a_path_in_the_suite_is_harmless(suite: Path, run: Run) -> None:
    """``--shard 1/1`` where ``1/1`` also exists in the suite runs as usual: nothing moved."""
    (suite / "1").mkdir()
    (suite / "1" / "1").touch()

    result = run("--shard", "1/1", "--no-history")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)


def test_the_testfleet_command_joins_the_values_it_passes_on(
    suite: Path, outside: Path, pytester: pytest.Pytester
) -> None:
    """``testfleet run -- --history /elsewhere/h.db`` keeps the suite's config and records there."""
    result = pytester.run(
        sys.executable,
        "-m",
        "testfleet.cli",
        "run",
        "--",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--history",
        str(outside),
        timeout=120,
    )

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"rootdir: {suite}"])
    result.assert_outcomes(passed=1)
    assert recorded_runs(outside) == 1


@pytest.mark.parametrize("joined", [False, True], ids=["separated", "joined"])
def test_webbly_keeps_its_pyproject(outside: Path, joined: bool) -> None:
    """On Webbly the separated spelling is refused and the joined one collects cleanly."""
    pytest.importorskip("webbly", reason="pip install -e 'examples/webbly[postgres]'")
    option = [f"--history={outside}"] if joined else ["--history", str(outside)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *option],
        cwd=WEBBLY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if joined:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "tests collected" in done.stdout
        assert "warning" not in done.stdout.lower()
    else:
        assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-2000:]
        assert "(configfile pyproject.toml)" in done.stderr
        assert f"--history={outside}" in done.stderr
