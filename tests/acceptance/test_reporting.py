"""What a --workers run shows in the terminal: the serial run's reports, from the controller."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

SUITE = {
    "test_one": """
        import pytest

        def test_pass():
            pass

        def test_fail():
            assert 0

        def test_skip():
            pytest.skip("skipped here")

        @pytest.mark.xfail(reason="expected")
        def test_xfail():
            assert 0

        @pytest.mark.xfail(reason="unexpectedly fine")
        def test_xpass():
            pass
    """,
    "test_two": """
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("setup broke")

        @pytest.fixture
        def leaky():
            yield
            raise RuntimeError("teardown broke")

        def test_error(broken):
            pass

        def test_teardown_error(leaky):
            pass

        @pytest.mark.parametrize("n", range(5))
        def test_param(n):
            pass
    """,
}

#: A verbose result line: node id, then the outcome word.
_VERBOSE_LINE = re.compile(r"^(\S+::\S+) (PASSED|FAILED|SKIPPED|XFAIL|XPASS|ERROR)\b")


def verbose_lines(result: pytest.RunResult) -> list[tuple[str, str]]:
    """(node id, outcome) of every verbose result line, sorted."""
    return sorted(
        (match[1], match[2]) for line in result.outlines if (match := _VERBOSE_LINE.match(line))
    )


def test_print_with_s_reaches_the_terminal(pytester: pytest.Pytester, run: Run) -> None:
    """With -s, what a test prints in a worker appears in the pytest process's output."""
    pytester.makepyfile(
        test_out="""
            import pytest

            @pytest.mark.parametrize("n", range(4))
            def test_print(n, worker_id):
                print(f"printed-by-test-{n}-on-{worker_id}")
        """
    )

    result = run("-s", "--workers", "2")

    result.assert_outcomes(passed=4)
    for n in range(4):
        result.stdout.fnmatch_lines([f"*printed-by-test-{n}-on-gw*"])


def test_captured_output_shown_for_failures(pytester: pytest.Pytester, run: Run) -> None:
    """Without -s, a failing test's captured output is shown in its failure report, as serially."""
    pytester.makepyfile(
        test_out="""
            import sys

            def test_noisy_failure():
                print("captured-stdout-line")
                sys.stderr.write("captured-stderr-line\\n")
                assert False

            def test_noisy_pass():
                print("should-not-be-shown")

            def test_quiet_1():
                pass

            def test_quiet_2():
                pass

            def test_quiet_3():
                pass
        """
    )

    result = run("--workers", "2")

    result.assert_outcomes(failed=1, passed=4)
    result.stdout.fnmatch_lines(
        [
            "*- Captured stdout call -*",
            "captured-stdout-line",
            "*- Captured stderr call -*",
            "captured-stderr-line",
        ]
    )
    result.stdout.no_fnmatch_line("*should-not-be-shown*")


def test_verbose_lines_equal_serial(pytester: pytest.Pytester, run: Run) -> None:
    """-v shows one outcome line per node id, the same ones as a serial run."""
    pytester.makepyfile(**SUITE)

    serial = run("-v")
    fleet = run("-v", "--workers", "2")

    assert verbose_lines(fleet) == verbose_lines(serial)
    assert ("test_one.py::test_pass", "PASSED") in verbose_lines(fleet)
    assert ("test_one.py::test_fail", "FAILED") in verbose_lines(fleet)
    assert ("test_two.py::test_param[4]", "PASSED") in verbose_lines(fleet)
    assert fleet.parseoutcomes() == serial.parseoutcomes()


def test_report_all_lists_every_outcome(pytester: pytest.Pytester, run: Run) -> None:
    """-rA lists every test in the short summary, as serially."""
    pytester.makepyfile(**SUITE)

    result = run("-rA", "--workers", "2")

    result.stdout.fnmatch_lines(["*= short test summary info =*"])
    for line in [
        "PASSED test_one.py::test_pass",
        "PASSED test_two.py::test_param[[]3[]]",
        "SKIPPED [[]1[]] test_one.py:*: skipped here",
        "XFAIL test_one.py::test_xfail*expected",
        "XPASS test_one.py::test_xpass*unexpectedly fine",
        "ERROR test_two.py::test_error - RuntimeError: setup broke",
        "ERROR test_two.py::test_teardown_error - RuntimeError: teardown broke",
        "FAILED test_one.py::test_fail - assert 0",
    ]:
        result.stdout.fnmatch_lines([line])


def test_durations_lists_the_slowest(pytester: pytest.Pytester, run: Run) -> None:
    """--durations=3 shows the slowest-durations section with the slow tests' calls."""
    pytester.makepyfile(
        test_slow="""
            import time

            def test_slow_a():
                time.sleep(0.3)

            def test_slow_b():
                time.sleep(0.2)

            def test_fast_1():
                pass

            def test_fast_2():
                pass

            def test_fast_3():
                pass
        """
    )

    result = run("--durations=3", "--workers", "2")

    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*= slowest 3 durations =*"])
    section = result.stdout.str().split("slowest 3 durations")[1]
    assert re.search(r"\n\d+\.\d+s call +test_slow\.py::test_slow_a\n", section)
    assert re.search(r"\n\d+\.\d+s call +test_slow\.py::test_slow_b\n", section)


