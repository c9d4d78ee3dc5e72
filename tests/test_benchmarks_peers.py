"""Tests of what the benchmarks need for the peers (pytest-parallex, pytest-zygote): their
commands, the peak PSS of a run's process tree, and how outcome differences are reported
(``benchmarks/benchlib.py`` and ``benchmarks/run.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark_modules import ROOT, load

# run.py imports benchlib by its plain name, as a script beside it does.
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
run = load("run")
benchlib = run.benchlib  # the very module run.py uses
pss = sys.modules["pss"]  # and the one benchlib uses

MIB = 1024  # KiB
# What the allocating children below hold: far above the noise of an idle interpreter.
ALLOCATED_MIB = 64

ROLLUP = """\
5627b7f30000-7fffd2d8a000 ---p 00000000 00:00 0                          [rollup]
Rss:               10868 kB
Pss:                {pss} kB
Pss_Dirty:          4792 kB
Pss_Anon:           4792 kB
Shared_Clean:       2148 kB
SwapPss:               0 kB
"""


# ---------------------------------------------------------------- PSS parsing and trees


def test_parse_pss_reads_the_pss_line_not_its_namesakes() -> None:
    """Only ``Pss:`` counts, not ``Pss_Dirty:`` or ``SwapPss:``; a zombie's empty file has none."""
    assert pss.parse_pss_kib(ROLLUP.format(pss=8948)) == 8948
    assert pss.parse_pss_kib("") is None
    assert pss.parse_pss_kib("Pss_Anon:  12 kB\nSwapPss: 3 kB\n") is None


@given(figure=st.integers(0, 2**40))
def test_parse_pss_reads_any_figure(figure: int) -> None:
    assert pss.parse_pss_kib(ROLLUP.format(pss=figure)) == figure


def test_parse_pss_reads_this_process() -> None:
    """This very process has a PSS, as its own smaps_rollup says."""
    assert pss.read_pss_kib(os.getpid()) > 0
    assert pss.read_pss_kib(2**22 + 1) == 0  # above pid_max: no such process


@given(
    parents=st.lists(st.integers(0, 30), min_size=1, max_size=30),
    root=st.integers(1, 30),
)
def test_tree_members_are_the_root_and_its_descendants(parents: list[int], root: int) -> None:
    """Process k + 1 has parent ``parents[k]`` when that is a smaller pid (so the processes
    form a forest); the members are the root and exactly those with the root among their
    ancestors."""
    parent_of = {pid: parent for pid, parent in enumerate(parents, start=1) if parent < pid}
    children: dict[int, list[int]] = {}
    for pid, parent in parent_of.items():
        children.setdefault(parent, []).append(pid)

    def ancestors(pid: int) -> Iterator[int]:
        while pid in parent_of:
            pid = parent_of[pid]
            yield pid

    expected = {root} | {pid for pid in parent_of if root in ancestors(pid)}
    assert pss.tree_members(root, lambda pid: children.get(pid, [])) == expected


def test_tree_members_add_the_extra_processes_and_their_descendants() -> None:
    children = {1: [2], 5: [6, 7], 7: [8]}
    found = pss.tree_members(1, lambda pid: children.get(pid, []), extra=[5])
    assert found == {1, 2, 5, 6, 7, 8}


ALLOCATOR = f"""
import sys
sys.stdin.readline()
held = bytearray(b"\\x01") * ({ALLOCATED_MIB} << 20)  # written, so every page is resident
print("allocated", flush=True)
sys.stdin.readline()
"""


