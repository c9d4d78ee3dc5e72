"""Collection errors and test selection behave under --workers as in a serial run."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

Run = Callable[..., pytest.RunResult]

SUITE = {
    "test_alpha": """
        import pytest

        def test_apple():
            pass

        @pytest.mark.slow
        def test_avocado():
            pass

        @pytest.mark.parametrize("n", range(3))
        def test_apricot(n):
            pass
    """,
    "test_beta": """
        import pytest

        @pytest.mark.slow
        def test_banana():
            pass

        def test_blueberry():
            pass

        class TestBerries:
            def test_apple_berry(self):
                pass

            @pytest.mark.slow
            def test_cherry(self):
                pass
    """,
}

INI = """
    [pytest]
    markers =
        slow: a slow test
"""

_VERBOSE_LINE = re.compile(r"^(\S+::\S+) (PASSED|FAILED|SKIPPED|XFAIL|XPASS|ERROR)\b")


def ran(result: pytest.RunResult) -> list[str]:
    """Node ids of the tests a -v run reported, sorted."""
    return sorted(m[1] for line in result.outlines if (m := _VERBOSE_LINE.match(line)))


def test_collection_error_interrupts(pytester: pytest.Pytester, run: Run) -> None:
    """A module that fails to import stops the run before any test with exit code 2, as serially."""
    pytester.makepyfile(
        test_good="def test_1(): pass\ndef test_2(): pass\ndef test_3(): pass\n",
        test_broken="import no_such_module_anywhere\n\ndef test_never(): pass\n",
    )

    serial = run()
    result = run("--workers", "2")

    result.stdout.fnmatch_lines(
        [
            "ERROR test_broken.py*",
            "*! Interrupted: 1 error during collection !*",
        ]
    )
    result.stdout.no_fnmatch_line("testfleet: *")
    assert result.parseoutcomes() == serial.parseoutcomes() == {"errors": 1}
    assert result.ret == serial.ret == pytest.ExitCode.INTERRUPTED


def test_continue_on_collection_errors(pytester: pytest.Pytester, run: Run) -> None:
    """--continue-on-collection-errors runs the other tests and exits 1, as serially."""
    pytester.makepyfile(
        test_good="def test_1(): pass\ndef test_2(): pass\ndef test_3(): pass\n",
        test_broken="import no_such_module_anywhere\n\ndef test_never(): pass\n",
    )

    serial = run("--continue-on-collection-errors")
    result = run("--continue-on-collection-errors", "--workers", "2")

    assert result.parseoutcomes() == serial.parseoutcomes() == {"passed": 3, "errors": 1}
    assert result.ret == serial.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    "selection",
    [
        ["-k", "apple and not Berries or banana"],
        ["-m", "not slow"],
        ["--deselect", "test_alpha.py::test_apricot[1]", "--deselect", "test_beta.py::TestBerries"],
    ],
    ids=["k", "m", "deselect"],
)
def test_selection_equals_serial(pytester: pytest.Pytester, run: Run, selection: list[str]) -> None:
    """-k, -m and --deselect run the same tests with --workers 2 as serially."""
    pytester.makeini(INI)
    pytester.makepyfile(**SUITE)

    serial = run("-v", *selection)
    result = run("-v", "--workers", "2", *selection)

    assert ran(result) == ran(serial)
    assert len(ran(serial)) >= 2
    assert result.parseoutcomes() == serial.parseoutcomes()
    assert "deselected" in result.parseoutcomes()
    assert result.ret == serial.ret == pytest.ExitCode.OK


def test_last_failed_reruns_only_failures(pytester: pytest.Pytester, run: Run) -> None:
    """After a --workers run with failures, --lf reruns exactly the failed tests."""
    pytester.makepyfile(
        test_lf="""
            import pytest

            @pytest.mark.parametrize("n", range(10))
            def test_n(n):
                assert n not in (3, 7)
        """
    )

    first = run("--workers", "2", cache=True)
    first.assert_outcomes(passed=8, failed=2)

    result = run("-v", "--lf", "--workers", "2", cache=True)

    result.assert_outcomes(failed=2)
    assert ran(result) == ["test_lf.py::test_n[3]", "test_lf.py::test_n[7]"]
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures"])