def test_worker_warnings_in_summary(pytester: pytest.Pytester, run: Run) -> None:
    """Warnings raised in workers appear in the warnings summary with their text and node id."""
    pytester.makepyfile(
        test_warn="""
            import warnings

            import pytest

            class CustomWarning(UserWarning):
                pass

            def test_user_warning():
                warnings.warn("first-warning-text")

            def test_custom_warning():
                warnings.warn(CustomWarning("custom-warning-text"))

            def test_deprecation():
                warnings.warn("deprecated-thing", DeprecationWarning)

            @pytest.mark.parametrize("n", range(3))
            def test_quiet(n):
                pass
        """
    )

    serial = run()
    result = run("--workers", "2")

    result.assert_outcomes(passed=6, warnings=3)
    assert result.parseoutcomes() == serial.parseoutcomes()
    result.stdout.fnmatch_lines(["*= warnings summary =*"])
    for nodeid, text in [
        ("test_warn.py::test_user_warning", "UserWarning: first-warning-text"),
        ("test_warn.py::test_custom_warning", "CustomWarning: custom-warning-text"),
        ("test_warn.py::test_deprecation", "DeprecationWarning: deprecated-thing"),
    ]:
        result.stdout.fnmatch_lines([nodeid, f"*{text}"])


def test_reporting_hooks_run_once_in_the_controller(pytester: pytest.Pytester, run: Run) -> None:
    """Conftest reporting hooks see every report once, in the pytest process, as serially."""
    pytester.makeconftest(
        """
        import os
        from pathlib import Path

        LOG = Path(__file__).parent / "hooks.log"

        def pytest_runtest_logreport(report):
            with LOG.open("a") as f:
                f.write(f"{os.getpid()} {report.nodeid} {report.when} {report.outcome}\\n")

        def pytest_configure(config):
            (Path(__file__).parent / "controller.pid").write_text(str(os.getpid()))
        """
    )
    pytester.makepyfile(
        test_one="def test_a(): pass\ndef test_b(): assert 0\ndef test_c(): pass\n",
        test_two="def test_d(): pass\ndef test_e(): pass\n",
    )

    result = run("--workers", "2")

    result.assert_outcomes(passed=4, failed=1)
    controller = (pytester.path / "controller.pid").read_text()
    calls = [line.split() for line in (pytester.path / "hooks.log").read_text().splitlines()]
    assert {pid for pid, *_ in calls} == {controller}
    assert sorted((nodeid, when) for _, nodeid, when, _ in calls) == sorted(
        (f"{module}::{name}", when)
        for module, names in [("test_one.py", "abc"), ("test_two.py", "de")]
        for name in (f"test_{letter}" for letter in names)
        for when in ("setup", "call", "teardown")
    )
    assert ["test_one.py::test_b", "call", "failed"] in [row[1:] for row in calls]


def test_tmp_path_per_worker(pytester: pytest.Pytester, run: Run) -> None:
    """In workers, tmp_path and tmp_path_factory give each test its own dir under --basetemp."""
    pytester.makepyfile(
        test_tmp="""
            from pathlib import Path

            import pytest

            @pytest.mark.parametrize("n", range(6))
            def test_tmp(n, tmp_path, tmp_path_factory):
                (tmp_path / "mine").write_text(str(n))
                data = tmp_path_factory.mktemp("data")
                (data / "mine").write_text(str(n))
                (Path(__file__).parent / f"paths-{n}").write_text(f"{tmp_path}\\n{data}\\n")
        """
    )
    basetemp = pytester.path / "base"

    result = run(f"--basetemp={basetemp}", "--workers", "2")

    result.assert_outcomes(passed=6)
    dirs = [
        line for path in pytester.path.glob("paths-*") for line in path.read_text().splitlines()
    ]
    assert len(dirs) == 12
    assert len(set(dirs)) == 12
    assert all(path.startswith(str(basetemp)) for path in dirs)


#: Writes down what the controller's pytest_runtest_logstart and logfinish are given.
LOCATIONS_CONFTEST = """
    import json
    import os
    from pathlib import Path

    def record(hook, nodeid, location):
        if "PYTEST_XDIST_WORKER" not in os.environ:
            with open(Path(__file__).parent / "locations.jsonl", "a") as out:
                out.write(json.dumps([hook, nodeid, list(location)]) + "\\n")

    def pytest_runtest_logstart(nodeid, location):
        record("start", nodeid, location)

    def pytest_runtest_logfinish(nodeid, location):
        record("finish", nodeid, location)
"""


def test_start_and_finish_hooks_get_the_locations_of_a_serial_run(
    pytester: pytest.Pytester, run: Run
) -> None:
    """Each test's location travels with its start from the worker: plugins in the
    controller are given what a serial run gives them, for every test."""
    pytester.makeconftest(LOCATIONS_CONFTEST)
    pytester.makepyfile(**SUITE)
    log = pytester.path / "locations.jsonl"

    run()
    serial = sorted(log.read_text().splitlines())
    log.unlink()
    run("--workers", "2")
    fleet = sorted(log.read_text().splitlines())

    assert fleet == serial
    assert len(serial) == 2 * 12  # a start and a finish for each of the 12 tests
    starts = {nodeid: location for hook, nodeid, location in map(json.loads, fleet)}
    path, lineno, domain = starts["test_two.py::test_param[4]"]
    assert (path, domain) == ("test_two.py", "test_param[4]")
    assert isinstance(lineno, int)
