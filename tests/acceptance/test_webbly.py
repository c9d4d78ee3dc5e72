"""The main job: the Webbly example suite, run through ``testfleet run``."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

WEBBLY = Path(__file__).resolve().parents[2] / "examples" / "webbly"


def test_webbly_passes_through_testfleet_with_every_test_counted(tmp_path: Path) -> None:
    """testfleet runs the whole Webbly suite on workers: every collected test passes."""
    pytest.importorskip("webbly", reason="pip install -e 'examples/webbly[postgres]'")
    common = [str(WEBBLY), "-p", "no:cacheprovider", "-q", "-p", "no:randomly"]
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", *common, "--collect-only"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    match = re.search(r"(\d+) tests? collected", collected.stdout)
    assert match, collected.stdout[-2000:]
    history = tmp_path / "history.db"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "testfleet.cli",
            "run",
            "--",
            *common,
            "--workers",
            "2",
            "--history",
            str(history),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(rf"^{match[1]} passed in ", done.stdout, re.M), done.stdout[-2000:]
    with sqlite3.connect(history) as conn:
        workers = {w for (w,) in conn.execute("SELECT DISTINCT worker FROM testfleet_results")}
    assert workers == {"gw0", "gw1"}
