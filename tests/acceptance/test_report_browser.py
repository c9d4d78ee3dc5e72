"""The HTML report of a real run, opened in headless Chromium: it draws its lanes and tests
without a script error.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); CI installs it, and there a
skipped test fails. The screenshot is left in ``build/report.png`` for CI to keep.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., pytest.RunResult]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "build" / "report.png"

SUITE = """
import time
import pytest

@pytest.mark.parametrize("n", range(30))
def test_work(n):
    time.sleep(0.005 * (n % 4))

def test_fail():
    assert False

@pytest.mark.skip
def test_skip():
    pass

@pytest.mark.xfail
def test_xfail():
    assert False
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    return found


def open_page(browser: str, page: Path, profile: Path, *extra: str) -> str:
    """Chromium's dump of the page's DOM after its scripts ran."""
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            # A profile of its own: runs on parallel workers must not share one.
            f"--user-data-dir={profile}",
            "--window-size=1400,1800",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def body_attributes(dom: str) -> dict[str, str]:
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))


def test_chromium_draws_a_real_runs_report(
    pytester: pytest.Pytester, run: Run, tmp_path: Path
) -> None:
    """The page of a 2-worker run shows both lanes and all 33 tests, and no script failed."""
    browser = chromium()
    pytester.makepyfile(test_a=SUITE)
    result = run("--workers=2", "--report=report.html")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    page = pytester.path / "report.html"

    dom = open_page(browser, page, tmp_path / "profile", "--dump-dom")

    body = body_attributes(dom)
    errors = re.search(r'<pre id="errors">(.*?)</pre>', dom, re.S)
    assert body["data-errors"] == "0", errors.group(1) if errors else dom[-2000:]
    assert body["data-tests"] == "33"
    assert body["data-lanes"] == "2"
    assert float(body["data-render-ms"]) > 0
    assert re.findall(r'<tr data-lane="([^"]+)"', dom) == ["gw0", "gw1"]
    assert re.search(r'<canvas id="timeline" data-lanes="2" data-tests="33"', dom)
    assert 'data-outcome="failed">1 failed<' in dom
    assert "test_a.py::test_fail" in dom  # the failures table
    for section in ("summary", "timeline-section", "workers", "usage", "slowest", "trends"):
        assert f'data-section="{section}"' in dom

    SCREENSHOT.parent.mkdir(exist_ok=True)
    open_page(
        browser, page, tmp_path / "profile", "--hide-scrollbars", f"--screenshot={SCREENSHOT}"
    )
    assert SCREENSHOT.stat().st_size > 10_000  # a drawn page, not a blank one


def test_a_script_error_shows_in_the_dom(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A page whose data the script cannot read says so on <body>: the check above can fail."""
    from testfleet.model.history import FinishedRun, RunRecord
    from testfleet.reporting.html import render_html
    from testfleet.reporting.report import report_document

    browser = chromium()
    run = RunRecord(0.0, 1.0, 1, "h", None, (), 0, "complete")
    document = report_document(FinishedRun(run, ()))
    document["schema"] = 99  # a document this page cannot read
    page = tmp_path / "bad.html"
    page.write_text(render_html(document), encoding="utf-8")

    dom = open_page(browser, page, tmp_path / "profile", "--dump-dom")

    assert body_attributes(dom)["data-errors"] == "1"
    assert "schema 99" in dom
