"""testfleet's HTML report beside pytest-html's, on the same real 10 000-test run.

Writes a suite of 10 000 empty tests (20 files of 500), runs it once with
``--workers 2 --no-history --report=testfleet.html`` and once serially with
pytest-html's ``--html=pytest-html.html --self-contained-html``, then opens each page,
and an empty page for Chromium's own start-up, in headless Chromium (``--dump-dom``,
which returns once the page has loaded and its scripts ran), interleaved, ``--repeat``
times. Reports each file's size and the median process wall with the empty page's
subtracted: the time to load and draw the report. testfleet's page also times itself
(``data-render-ms``).

    python benchmarks/report_peers.py [--repeat 3] [--tests 10000] [--out docs/benchmarks.md]

Needs pytest-html (a test extra) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from report import open_page

FILES = 20
PAGES = ("empty", "testfleet", "pytest-html")


def write_suite(directory: Path, tests: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    per_file = tests // FILES
    for number in range(FILES):
        (directory / f"test_r{number:02d}.py").write_text(
            "import pytest\n\n\n"
            f"@pytest.mark.parametrize('n', range({per_file}))\n"
            "def test_case(n):\n    pass\n",
            encoding="utf-8",
        )
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    options = parser.parse_args(argv)
    work = options.workdir / "report-peers"
    suite = work / "suite"
    write_suite(suite, options.tests)
    pages = {name: work / f"{name}.html" for name in PAGES}
    pages["empty"].write_text("<!doctype html><title>empty</title><body></body>\n")
    runs = {
        "testfleet": ["--workers", "2", "--no-history", f"--report={pages['testfleet']}"],
        "pytest-html": [f"--html={pages['pytest-html']}", "--self-contained-html"],
    }
    for name, extra in runs.items():
        done = subprocess.run(
            benchlib.pytest_command(["-p", "no:randomly", *extra]),
            cwd=suite,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not pages[name].exists():
            print(f"{name}: the run failed ({done.returncode}):\n{done.stdout[-2000:]}")
            return 1
    for page in pages.values():  # untimed: Chromium's first start reads its files cold
        open_page(options.chromium, page)
    walls: dict[str, list[float]] = {name: [] for name in PAGES}
    own: list[float] = []
    for rep in range(options.repeat):
        for name in benchlib.rotated(list(PAGES), rep):
            wall, dom = open_page(options.chromium, pages[name], timeout=600)
            walls[name].append(wall)
            print(f"rep {rep} {name:12} {wall:8.0f} ms")
            if name == "testfleet":
                body = re.search(r"<body([^>]*)>", dom)
                attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1) if body else ""))
                own.append(float(attrs.get("data-render-ms", "nan")))
                if attrs.get("data-tests") != str(options.tests) or attrs.get("data-errors") != "0":
                    print(f"testfleet's page shows {attrs}")
                    return 1
    start_up = statistics.median(walls["empty"])
    rows = []
    for name in ("testfleet", "pytest-html"):
        median = statistics.median(walls[name])
        rows.append(
            [
                name,
                f"{pages[name].stat().st_size / 2**20:.2f}",
                f"{median:.0f}",
                f"{max(0.0, median - start_up):.0f}",
                ", ".join(f"{w:.0f}" for w in walls[name]),
            ]
        )
    version = subprocess.run(
        [options.chromium, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    body = "\n".join(
        [
            "## The report beside pytest-html's, on one real run",
            "",
            f"`{benchlib.invocation(sys.argv)}`: {options.tests} empty tests, reported by "
            "testfleet (`--workers 2 --report=…html`) and by pytest-html "
            f"{benchlib._version('pytest-html')} (`--html=… --self-contained-html`), each "
            f"page opened {options.repeat} times in headless {version} (`--dump-dom`, which "
            "returns once the page loaded and its scripts ran), interleaved with an empty "
            f"page (Chromium's start-up, median {start_up:.0f} ms); medians.",
            "",
            benchlib.md_table(
                ["report", "file MiB", "Chromium wall ms", "minus start-up ms", "runs ms"],
                rows,
            ),
            "",
            f"testfleet's page timed itself at {statistics.median(own):.0f} ms (median, from "
            "navigation start to the end of its script).",
        ]
    )
    benchlib.replace_section(options.out, "report-peers", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
