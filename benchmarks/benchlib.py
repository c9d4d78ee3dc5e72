"""Shared pieces of the benchmark runners: tool commands, timed runs, parsing, reporting.

Both ``run.py`` (synthetic suites) and ``networkx.py`` (a real suite) must time tools the
same way, or their figures could not be compared; so the one way lives here.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from pss import PssSampler, group_members

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / "benchmarks" / "work"
DEFAULT_OUT = REPO_ROOT / "docs" / "benchmarks.md"

DASH = "\N{EN DASH}"  # for ranges and empty cells in the Markdown tables
TOOLS: tuple[str, ...] = (
    "serial",
    "testfleet",
    "testfleet-no-history",
    "xdist",
    "worksteal",
    "parallex",
    "zygote",
)
#: The distribution each tool needs beyond pytest, as ``pip install`` names it.
TOOL_DISTRIBUTIONS: dict[str, str] = {
    "testfleet": "testfleet",
    "testfleet-no-history": "testfleet",
    "xdist": "pytest-xdist",
    "worksteal": "pytest-xdist",
    "parallex": "pytest-parallex",
    "zygote": "pytest-zygote",
}
# Outcome counts that must agree with the reference run; warnings are left out on purpose
# (pytest-benchmark, for one, warns only under xdist).
OUTCOME_KEYS: tuple[str, ...] = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
# Environment variables that change what a pytest run does or costs; the report names the
# ones that are set, since every tool inherits them.
NOTABLE_ENV: tuple[str, ...] = (
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


#: Python writes bytecode by default, and pytest caches the assertion-rewritten test
#: modules beside it. A shell that exports this variable would make every process of
#: every tool compile and rewrite the test files cold, which is not how suites are run
#: (and penalises tools that start many interpreters), so it never reaches a tool.
NO_BYTECODE = "PYTHONDONTWRITEBYTECODE"


def tool_environment(
    base: Mapping[str, str], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The one environment every tool and run gets: ``base`` + ``extra``, bytecode cached."""
    env = {**base, **(extra or {})}
    env.pop(NO_BYTECODE, None)
    return env


def warm_up(
    commands: Mapping[str, Sequence[str]],
    *,
    cwd: Path,
    env: Mapping[str, str],
    logs: Path,
    label: str,
    timeout: float,
) -> list[str]:
    """Run each tool's command once, untimed; return what went wrong, if anything.

    The first run of a tool compiles what it imports (its own modules, and pytest's
    rewritten test modules) into the bytecode cache; without a warm-up the tool timed
    first would pay that for the others. It also warms the OS file cache for each.
    """
    problems: list[str] = []
    for tool, cmd in commands.items():
        log = logs / f"warmup-{label}-{tool}.log"
        measure = run_measured(cmd, cwd=cwd, env=env, log_path=log, timeout=timeout)
        # Exit code 1 (some tests failed) is judged by the timed runs, not here.
        if measure.timed_out or measure.returncode not in (0, 1):
            text = log.read_text(encoding="utf-8", errors="replace")
            problems.append(
                f"{label}: the warm-up run of {tool} "
                + ("timed out" if measure.timed_out else f"exited {measure.returncode}")
                + f": `{last_error_line(text)}` (log `{relpath(log)}`)"
            )
    return problems


def installed(dist: str) -> bool:
    """Whether ``dist`` is installed for this interpreter, the one every tool runs with."""
    return _version(dist) != "not installed"


def missing_tools(tools: Iterable[str]) -> dict[str, str]:
    """The tools of ``tools`` whose distribution is not installed, with its name."""
    return {
        tool: TOOL_DISTRIBUTIONS[tool]
        for tool in tools
        if tool in TOOL_DISTRIBUTIONS and not installed(TOOL_DISTRIBUTIONS[tool])
    }


class ToolChoice:
    """The tools a runner's configuration asks for, and those of them it cannot run.

    Mixed into each runner's ``Config`` dataclass, which declares both fields.
    """

    tools: list[str]
    #: tools asked for whose plugin is not installed -> its distribution name
    missing: dict[str, str]

    @property
    def runnable(self) -> list[str]:
        """The tools that can run, in the order asked for."""
        return [tool for tool in self.tools if tool not in self.missing]

    def missing_lines(self) -> list[str]:
        """One problem line per tool that was asked for but is not installed."""
        return [
            f"{tool}: not installed (`python -m pip install {dist}`); no figures for it"
            for tool, dist in self.missing.items()
        ]


