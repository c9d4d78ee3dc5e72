"""pytest-html under --workers: one report, written by the controller, holding every test."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_html")

Run = Callable[..., pytest.RunResult]

SUITE = """
    import pytest


    @pytest.mark.parametrize("n", range(8))
    def test_numbers(n):
        assert n < 7


    def test_skipped():
        pytest.skip("not today")


    def test_with_extra(extras):
        import pytest_html

        extras.append(pytest_html.extras.url("https://example.invalid/from-a-worker"))
"""

#: Records which process writes the report: pytest-html calls this hook from
#: its pytest_sessionfinish, right before it writes the file.
CONFTEST = """
    import os
    from pathlib import Path


    def pytest_html_results_summary(prefix, summary, postfix, session):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
        with (Path(__file__).parent / "writers.log").open("a") as log:
            log.write(worker + "\\n")
"""


class _DataBlob(HTMLParser):
    """Finds the JSON that pytest-html 4 keeps in its data container element."""

    def __init__(self) -> None:
        super().__init__()
        self.blob: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") == "data-container":
            self.blob = values.get("data-jsonblob")


def report_tests(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The tests of a pytest-html report: node id to its result rows."""
    parser = _DataBlob()
    parser.feed(path.read_text())
    assert parser.blob is not None, "no data container in the report"
    return dict(json.loads(parser.blob)["tests"])


def results(path: Path) -> dict[str, list[str]]:
    """Node id to the results pytest-html lists for it."""
    return {
        nodeid: sorted(row["result"] for row in rows) for nodeid, rows in report_tests(path).items()
    }


def test_report_holds_every_test(pytester: pytest.Pytester, run: Run) -> None:
    """The --html report of a --workers run lists every test with serial's results and extras."""
    pytester.makepyfile(test_many=SUITE)
    pytester.makeconftest(CONFTEST)

    run("--html=serial.html")
    run("--html=workers.html", "--workers", "2").assert_outcomes(passed=8, failed=1, skipped=1)

    workers = results(pytester.path / "workers.html")
    assert len(workers) == 10
    assert workers == results(pytester.path / "serial.html")
    assert workers["test_many.py::test_numbers[7]"] == ["Failed"]
    (extra,) = report_tests(pytester.path / "workers.html")["test_many.py::test_with_extra"]
    assert [e["content"] for e in extra["extras"]] == ["https://example.invalid/from-a-worker"]


def test_only_the_controller_writes_the_report(pytester: pytest.Pytester, run: Run) -> None:
    """No worker writes the HTML file or prints its line: the controller does, once."""
    pytester.makepyfile(test_many=SUITE)
    pytester.makeconftest(CONFTEST)

    result = run("--html=report.html", "--workers", "2")

    result.assert_outcomes(passed=8, failed=1, skipped=1)
    assert (pytester.path / "writers.log").read_text().split() == ["controller"]
    assert result.stdout.str().count("Generated html report:") == 1
    assert result.stdout.str().count(" passed, ") == 1  # one summary line, the controller's