def test_the_tree_of_this_process_finds_a_child_that_allocates() -> None:
    """Sampling this process's tree sees its child's memory grow once the child allocates."""
    with subprocess.Popen(
        [sys.executable, "-c", ALLOCATOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        assert child.pid in pss.tree_members(os.getpid(), pss.proc_children)
        sampler = pss.PssSampler(os.getpid())
        before = sampler.sample()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "allocated"
        after = sampler.sample()
        assert after - before >= (ALLOCATED_MIB - 8) * MIB
        assert sampler.peak_kib >= after


NEW_SESSION_GRANDCHILD = """
import subprocess, sys
grandchild = subprocess.Popen(
    [sys.executable, "-c", "import sys; sys.stdin.readline()"],
    stdin=subprocess.PIPE, start_new_session=True,
)
print(grandchild.pid, flush=True)
sys.stdin.readline()
grandchild.stdin.close()
grandchild.wait()
"""


def test_the_tree_includes_workers_that_start_their_own_session() -> None:
    """A descendant in another session and group (as some tools' workers are) is found."""
    with subprocess.Popen(
        [sys.executable, "-c", NEW_SESSION_GRANDCHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        assert os.getsid(grandchild) != os.getsid(0)
        assert grandchild in pss.tree_members(os.getpid(), pss.proc_children)


HOLDER = f"""
import time
held = bytearray(b"\\x01") * ({ALLOCATED_MIB} << 20)
time.sleep(0.5)  # some samples at 20 ms must fall in here
"""


def test_run_measured_reports_the_peak_pss_of_the_run(tmp_path: Path) -> None:
    """A run that held 64 MiB for a while has a peak PSS of at least that; after the run
    the memory is gone, so the peak was sampled while it went."""
    measure = benchlib.run_measured(
        [sys.executable, "-c", HOLDER],
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "log",
        timeout=60,
    )
    assert measure.returncode == 0
    assert measure.peak_pss_kib >= ALLOCATED_MIB * MIB
    record = benchlib.RunRecord.measured(
        rep=1,
        suite="s",
        tool="serial",
        position=0,
        cmd=["python"],
        log=tmp_path / "log",
        measure=measure,
        counts=None,
        problems=[],
    )
    assert record.to_json()["peak_pss_kib"] == measure.peak_pss_kib


# ---------------------------------------------------------------- the peers' commands


def test_every_tool_has_a_command_and_the_peers_ask_for_w_workers() -> None:
    assert {"parallex", "zygote"} <= set(benchlib.TOOLS)
    parallex = benchlib.tool_args("parallex", 3)
    assert parallex[-2:] == ["--parallel=fork", "--parallel-workers=3"]
    # zygote's --workers is testfleet's option too: its runs block testfleet's plugin.
    assert benchlib.tool_args("zygote", 3) == ["-p", "no:testfleet", "--workers", "3"]
    for tool in benchlib.TOOLS:
        args = benchlib.tool_args(tool, 2)
        if tool != "zygote" and benchlib.installed("pytest-zygote"):
            assert args[:2] == ["-p", "no:zygote"]
    with pytest.raises(ValueError, match="unknown tool"):
        benchlib.tool_args("nose", 2)


def test_missing_tools_name_the_distribution_to_install() -> None:
    assert benchlib.missing_tools(["serial", "testfleet"]) == {}
    benchlib.TOOL_DISTRIBUTIONS["ghost"] = "pytest-ghost-not-on-pypi"
    try:
        assert benchlib.missing_tools(["serial", "ghost"]) == {"ghost": "pytest-ghost-not-on-pypi"}
    finally:
        del benchlib.TOOL_DISTRIBUTIONS["ghost"]


# ---------------------------------------------------------------- outcome differences


@pytest.mark.parametrize(
    ("got", "reference", "shown"),
    [
        ({"passed": 400}, {"passed": 400}, None),
        ({"passed": 397, "errors": 3}, {"passed": 400}, "397 passed, 3 errors"),
        ({"passed": 400}, {"passed": 399, "skipped": 1}, "400 passed, 0 skipped"),
        (None, {"passed": 1}, None),
        ({"passed": 1}, None, None),
    ],
)
def test_outcome_difference_names_the_differing_counts(
    got: dict[str, int] | None, reference: dict[str, int] | None, shown: str | None
) -> None:
    assert benchlib.outcome_difference(got, reference) == shown


outcome_maps = st.dictionaries(st.sampled_from(benchlib.OUTCOME_KEYS), st.integers(0, 9))


@given(got=outcome_maps, reference=outcome_maps)
def test_outcome_difference_is_none_exactly_when_the_counts_agree(
    got: dict[str, int], reference: dict[str, int]
) -> None:
    same = all(got.get(k, 0) == reference.get(k, 0) for k in benchlib.OUTCOME_KEYS)
    assert (benchlib.outcome_difference(got, reference) is None) == same


def _record(tool: str, counts: dict[str, int] | None, *, returncode: int = 0) -> object:
    return benchlib.RunRecord(
        rep=1,
        suite="cpu",
        tool=tool,
        position=0,
        command="python -m pytest",
        log="log",
        wall=2.0,
        cpu=1.0,
        user=1.0,
        sys=0.0,
        maxrss_kib=50 * MIB,
        peak_pss_kib=80 * MIB,
        returncode=returncode,
        timed_out=False,
        strays=0,
        counts=counts,
    )


def _config(tools: list[str], missing: dict[str, str] | None = None) -> object:
    return run.Config(
        suites=["cpu"],
        tools=tools,
        workers=2,
        repeat=1,
        scale=0.05,
        out=Path("x.md"),
        workdir=Path("work"),
        timeout=60.0,
        quick=True,
        missing=missing or {},
    )


META = {"tests": 400, "kind": "cpu", "sum_d": 0.0, "max_d": 0.0}


def test_a_peer_that_breaks_a_suite_is_reported_and_keeps_its_figures() -> None:
    serial = _record("serial", {"passed": 400})
    broken = _record("parallex", {"passed": 397, "errors": 3}, returncode=1)
    fine = _record("zygote", {"passed": 400})
    records = [serial, broken, fine]
    run.flag_runs(records, {"cpu": META})
    assert [r.differs for r in records] == [None, "397 passed, 3 errors", None]
    assert broken.ok  # its figures stay in the statistics
    cfg = _config(["serial", "parallex", "zygote"])
    table = run.detail_table(cfg, records, {"cpu": META})
    row = next(line for line in table.splitlines() if "| parallex |" in line)
    assert "differs: 397 passed, 3 errors" in row
    assert "| 2.00 differs |" in row  # the wall is shown, and marked
    assert "| 80 |" in row  # the peak PSS
    lines = run.problem_lines(records, [])
    assert any("parallex" in line and "397 passed, 3 errors" in line for line in lines)


def test_exit_code_1_with_failures_is_an_outcome_not_a_problem_when_outcomes_are_compared(
    tmp_path: Path,
) -> None:
    measure = benchlib.Measurement(wall=1, user=1, sys=0, maxrss_kib=1, returncode=1)
    counts = {"passed": 397, "errors": 3}
    assert benchlib.basic_problems(measure, counts, "E boom", failures_are_outcomes=True) == []
    assert benchlib.basic_problems(measure, counts, "E boom") != []
    usage = benchlib.Measurement(wall=1, user=1, sys=0, maxrss_kib=1, returncode=4)
    assert benchlib.basic_problems(usage, None, "error: x", failures_are_outcomes=True) != []


def test_a_tool_that_is_not_installed_is_reported_not_dropped() -> None:
    cfg = _config(["serial", "zygote"], missing={"zygote": "pytest-zygote"})
    assert cfg.runnable == ["serial"]
    records = [_record("serial", {"passed": 400})]
    run.flag_runs(records, {"cpu": META})
    assert "not installed" in run.wall_matrix(cfg, records, {"cpu": META}).splitlines()[-1]
    detail = run.detail_table(cfg, records, {"cpu": META})
    assert "| cpu | zygote | not installed |" in detail
    assert cfg.missing_lines() == [
        "zygote: not installed (`python -m pip install pytest-zygote`); no figures for it"
    ]


# ---------------------------------------------------------------- networkx.py with the peers

networkx_bench = load("networkx")  # benchmarks/networkx.py, not the networkx package


def _nx_config(tools: list[str], missing: dict[str, str] | None = None) -> object:
    return networkx_bench.Config(
        tools=tools,
        workers=2,
        repeat=1,
        out=Path("x.md"),
        workdir=Path("/work-dir"),
        logs=Path("/work-dir/networkx/runs/now"),
        keyword=None,
        package="networkx",
        extra_env={},
        timeout=60.0,
        missing=missing or {},
    )


def _nx_run(tool: str, pss_mib: int) -> object:
    record = _record(tool, {"passed": 400})
    record.suite = "networkx"
    record.peak_pss_kib = pss_mib * MIB
    return networkx_bench.NxRun(record=record, junit="r1.xml", outcomes={("m", "t"): ["passed"]})


@pytest.mark.parametrize("zygote_installed", [True, False])
def test_networkx_runs_the_peers_with_benchlibs_arguments(
    zygote_installed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every tool's command takes ``tool_args``: the block of pytest-zygote (or, in its
    own runs, of testfleet) applies to networkx's runs too."""
    real = benchlib.installed
    monkeypatch.setattr(
        benchlib,
        "installed",
        lambda dist: zygote_installed if dist == "pytest-zygote" else real(dist),
    )
    cfg = _nx_config(list(benchlib.TOOLS))
    junit = cfg.logs / "r1.xml"
    for tool in benchlib.TOOLS:
        cmd = networkx_bench.tool_command(cfg, tool, junit)
        args = benchlib.tool_args(tool, 2)
        start = cmd.index("--pyargs") + 2
        assert cmd[start : start + len(args)] == args
        assert ("no:zygote" in cmd) == (zygote_installed and tool != "zygote")
        assert ("no:testfleet" in cmd) == (tool == "zygote")


def test_networkx_table_shows_the_peak_pss() -> None:
    cfg = _nx_config(["serial", "parallex", "zygote"])
    runs = [_nx_run("serial", 120), _nx_run("parallex", 250), _nx_run("zygote", 180)]
    table = benchlib.md_table(networkx_bench.TABLE_HEADERS, networkx_bench._tool_rows(cfg, runs))
    header, _, *rows = table.splitlines()
    assert "peak PSS MiB" in header
    column = [cell.strip() for cell in header.strip("|").split("|")].index("peak PSS MiB")
    shown = {row.split("|")[1].strip(): row.strip("|").split("|")[column].strip() for row in rows}
    assert shown == {"serial": "120", "parallex": "250", "zygote": "180"}


def test_networkx_reports_a_tool_that_is_not_installed() -> None:
    cfg = _nx_config(["serial", "zygote"], missing={"zygote": "pytest-zygote"})
    assert cfg.runnable == ["serial"]
    runs = [_nx_run("serial", 120)]
    rows = networkx_bench._tool_rows(cfg, runs)
    assert rows[1][:2] == ["zygote", "not installed"]
    assert len(rows[1]) == len(networkx_bench.TABLE_HEADERS)
    info = {
        "date": "today",
        "cpus": 2,
        "nproc": 2,
        "cpu_model": "cpu",
        "memory": "1 GiB",
        "platform": "linux",
        "python": "3",
        "pytest": "8",
        "pytest-xdist": "3",
        "testfleet": "1",
        "plugins": [],
        "loadavg_start": [0.0, 0.0, 0.0],
        "env": {},
    }
    setup = cfg.missing_lines()
    text = networkx_bench.render(
        cfg, info=info, shell_env={}, runs=runs, notes=[], found={}, setup_problems=setup
    )
    assert "- zygote: `python -m pytest" in text.replace(sys.executable, "python")
    assert "(not installed: `python -m pip install pytest-zygote`)" in text
    assert "- setup: zygote: not installed (`python -m pip install pytest-zygote`)" in text