def tool_args(tool: str, workers: int) -> list[str]:
    """The pytest arguments that select ``tool``; kept as plain as each tool's docs show.

    pytest-zygote's option is ``--workers``, testfleet's too: with both installed pytest
    stops at start-up on the clash (an argparse error), so zygote's runs block testfleet's
    plugin and every other run blocks zygote's (unused, it does nothing but load).
    """
    if tool == "zygote":
        return ["-p", "no:testfleet", "--workers", str(workers)]
    block = ["-p", "no:zygote"] if installed("pytest-zygote") else []
    if tool == "serial":
        return block
    if tool == "testfleet":
        return [*block, "--workers", str(workers)]
    if tool == "testfleet-no-history":  # what recording the history costs
        return [*block, "--workers", str(workers), "--no-history"]
    if tool == "xdist":
        return [*block, "-n", str(workers)]
    if tool == "worksteal":
        return [*block, "-n", str(workers), "--dist", "worksteal"]
    if tool == "parallex":
        return [*block, "--parallel=fork", f"--parallel-workers={workers}"]
    raise ValueError(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")


def pytest_command(extra: Sequence[str]) -> list[str]:
    """The full command line; every tool shares the prefix so only ``extra`` differs."""
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *extra]


def display_command(cmd: Sequence[str]) -> str:
    """A command as a person would type it (``python`` for the running interpreter)."""
    shown = ["python" if arg == sys.executable else arg for arg in cmd]
    return shlex.join(shown)


