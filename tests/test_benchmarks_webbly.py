"""Tests of the pure parts of ``benchmarks/webbly.py``: each tool's command (with the block
that keeps pytest-zygote and testfleet apart), the table with its peak PSS column, the
Problems section, and a tool that is not installed. No benchmark is run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from benchmark_modules import ROOT, load

# webbly.py imports benchlib by its plain name, as a script beside it does.
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
webbly = load("webbly")
benchlib = webbly.benchlib  # the very module webbly.py uses

MIB = 1024  # KiB
PYTHON = sys.executable


@pytest.fixture(params=[True, False], ids=["zygote-installed", "zygote-absent"])
def zygote_installed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways of the machine: pytest-zygote installed beside testfleet, or not."""
    real = benchlib.installed
    installed: bool = request.param
    monkeypatch.setattr(
        benchlib, "installed", lambda dist: installed if dist == "pytest-zygote" else real(dist)
    )
    return installed


# ---------------------------------------------------------------- commands


def test_every_tool_has_its_command(zygote_installed: bool) -> None:
    block = ["-p", "no:zygote"] if zygote_installed else []
    pytest_prefix = [PYTHON, "-m", "pytest", "examples/webbly", "-p", "no:cacheprovider", "-q"]
    testfleet_prefix = [PYTHON, "-m", "testfleet.cli", "run", "examples/webbly", "--"]
    expected = {
        "serial": [*pytest_prefix, *block],
        "testfleet": [*testfleet_prefix, *block, "-p", "no:cacheprovider", "-q"],
        "testfleet-no-history": [
            *testfleet_prefix,
            *block,
            "-p",
            "no:cacheprovider",
            "-q",
            "--no-history",
        ],
        "xdist": [*pytest_prefix, *block, "-n", "2"],
        "parallex": [*pytest_prefix, *block, "--parallel=fork", "--parallel-workers=2"],
        # zygote's --workers is testfleet's option too: its run blocks testfleet's plugin
        "zygote": [*pytest_prefix, "-p", "no:testfleet", "--workers", "2"],
    }
    assert set(expected) == set(webbly.WEBBLY_TOOLS)
    for tool, cmd in expected.items():
        assert webbly.command(tool) == cmd, tool
    with pytest.raises(ValueError, match="unknown tool"):
        webbly.command("worksteal")


def test_the_peers_commands_are_the_suite_plus_benchlibs_arguments() -> None:
    for tool in ("serial", "xdist", "parallex", "zygote"):
        assert webbly.command(tool) == [*webbly.PYTEST, *benchlib.tool_args(tool, 2)]


def test_testfleet_run_gets_the_zygote_block_after_the_double_dash() -> None:
    """With both plugins installed, pytest dies at start-up on the --workers clash; what
    follows ``--`` is pytest's, so the block goes there, not before it."""
    for tool in ("testfleet", "testfleet-no-history"):
        cmd = webbly.command(tool)
        after = cmd[cmd.index("--") + 1 :]
        if benchlib.installed("pytest-zygote"):
            assert after[:2] == ["-p", "no:zygote"]
        else:
            assert "no:zygote" not in cmd


# ---------------------------------------------------------------- options


def test_tools_default_to_all_and_serial_comes_first(tmp_path: Path) -> None:
    cfg = webbly.parse_args(["--workdir", str(tmp_path)])
    assert cfg.tools == list(webbly.WEBBLY_TOOLS)
    cfg = webbly.parse_args(["--tools", "zygote,xdist,zygote", "--repeat", "1"])
    assert cfg.tools == ["serial", "zygote", "xdist"]
    assert cfg.repeat == 1
    assert cfg.runnable == [tool for tool in cfg.tools if tool not in cfg.missing]


def test_an_unknown_tool_is_refused_before_any_run() -> None:
    with pytest.raises(SystemExit, match="bad tools"):
        webbly.parse_args(["--tools", "serial,nose"])
    with pytest.raises(SystemExit, match="bad tools"):
        webbly.parse_args(["--tools", "worksteal"])  # benchlib's, not this benchmark's


# ---------------------------------------------------------------- the report


def _run(
    tool: str,
    counts: dict[str, int] | None,
    *,
    rep: int = 1,
    wall: float = 30.0,
    pss_mib: int = 100,
    returncode: int = 0,
    last_error: str = "997 passed in 30.00s",
) -> Any:
    record = benchlib.RunRecord(
        rep=rep,
        suite="webbly",
        tool=tool,
        position=0,
        command="python -m pytest examples/webbly",
        log=f"benchmarks/work/runs/webbly-x/r{rep}-{tool}.log",
        wall=wall,
        cpu=wall * 1.2,
        user=wall,
        sys=wall * 0.2,
        maxrss_kib=90 * MIB,
        peak_pss_kib=pss_mib * MIB,
        returncode=returncode,
        timed_out=False,
        strays=0,
        counts=counts,
    )
    return webbly.WebblyRun(record=record, last_error=last_error)


def _config(tools: list[str], missing: dict[str, str] | None = None) -> Any:
    return webbly.Config(
        tools=tools, repeat=2, out=Path("x.md"), workdir=Path("work"), missing=missing or {}
    )


