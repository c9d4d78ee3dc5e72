"""How big the HTML report of a 10 000-test run is, and how fast headless Chromium draws it.

Builds a synthetic run (10 000 tests on 2 workers, worker and machine samples every 0.5 s
over the run, 30 fixtures, 20 recorded runs before it, some flaky and quarantined tests),
writes its HTML and JSON reports, and opens the HTML in headless Chromium ``--repeat``
times. Two render times are taken from each opening: the page's own (``data-render-ms`` on
``<body>``: from the start of navigation to the end of its script, parsing the file
included) and the wall of the whole Chromium process (its start-up included). Prints a
Markdown table of the medians; nothing is written to the docs.

    python benchmarks/report.py [--tests 10000] [--repeat 5] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from testfleet.model.history import (
    CacheFigures,
    FinishedRun,
    FixtureTiming,
    MachineSample,
    RunDetails,
    RunRecord,
    TestResult,
    WorkerSample,
)
from testfleet.monitoring.flaky import FlakyScore

#: When the synthetic run started (2026-11-28 09:00 UTC): fixed, so runs compare.
STARTED = 1_795_856_400.0
#: The Markdown budget the brief sets: the file, and the page's own render time.
BUDGET_BYTES = 5 * 1024 * 1024
BUDGET_MS = 2000.0
DASH = "\N{EN DASH}"  # for empty cells of the Markdown table

_CATEGORIES = ("unit", "integration", "functional")
_OUTCOMES = (
    ("passed", 0.955),
    ("failed", 0.01),
    ("error", 0.003),
    ("skipped", 0.02),
    ("xfailed", 0.01),
    ("xpassed", 0.002),
)


@dataclass(frozen=True)
class Synthetic:
    """A run to report on, and the history around it."""

    finished: FinishedRun
    history: tuple[RunRecord, ...]
    flaky: tuple[FlakyScore, ...]
    quarantined: tuple[str, ...]


def _outcome(rng: random.Random) -> str:
    roll = rng.random()
    for outcome, share in _OUTCOMES:
        if roll < share:
            return outcome
        roll -= share
    return "passed"


def synthetic_run(tests: int = 10_000, workers: int = 2, *, seed: int = 0) -> Synthetic:
    """A run of ``tests`` tests on ``workers`` workers, with samples, fixtures and history."""
    rng = random.Random(seed)
    lanes = [0.0] * workers
    results = []
    for i in range(tests):
        module, case = divmod(i, 40)
        category = _CATEGORIES[module % 3]
        nodeid = (
            f"tests/{category}/test_module_{module:04d}.py::TestFeature{case % 4}"
            f"::test_behaviour_{case:03d}[case-{i % 7}]"
        )
        call = rng.lognormvariate(-3.6, 1.0)  # median ~27 ms, a long tail
        setup, teardown = call * 0.1, call * 0.05
        lane = min(range(workers), key=lanes.__getitem__)
        start = lanes[lane]
        lanes[lane] += setup + call + teardown + 0.0005
        attempts = 2 if rng.random() < 0.002 else 1
        results.append(
            TestResult(
                nodeid=nodeid,
                outcome=_outcome(rng),  # type: ignore[arg-type]
                setup=setup,
                call=call,
                teardown=teardown,
                worker=f"gw{lane}",
                start=start,
                cpu=call * rng.uniform(0.3, 1.0),
                peak_rss=int(rng.uniform(60, 140) * 2**20),
                attempts=attempts,
                quarantined=rng.random() < 0.0005,
                category=category,
                resources=("smtp",) if module % 25 == 0 else (),
            )
        )
    wall = max(lanes) + 1.5
    samples = []
    machine = []
    steps = int(wall / 0.5) + 1
    for step in range(steps):
        at = step * 0.5
        for process in [f"gw{w}" for w in range(workers)] + ["controller"]:
            busy = process != "controller"
            samples.append(
                WorkerSample(
                    at=at,
                    process=process,
                    cpu_percent=rng.uniform(85, 100) if busy else rng.uniform(2, 8),
                    rss=int((110 if busy else 80) * 2**20 + step * 2**14),
                )
            )
        machine.append(
            MachineSample(
                at=at,
                cpu_percent=rng.uniform(90, 100),
                memory_used=int(6 * 2**30 + step * 2**16),
                memory_total=24 * 2**30,
                disk_used=180 * 2**30,
                disk_total=400 * 2**30,
                load=rng.uniform(1.8, 2.4),
            )
        )
    fixtures = tuple(
        FixtureTiming(
            name=f"fixture_{i:02d}",
            scope=("function", "module", "session")[i % 3],
            count=(tests // 30, 250, workers)[i % 3],
            seconds=rng.uniform(0.1, 20),
            slowest=rng.uniform(0.01, 2),
        )
        for i in range(30)
    )
    test_seconds = sum(r.duration for r in results)
    run = RunRecord(
        started=STARTED,
        finished=STARTED + wall,
        workers=workers,
        host="bench-host",
        commit="0123456789abcdef0123456789abcdef01234567",
        arguments=("--workers=2", "--report=report.html"),
        exit_code=1,
        status="complete",
        run_id=21,
        cache=CacheFigures(hits=812, misses=40, sets=40, evictions=0, saved_seconds=95.2),
        tests=tests,
        test_seconds=test_seconds,
        planned=wall * 0.97,
        peak_rss=350 * 2**20,
    )
    earlier = tuple(
        RunRecord(
            started=STARTED - (20 - i) * 86_400,
            finished=STARTED - (20 - i) * 86_400 + wall * rng.uniform(0.9, 1.2),
            workers=workers,
            host="bench-host",
            commit=f"{i:040x}",
            arguments=(),
            exit_code=0,
            status="complete",
            run_id=i + 1,
            tests=tests - 20 * (20 - i),
            test_seconds=test_seconds * rng.uniform(0.85, 1.0),
        )
        for i in range(20)
    )
    history = (*earlier, run)
    flaky = tuple(
        FlakyScore(
            results[i * 97].nodeid,
            1.0 if i < 3 else 0.3,
            certain=i < 3,
            samples=20,
            flips=6,
            evidence="6 flips between pass and fail in its last 20 results",
        )
        for i in range(12)
    )
    quarantined = tuple(r.nodeid for r in results if r.quarantined)
    details = RunDetails(workers=tuple(samples), machine=tuple(machine), fixtures=fixtures)
    return Synthetic(FinishedRun(run, tuple(results), details), history, flaky, quarantined)


def open_page(chromium: str, page: Path, timeout: float = 120) -> tuple[float, str]:
    """Open ``page`` once in headless Chromium: the process wall in ms, and the DOM it
    printed once the page had loaded and its scripts ran."""
    began = time.perf_counter()
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1400,1800",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return (time.perf_counter() - began) * 1000, done.stdout


def _render(chromium: str, page: Path) -> tuple[float, float, int, int]:
    """Open ``page`` once: (the page's render ms, the process wall ms, errors, lanes)."""
    wall_ms, dom = open_page(chromium, page)
    body = re.search(r"<body([^>]*)>", dom)
    if body is None:
        raise RuntimeError("Chromium printed no <body>")
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    return (
        float(attrs.get("data-render-ms", "nan")),
        wall_ms,
        int(attrs.get("data-errors", "-1")),
        int(attrs.get("data-lanes", "-1")),
    )


def main(argv: list[str] | None = None) -> int:
    from testfleet.reporting.html import render_html
    from testfleet.reporting.report import report_document

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--keep", type=Path, help="also copy the HTML report here")
    options = parser.parse_args(argv)

    synthetic = synthetic_run(options.tests, options.workers)
    began = time.perf_counter()
    document = report_document(
        synthetic.finished,
        history_runs=synthetic.history,
        flaky=synthetic.flaky,
        quarantined_names=synthetic.quarantined,
    )
    built_ms = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    page = render_html(document)
    html_ms = (time.perf_counter() - began) * 1000
    import json

    json_size = len(json.dumps(document, separators=(",", ":")).encode())
    with tempfile.TemporaryDirectory(prefix="testfleet-report-bench.") as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, encoding="utf-8")
        if options.keep:
            shutil.copyfile(path, options.keep)
        size = path.stat().st_size
        _render(options.chromium, path)  # untimed: Chromium's first start reads its files cold
        runs = [_render(options.chromium, path) for _ in range(options.repeat)]
    page_ms = statistics.median(r[0] for r in runs)
    wall_ms = statistics.median(r[1] for r in runs)
    errors = max(r[2] for r in runs)
    lanes = {r[3] for r in runs}
    version = subprocess.run(
        [options.chromium, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    tests, samples = len(synthetic.finished.results), len(synthetic.finished.details.workers)
    print(
        f"{tests} tests on {options.workers} workers, {samples} worker samples, "
        f"{len(synthetic.finished.details.machine)} machine samples, 30 fixtures, "
        f"{len(synthetic.history) - 1} earlier runs; {version}; median of {options.repeat}"
    )
    print()
    print("| figure | measured | budget |")
    print("|---|---|---|")
    print(f"| HTML file | {size / 2**20:.2f} MiB ({size:,} bytes) | ≤ 5 MiB |")
    print(f"| JSON document | {json_size / 2**20:.2f} MiB | {DASH} |")
    print(f"| document / page built in Python | {built_ms:.0f} / {html_ms:.0f} ms | {DASH} |")
    print(
        f"| render, the page's own (navigation start to end of script) | {page_ms:.0f} ms "
        f"(runs: {', '.join(f'{r[0]:.0f}' for r in runs)}) | ≤ 2000 ms |"
    )
    print(
        f"| headless Chromium process wall (start-up included) | {wall_ms:.0f} ms "
        f"(runs: {', '.join(f'{r[1]:.0f}' for r in runs)}) | {DASH} |"
    )
    print(
        f"| script errors / worker lanes seen | {errors} / {', '.join(map(str, lanes))} | 0 / "
        f"{options.workers} |"
    )
    met = size <= BUDGET_BYTES and page_ms <= BUDGET_MS and errors == 0
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