def parse_csv(value: str, known: Sequence[str], what: str) -> list[str]:
    """Split a comma-separated option, rejecting unknown names early (before any run)."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise SystemExit(f"error: bad {what} {value!r}; choose from {', '.join(known)}")
    return names


def rotated(items: Sequence[str], shift: int) -> list[str]:
    """``items`` rotated left by ``shift``: A B C D, B C D A, ... so drift hits all alike."""
    if not items:
        return []
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


@dataclass
class Measurement:
    """What one whole-process run cost, and how it ended."""

    wall: float
    user: float
    sys: float
    maxrss_kib: int  # largest single process of the reaped tree, as Linux's rusage gives it
    returncode: int
    timed_out: bool = False
    strays: int = 0  # processes of the run's group still alive after its leader exited
    peak_pss_kib: int = 0  # largest sum of PSS over the run's process tree, sampled

    @property
    def cpu(self) -> float:
        """User + system CPU seconds of the process and the descendants it waited for."""
        return self.user + self.sys


def run_measured(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    timeout: float,
) -> Measurement:
    """Run ``cmd`` to completion and measure wall, CPU, max RSS and peak PSS of its tree.

    The rusage of ``os.wait4`` covers the child and every descendant that was waited for,
    i.e. the workers of all the tools measured here. The peak PSS is sampled while the run
    goes (see ``PssSampler``), until its leader exits. The child gets its own process group
    so that a hung run can be killed whole; the leader is only reaped after the group was
    checked for leftovers, so its group id cannot be reused while we might signal it.
    Output goes to ``log_path``, headed by the command.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    state = {"exited": False, "timed_out": False}
    with log_path.open("wb") as log:
        log.write(f"$ cd {cwd} && {display_command(cmd)}\n".encode())
        log.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        sampler = PssSampler(proc.pid)
        sampler.start()

        def kill_on_timeout() -> None:
            with lock:
                if not state["exited"]:
                    state["timed_out"] = True
                    os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill_on_timeout)
        timer.start()
        try:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - start
        finally:
            with lock:
                state["exited"] = True
            timer.cancel()
            peak_pss_kib = sampler.stop()
        strays = group_members(proc.pid)
        if strays:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        _, status, usage = os.wait4(proc.pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    proc.returncode = returncode  # reaped by wait4; tell Popen so it does not wait again
    return Measurement(
        wall=wall,
        user=usage.ru_utime,
        sys=usage.ru_stime,
        maxrss_kib=usage.ru_maxrss,
        returncode=returncode,
        timed_out=state["timed_out"],
        strays=len(strays),
        peak_pss_kib=peak_pss_kib,
    )


_SUMMARY_LINE = re.compile(r"^=*\s*((?:\d+ [a-z ]+?(?:, )?)+|no tests ran)\s+in [\d.]+s\b")
_SUMMARY_ITEM = re.compile(r"(\d+) ([a-z]+(?: collected)?)")
_ITEM_NAMES = {
    "error": "errors",
    "warning": "warnings",
    "tests collected": "collected",
    "test collected": "collected",
}


def parse_summary(text: str) -> dict[str, int] | None:
    """Counts from pytest's final summary line (``3 passed, 1 failed in 2.0s``), if any."""
    for line in reversed(text.splitlines()):
        match = _SUMMARY_LINE.match(line.strip())
        if match:
            counts: dict[str, int] = {}
            for number, word in _SUMMARY_ITEM.findall(match.group(1)):
                key = _ITEM_NAMES.get(word, word)
                counts[key] = counts.get(key, 0) + int(number)
            return counts
    return None


def outcome_counts(counts: Mapping[str, int] | None) -> dict[str, int] | None:
    """Only the outcome keys, zeros dropped, so two runs' counts compare with ``==``."""
    if counts is None:
        return None
    return {key: counts[key] for key in OUTCOME_KEYS if counts.get(key)}


def outcome_difference(
    got: Mapping[str, int] | None, reference: Mapping[str, int] | None
) -> str | None:
    """``got``'s count of every outcome whose count differs from ``reference``'s
    (``397 passed, 3 errors``); None when they agree or either is unknown."""
    if got is None or reference is None:
        return None
    differing = [key for key in OUTCOME_KEYS if got.get(key, 0) != reference.get(key, 0)]
    return ", ".join(f"{got.get(key, 0)} {key}" for key in differing) or None


_ERROR_LINE = re.compile(r"^(E\s+)?[\w.]*(Error|Exception)\b|^ERROR|^INTERNALERROR|error:")


def last_error_line(text: str) -> str:
    """The line most likely to explain a failed run, for the report's problem list.

    That is the last line naming an error (an exception's final line, pytest's usage
    error), else simply the last line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if _ERROR_LINE.search(line):
            return line[:200]
    return lines[-1][:200] if lines else "(no output)"


@dataclass
class Spread:
    """Median with min and max of a handful of repetitions."""

    median: float
    low: float
    high: float
    n: int

    def fmt(self, digits: int = 2) -> str:
        """``median (min to max)``; the range is left out for a single value."""
        if self.n == 1:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}{DASH}{self.high:.{digits}f})"


def spread(values: Sequence[float]) -> Spread | None:
    """Median, min, max of ``values``, or None when there are none."""
    if not values:
        return None
    return Spread(statistics.median(values), min(values), max(values), len(values))


def ratio(numerator: float | None, denominator: float | None, digits: int = 2) -> str:
    """``a / b`` formatted, or an en dash when either side is missing."""
    if numerator is None or not denominator:
        return DASH
    return f"{numerator / denominator:.{digits}f}"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _meminfo_gib() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return "unknown"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def pytest_plugins(env: Mapping[str, str], cwd: Path) -> list[str]:
    """Third-party plugins pytest registers here: they load in every tool's runs (but
    those that ``tool_args`` blocks: zygote's in all but its own, testfleet's in zygote's)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *tool_args("serial", 1), "-VV"],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    plugins: list[str] = []
    listing = False
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("registered third-party plugins"):
            listing = True
        elif listing and line.startswith("  "):
            name = line.split()[0]
            if name not in plugins:
                plugins.append(name)
    return plugins


def machine_info(env: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    """Facts a reader needs to judge the figures: machine, versions, relevant environment."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "nproc": affinity,
        "cpu_model": _cpu_model(),
        "memory": _meminfo_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pytest": _version("pytest"),
        "pytest-xdist": _version("pytest-xdist"),
        "pytest-parallex": _version("pytest-parallex"),
        "pytest-zygote": _version("pytest-zygote"),
        "testfleet": _version("testfleet"),
        "plugins": pytest_plugins(env, cwd),
        "loadavg_start": list(os.getloadavg()),
        "env": {name: env[name] for name in NOTABLE_ENV if name in env},
    }


def bytecode_note(shell_env: Mapping[str, str]) -> str:
    """How the runs treated Python's bytecode cache, given the environment they started in."""
    note = (
        "Python's default cache, warmed by one untimed run of every tool before the timed "
        "runs (test modules as pytest rewrites them, and each tool's own modules)"
    )
    value = shell_env.get(NO_BYTECODE)
    if value:
        note += f"; `{NO_BYTECODE}={value}` in the starting shell was removed for the tools"
    return note


def machine_lines(info: Mapping[str, Any], shell_env: Mapping[str, str]) -> list[str]:
    """Markdown bullet lines describing the machine and environment."""
    load = ", ".join(f"{x:.2f}" for x in info["loadavg_start"])
    others = {k: v for k, v in info["env"].items() if k != NO_BYTECODE}
    other_env = ", ".join(f"`{k}={v}`" for k, v in others.items()) or "none"
    return [
        f"- Date: {info['date']}",
        f"- Machine: {info['cpus']} CPUs (nproc {info['nproc']}), {info['memory']}, "
        f"{info['cpu_model']}; {info['platform']}; load average at start {load}",
        f"- Python {info['python']}, pytest {info['pytest']}, pytest-xdist "
        f"{info['pytest-xdist']}, pytest-parallex {info.get('pytest-parallex', '?')}, "
        f"pytest-zygote {info.get('pytest-zygote', '?')}, testfleet {info['testfleet']}; "
        "third-party pytest plugins "
        f"loaded in every run: {', '.join(info['plugins']) or 'none'}",
        f"- Bytecode: {bytecode_note(shell_env)}",
        f"- Other pytest-relevant environment variables set: {other_env}",
    ]


def invocation(argv: Sequence[str]) -> str:
    """The command line this script was started with, as it could be typed again.

    Paths inside the repository are shown relative to it, so a report names no machine.
    """
    return "python " + shlex.join(relpath(Path(arg)) if os.path.isabs(arg) else arg for arg in argv)


def relpath(path: Path) -> str:
    """``path`` relative to the repository when inside it, for portable reports."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def replace_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between this section's markers in ``path``, keeping everything else.

    Each benchmark owns one marked section of the shared docs file, so runs of different
    benchmarks do not overwrite each other's results.
    """
    start = f"<!-- bench:{name}:start -->"
    end = f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    begin_at = text.find(start)
    end_at = text.find(end, begin_at + 1) if begin_at >= 0 else -1
    if begin_at >= 0 and end_at >= 0:
        text = text[:begin_at] + block + text[end_at + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_stamp() -> str:
    """A sortable name for one benchmark invocation's log directory."""
    return datetime.now().strftime("%Y%m%d-%H%M%S")


@dataclass
class RunRecord:
    """One timed tool run, as dumped to the raw JSON and summarised in the report."""

    rep: int
    suite: str
    tool: str
    position: int  # place of this tool in its repetition's rotated order
    command: str
    log: str
    wall: float
    cpu: float
    user: float
    sys: float
    maxrss_kib: int
    peak_pss_kib: int
    returncode: int
    timed_out: bool
    strays: int
    counts: dict[str, int] | None
    problems: list[str] = field(default_factory=list)
    #: How the outcome counts differ from the reference's (``397 passed, 3 errors``), or
    #: None; a run that differs keeps its figures in the statistics and says so.
    differs: str | None = None

    @property
    def ok(self) -> bool:
        """Whether this run's timing may enter the statistics."""
        return not self.problems

    @classmethod
    def measured(
        cls,
        *,
        rep: int,
        suite: str,
        tool: str,
        position: int,
        cmd: Sequence[str],
        log: Path,
        measure: Measurement,
        counts: dict[str, int] | None,
        problems: list[str],
    ) -> RunRecord:
        """The record of one timed run of ``cmd``, as ``run_measured`` measured it."""
        return cls(
            rep=rep,
            suite=suite,
            tool=tool,
            position=position,
            command=display_command(cmd),
            log=relpath(log),
            wall=measure.wall,
            cpu=measure.cpu,
            user=measure.user,
            sys=measure.sys,
            maxrss_kib=measure.maxrss_kib,
            peak_pss_kib=measure.peak_pss_kib,
            returncode=measure.returncode,
            timed_out=measure.timed_out,
            strays=measure.strays,
            counts=counts,
            problems=problems,
        )

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``json.dump``."""
        return asdict(self)


def basic_problems(
    measure: Measurement,
    counts: dict[str, int] | None,
    log_text: str,
    *,
    failures_are_outcomes: bool = False,
) -> list[str]:
    """Problems visible from one run alone: exit code, time-out, leftovers, no summary.

    With ``failures_are_outcomes``, exit code 1 with a summary line that counts failures
    or errors is no problem: the caller compares the outcomes and reports the difference.
    """
    problems: list[str] = []
    failed = bool(counts and (counts.get("failed") or counts.get("errors")))
    judged_elsewhere = failures_are_outcomes and measure.returncode == 1 and failed
    if measure.timed_out:
        problems.append("timed out and was killed")
    elif measure.returncode != 0 and not judged_elsewhere:
        problems.append(f"exit code {measure.returncode}: `{last_error_line(log_text)}`")
    if measure.strays:
        problems.append(f"left {measure.strays} process(es) running after exit (killed)")
    if counts is None and measure.returncode == 0:
        problems.append("no pytest summary line in the output")
    return problems


def install_note() -> str:
    """A Markdown bullet: where the measured testfleet was imported from, and the commit.

    An editable install shows whatever the checkout holds at the moment, half-made
    changes included, so the report says which kind of install was measured.
    """
    import testfleet

    where = Path(testfleet.__file__).resolve()
    kind = (
        "this checkout (editable install)"
        if where.is_relative_to(REPO_ROOT)
        else "an installed (non-editable) copy"
    )
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    head = head or "unknown"
    if kind.startswith("this checkout"):
        return f"- testfleet imported from {kind}, at commit {head} (plus any uncommitted edits)"
    return (
        f"- testfleet imported from {kind}, whose commit is not recorded; the checkout "
        f"was at {head} when the report was written"
    )