def _row(text: str, tool: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {tool} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_table_shows_the_median_peak_pss_of_every_run() -> None:
    runs = [
        _run("serial", {"passed": 997}, rep=1, wall=48.0, pss_mib=120),
        _run("serial", {"passed": 997}, rep=2, wall=50.0, pss_mib=130),
        _run("xdist", {"passed": 997}, rep=1, wall=32.0, pss_mib=300),
        _run("xdist", {"passed": 997}, rep=2, wall=34.0, pss_mib=310),
        _run("zygote", {"passed": 997}, rep=1, wall=24.0, pss_mib=200),
        _run("zygote", {"passed": 997}, rep=2, wall=26.0, pss_mib=220),
    ]
    webbly.flag_runs(runs)
    text = webbly.render(_config(["serial", "xdist", "zygote"]), runs)
    header = _row(text, "tool")
    assert "peak PSS (MiB)" in header
    zygote = dict(zip(header, _row(text, "zygote"), strict=True))
    assert zygote["peak PSS (MiB)"] == "210"
    assert zygote["wall (s)"] == "25.0 (24.0\N{EN DASH}26.0)"
    assert zygote["vs serial"] == "0.51"
    assert zygote["vs xdist"] == "0.76"
    assert zygote["same counts as serial"] == "yes"
    assert zygote["exit codes"] == "0, 0"
    assert "no:testfleet" in zygote["command"]
    assert dict(zip(header, _row(text, "serial"), strict=True))["peak PSS (MiB)"] == "125"
    assert "Serial counts (rep 1): 997 passed." in text
    assert text.endswith(
        "### Problems\n\n- none: every run exited 0 with serial's outcome counts\n"
    )


def test_a_run_with_other_counts_keeps_its_figures_and_is_a_problem() -> None:
    error = "E   fixture 'worker_database' not found"
    runs = [
        _run("serial", {"passed": 997}, rep=1),
        _run("serial", {"passed": 997}, rep=2),
        _run("parallex", {"passed": 997}, rep=1, wall=20.0, pss_mib=150),
        _run(
            "parallex",
            {"passed": 941, "errors": 56, "warnings": 2},
            rep=2,
            wall=22.0,
            pss_mib=170,
            returncode=1,
            last_error=error,
        ),
    ]
    webbly.flag_runs(runs)
    broken = runs[-1].record
    assert broken.differs == "941 passed, 56 errors"
    assert [r.record.problems for r in runs[:3]] == [[], [], []]
    text = webbly.render(_config(["serial", "parallex"]), runs)
    header = _row(text, "tool")
    parallex = dict(zip(header, _row(text, "parallex"), strict=True))
    # both runs' figures stay in the table
    assert parallex["wall (s)"] == "21.0 (20.0\N{EN DASH}22.0)"
    assert parallex["peak PSS (MiB)"] == "160"
    assert parallex["same counts as serial"] == "NO (1 of 2 runs)"
    assert parallex["exit codes"] == "0, 1"
    problems = text.split("### Problems\n\n", 1)[1].splitlines()
    assert problems == [
        "- parallex, rep 2: exit code 1; outcome counts differ from serial's "
        "(941 passed, 56 errors); counts 941 passed, 56 errors vs serial's 997 passed; "
        f"last error line: `{error}` (figures kept; log "
        "`benchmarks/work/runs/webbly-x/r2-parallex.log`)"
    ]


def test_an_exit_code_other_than_0_is_a_problem_even_with_serials_counts() -> None:
    runs = [
        _run("serial", {"passed": 997}),
        _run("xdist", {"passed": 997}, returncode=3, last_error="INTERNALERROR> boom"),
    ]
    webbly.flag_runs(runs)
    (line,) = webbly.problem_lines(runs, [])
    assert line.startswith("- xdist, rep 1: exit code 3; counts 997 passed vs serial's 997")
    assert "`INTERNALERROR> boom`" in line


def test_a_run_without_a_summary_line_is_a_problem() -> None:
    runs = [
        _run("serial", {"passed": 997}),
        _run("zygote", None, returncode=4, last_error="error: unrecognized arguments"),
    ]
    webbly.flag_runs(runs)
    assert runs[1].record.problems == ["exit code 4", "no pytest summary line in the output"]
    (line,) = webbly.problem_lines(runs, [])
    assert "counts no summary line vs serial's 997 passed" in line
    text = webbly.render(_config(["serial", "zygote"]), runs)
    assert _row(text, "zygote")[7] == "NO (1 of 1 runs)"


def test_a_tool_that_is_not_installed_is_reported_not_run() -> None:
    cfg = _config(["serial", "zygote"], missing={"zygote": "pytest-zygote"})
    assert cfg.runnable == ["serial"]
    runs = [_run("serial", {"passed": 997})]
    webbly.flag_runs(runs)
    setup = cfg.missing_lines()
    assert setup == [
        "zygote: not installed (`python -m pip install pytest-zygote`); no figures for it"
    ]
    text = webbly.render(cfg, runs, setup_problems=setup)
    row = _row(text, "zygote")
    assert row[2] == "not installed (`python -m pip install pytest-zygote`)"
    assert row[3:] == ["\N{EN DASH}"] * 6
    assert f"- setup: {setup[0]}" in text.split("### Problems", 1)[1]


def test_the_machine_lines_head_the_section() -> None:
    runs = [_run("serial", {"passed": 997})]
    text = webbly.render(_config(["serial"]), runs, machine=["- Date: today"])
    assert text.startswith("## The Webbly example suite\n\n- Date: today\n\nCommand: `python ")
