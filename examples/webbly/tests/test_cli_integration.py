"""The ``webbly`` command line, run in-process and once as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webbly import __version__
from webbly.cli import main


@pytest.fixture
def site_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WEBBLY_PASSWORD_ITERATIONS", "1000")
    monkeypatch.delenv("WEBBLY_DATABASE_URL", raising=False)
    return tmp_path / "site"


def run(site_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(site_dir), *args])


def test_init_creates_database_and_index(site_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run(site_dir, "init") == 0
    assert (site_dir / "webbly.sqlite3").exists()
    assert (site_dir / "search.sqlite3").exists()
    assert "initialised" in capsys.readouterr().out


def test_create_user_and_stats(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(site_dir, "create-user", "ann", "ann@example.org", "--role", "editor",
               "--password", "long-password") == 0
    assert "created ann (editor)" in capsys.readouterr().out
    assert run(site_dir, "stats") == 0
    assert json.loads(capsys.readouterr().out)["users"] == 1


def test_errors_exit_non_zero(site_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("create-user", "ann", "ann@example.org", "--password", "long-password")
    assert run(site_dir, *args) == 0
    assert run(site_dir, *args) == 1
    assert "webbly: user 'ann' exists" in capsys.readouterr().err


def test_seed_export_import_build_reindex(site_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run(site_dir, "seed", "--pages", "25", "--seed", "3") == 0
    assert "seeded 25 pages" in capsys.readouterr().out
    assert run(site_dir, "export", str(tmp_path / "md")) == 0
    assert len(list((tmp_path / "md").glob("*.md"))) == 25
    assert run(site_dir, "import", str(tmp_path / "md"), "--as", "editor") == 0
    assert "created 0, updated 0, unchanged 25, failed 0" in capsys.readouterr().out
    assert run(site_dir, "build", str(tmp_path / "html")) == 0
    assert (tmp_path / "html" / "index.html").exists()
    assert run(site_dir, "reindex") == 0
    out = capsys.readouterr().out
    indexed = int(out.strip().splitlines()[-1].split()[1])
    assert indexed == len(list((tmp_path / "html" / "pages").iterdir()))


def test_import_reports_failures(site_dir: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    run(site_dir, "create-user", "eddie", "ed@example.org", "--role", "editor",
        "--password", "long-password")
    source = tmp_path / "in"
    source.mkdir()
    (source / "bad.md").write_text("---\nbroken\n---\n")
    assert run(site_dir, "import", str(source), "--as", "eddie") == 1
    assert "bad.md" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(site_dir: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        run(site_dir, "explode")
    assert caught.value.code == 2


def test_bad_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WEBBLY_DATABASE_URL", "mysql://nope/db")
    monkeypatch.setenv("WEBBLY_DATA_DIR", str(tmp_path / "env-site"))
    assert main(["init"]) == 1
    assert "unsupported database URL" in capsys.readouterr().err


def test_module_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "WEBBLY_DATA_DIR": str(tmp_path / "sub"),
           "WEBBLY_PASSWORD_ITERATIONS": "1000"}
    env.pop("WEBBLY_DATABASE_URL", None)
    version = subprocess.run([sys.executable, "-m", "webbly", "--version"], env=env,
                             capture_output=True, text=True, check=True, timeout=60)
    assert version.stdout.strip() == f"webbly {__version__}"
    stats = subprocess.run([sys.executable, "-m", "webbly", "stats"], env=env,
                           capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(stats.stdout)["pages"] == 0
