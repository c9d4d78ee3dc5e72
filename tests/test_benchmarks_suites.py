"""Tests of the synthetic-suite generator, ``benchmarks/suites.py``, and of how the runners
prepare a timed run (``benchmarks/benchlib.py``).

The benchmark figures are only comparable with BASELINE.md's if the generated suites
match its definitions, so these tests check shape, durations, order and determinism. They
use tiny duration scales so that actually running a generated suite stays cheap.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_modules import load

ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.001


suites = load("suites")
benchlib = load("benchlib")


def _clean_env() -> dict[str, str]:
    """The environment for a nested pytest, without the outer run's PYTEST_* settings."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}


def _declared(suite_dir: Path) -> list[tuple[str, float | None]]:
    """(node id, duration literal) of every test in the files, in collection order.

    Read from the source rather than from suite.json, so the two can be checked against
    each other.
    """
    found: list[tuple[str, float | None]] = []
    for path in sorted(suite_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                duration = None
                statement = node.body[0]
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                    argument = statement.value.args[0]
                    assert isinstance(argument, ast.Constant)
                    assert isinstance(argument.value, float)
                    duration = argument.value
                found.append((f"{path.name}::{node.name}", duration))
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All four suites at a tiny scale, generated once for the module."""
    dirs: dict[str, Path] = suites.generate(tmp_path_factory.mktemp("suites"), scale=SCALE)
    return dirs


@pytest.mark.parametrize(
    ("name", "tests", "files"),
    [("trivial1", 1, 1), ("trivial5k", 5000, 50), ("cpu", 400, 20), ("sleep", 400, 20)],
)
def test_suites_have_the_defined_shape(
    generated: dict[str, Path], name: str, tests: int, files: int
) -> None:
    suite_dir = generated[name]
    declared = _declared(suite_dir)
    assert len(declared) == tests
    assert len(list(suite_dir.glob("test_*.py"))) == files
    assert [node_id for node_id, _ in declared] == suites.node_ids(suites.SPECS[name])
    assert (suite_dir / "conftest.py").read_text() == ""
    assert (suite_dir / "pytest.ini").is_file()
    meta = suites.load_meta(suite_dir)
    assert meta["tests"] == tests


@pytest.mark.parametrize(("name", "total", "tail"), [("cpu", 20.0, 2.0), ("sleep", 24.0, 3.0)])
def test_durations_sum_to_target_and_long_tests_come_last(
    generated: dict[str, Path], name: str, total: float, tail: float
) -> None:
    declared = _declared(generated[name])
    values = [duration for _, duration in declared]
    assert None not in values
    durations = [float(v) for v in values if v is not None]
    assert sum(durations) == pytest.approx(total * SCALE, rel=0.01)
    assert durations[-3:] == [tail * SCALE] * 3
    assert max(durations[:-3]) < tail * SCALE
    assert all(node_id.startswith("test_19.py::") for node_id, _ in declared[-3:])
    meta = suites.load_meta(generated[name])
    assert meta["durations"] == dict(declared)
    assert meta["sum_d"] == pytest.approx(sum(durations))
    assert meta["max_d"] == tail * SCALE


def test_lower_bound_uses_sum_over_workers_or_longest_test(generated: dict[str, Path]) -> None:
    cpu = suites.load_meta(generated["cpu"])
    assert suites.lower_bound(cpu, 2) == pytest.approx(10.0 * SCALE, rel=0.01)
    assert suites.lower_bound(cpu, 100) == 2.0 * SCALE
    assert suites.lower_bound(suites.load_meta(generated["trivial5k"]), 2) is None


def test_pytest_collects_and_passes_a_generated_suite_in_its_own_rootdir(
    generated: dict[str, Path],
) -> None:
    suite_dir = generated["cpu"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v"],
        cwd=suite_dir,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rootdir: {suite_dir}" in result.stdout
    assert "configfile: pytest.ini" in result.stdout
    ran = [line.split()[0] for line in result.stdout.splitlines() if " PASSED" in line]
    assert ran == suites.node_ids(suites.SPECS["cpu"])
    assert "400 passed" in result.stdout


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = suites.generate(tmp_path / "a", scale=SCALE)
    second = suites.generate(tmp_path / "b", scale=SCALE)
    for name, directory in first.items():
        files = sorted(path.name for path in directory.iterdir())
        assert files == sorted(path.name for path in second[name].iterdir())
        for file in files:
            assert (directory / file).read_bytes() == (second[name] / file).read_bytes()


def test_seed_and_scale_change_only_what_they_should() -> None:
    spec = suites.SPECS["sleep"]
    base = suites.durations(spec, scale=1.0)
    assert suites.durations(spec, scale=1.0) == base
    assert suites.durations(spec, scale=0.5) == pytest.approx([d / 2 for d in base], abs=1e-8)
    assert suites.durations(spec, scale=1.0, seed=1) != base
    assert sum(suites.durations(spec, scale=1.0, seed=1)) == pytest.approx(24.0)


def test_regeneration_keeps_identical_files_and_removes_stale_ones(tmp_path: Path) -> None:
    suite_dir = suites.generate(tmp_path, scale=SCALE, names=["cpu"])["cpu"]
    kept = suite_dir / "test_00.py"
    os.utime(kept, ns=(0, 0))
    stale = suite_dir / "test_99.py"
    stale.write_text("def test_stale():\n    pass\n")
    suites.generate(tmp_path, scale=SCALE, names=["cpu"])
    assert kept.stat().st_mtime_ns == 0  # untouched, so cached bytecode stays valid
    assert not stale.exists()


def test_cli_writes_the_requested_suites(tmp_path: Path) -> None:
    script = ROOT / "benchmarks" / "suites.py"
    command = [sys.executable, str(script), str(tmp_path), "--scale", "0.01"]
    result = subprocess.run(
        [*command, "--suites", "trivial1,cpu"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cpu", "trivial1"]
    assert suites.load_meta(tmp_path / "cpu")["sum_d"] == pytest.approx(0.2)
    bad = subprocess.run(
        [*command, "--suites", "nope"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "unknown suite 'nope'" in bad.stderr


def test_generator_rejects_a_non_positive_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale must be positive"):
        suites.generate(tmp_path, scale=0)


def test_tools_run_with_the_bytecode_cache_even_from_a_shell_without_it(tmp_path: Path) -> None:
    """The warm-up leaves the rewritten test modules cached though the shell disabled bytecode."""
    suite_dir = suites.generate(tmp_path, scale=SCALE, names=["trivial1"])["trivial1"]
    shell = {**_clean_env(), "PYTHONDONTWRITEBYTECODE": "1"}
    env = benchlib.tool_environment(shell, {"OPENBLAS_NUM_THREADS": "1"})
    commands = {"serial": benchlib.pytest_command([])}

    problems = benchlib.warm_up(
        commands, cwd=suite_dir, env=env, logs=tmp_path / "logs", label="t", timeout=120
    )

    assert problems == []
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert list((suite_dir / "__pycache__").glob("test_*-pytest-*.pyc"))
    assert "removed" in benchlib.bytecode_note(shell)
    assert "removed" not in benchlib.bytecode_note(env)


def test_a_failed_warm_up_is_reported(tmp_path: Path) -> None:
    """A warm-up run that cannot run the suite is a setup problem naming tool and cause."""
    commands = {"serial": benchlib.pytest_command(["--no-such-option"])}

    problems = benchlib.warm_up(
        commands, cwd=tmp_path, env=_clean_env(), logs=tmp_path, label="t", timeout=120
    )

    assert len(problems) == 1
    assert problems[0].startswith("t: the warm-up run of serial exited 4")


def test_a_reported_command_names_no_machine_path() -> None:
    """Paths inside the repository appear relative to it in a report's command line."""
    argv = [str(ROOT / "benchmarks" / "run.py"), "--out", str(ROOT / "docs" / "x.md"), "-k", "a"]

    assert benchlib.invocation(argv) == "python benchmarks/run.py --out docs/x.md -k a"
