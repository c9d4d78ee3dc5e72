"""A suite run with --workers gives the results a serial run gives."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., pytest.RunResult]

PASSES = "".join(f"def test_{n}():\n    pass\n" for n in range(6))

MIXED_SUITE = {
    "test_kinds": """
        import pytest

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup boom")

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown boom")

        def test_pass(record_property):
            record_property("answer", 42)

        def test_fail():
            assert 1 + 1 == 3

        def test_skip():
            pytest.skip("not today")

        @pytest.mark.skipif(True, reason="marked skip")
        def test_skipif():
            pass

        @pytest.mark.xfail(reason="known bug")
        def test_xfail():
            assert False

        def test_imperative_xfail():
            pytest.xfail("gave up")

        @pytest.mark.xfail(reason="maybe fixed", strict=False)
        def test_xpass():
            pass

        @pytest.mark.xfail(reason="must fail", strict=True)
        def test_xpass_strict():
            pass

        @pytest.mark.xfail(raises=KeyError, reason="wrong error")
        def test_xfail_wrong_exception():
            raise ValueError("not a KeyError")

        def test_setup_error(broken_setup):
            pass

        def test_teardown_error(broken_teardown):
            pass

        def test_fail_and_teardown_error(broken_teardown):
            assert False, "call failed too"

        @pytest.mark.parametrize("n", range(6))
        def test_param(n):
            assert n != 4
    """,
    "test_scopes": """
        import pytest

        @pytest.fixture(scope="session")
        def session_value():
            return 42

        @pytest.fixture(scope="module")
        def module_value(session_value):
            yield session_value + 1

        @pytest.fixture(scope="class")
        def class_value(module_value):
            return module_value + 1

        def test_module_fixture(module_value):
            assert module_value == 43

        class TestClass:
            def test_one(self, class_value):
                assert class_value == 44

            def test_two(self, class_value):
                assert class_value == 45

            @pytest.mark.parametrize("x", ["a", "b"])
            def test_param(self, class_value, x):
                assert x == "a"
    """,
    "test_broken_module_fixture": """
        import pytest

        @pytest.fixture(scope="module")
        def unusable():
            raise RuntimeError("module setup boom")

        @pytest.fixture(scope="module")
        def skipping():
            pytest.skip("module resource missing")

        def test_uses_unusable_1(unusable):
            pass

        def test_uses_unusable_2(unusable):
            pass

        def test_uses_skipping(skipping):
            pass

        def test_independent():
            pass
    """,
    "test_skipped_module": """
        import pytest

        pytest.skip("whole module skipped", allow_module_level=True)

        def test_never():
            pass
    """,
}

#: A line of pytest's "short test summary info" with -rA.
_SUMMARY_LINE = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) ")


def summary_lines(result: pytest.RunResult) -> list[str]:
    """The short test summary lines of a -rA run, sorted (workers finish in any order)."""
    return sorted(line for line in result.outlines if _SUMMARY_LINE.match(line))


def junit_cases(path: Path) -> list[tuple[str, str, str, str]]:
    """(classname, name, outcome, message) of every test case in a junit XML file, sorted.

    A property recorded by a test counts as an outcome of its own, "property".
    """
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        verdicts = [c for c in case if c.tag in ("failure", "error", "skipped")]
        if not verdicts:
            cases.append((classname, name, "passed", ""))
        cases.extend((classname, name, c.tag, c.get("message", "")) for c in verdicts)
        cases.extend(
            (classname, name, "property", f"{prop.get('name')}={prop.get('value')}")
            for prop in case.iter("property")
        )
    return sorted(cases)


def junit_totals(path: Path) -> dict[str, str | None]:
    """The counts a junit XML test suite element carries."""
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return {key: suite.get(key) for key in ("tests", "errors", "failures", "skipped")}


def test_mixed_suite_outcomes_equal_serial(pytester: pytest.Pytester, run: Run) -> None:
    """Every kind of outcome is reported for the same node ids, counted and exited as serially."""
    pytester.makepyfile(**MIXED_SUITE)

    serial = run("-rA")
    fleet = run("-rA", "--workers", "2")

    fleet.stdout.fnmatch_lines(["testfleet: 2 workers"])
    assert summary_lines(fleet) == summary_lines(serial)
    assert fleet.parseoutcomes() == serial.parseoutcomes()
    assert serial.parseoutcomes() == {
        "failed": 7,
        "passed": 11,
        "skipped": 4,
        "xfailed": 2,
        "xpassed": 1,
        "errors": 5,
    }
    assert serial.ret == fleet.ret == pytest.ExitCode.TESTS_FAILED


MODULE_TEARDOWN_ERROR = """
import pytest

@pytest.fixture(scope="module")
def leaky():
    yield
    raise RuntimeError("module teardown boom")

def test_first(leaky):
    pass

def test_second(leaky):
    pass
"""


def test_a_module_fixture_teardown_error_is_reported_by_each_worker_that_ran_it(
    pytester: pytest.Pytester, run: Run
) -> None:
    """A module fixture's teardown error is reported on the module's last test on each
    worker that set the fixture up: once serially, once or twice with 2 workers, since a
    module is split across workers at the tail of a run (docs/engine.md, Limits)."""
    pytester.makepyfile(test_module_teardown_error=MODULE_TEARDOWN_ERROR, test_other=PASSES)

    serial = run("-rE")
    fleet = run("-rE", "--workers", "2")

    assert serial.parseoutcomes()["errors"] == 1
    serial.stdout.fnmatch_lines(
        ["ERROR test_module_teardown_error.py::test_second - RuntimeError: module teard*"]
    )
    fleet_errors = fleet.parseoutcomes()["errors"]
    assert fleet_errors in (1, 2)
    fleet.stdout.fnmatch_lines(
        ["ERROR test_module_teardown_error.py::test_* - RuntimeError: module teard*"]
    )
    assert fleet.parseoutcomes()["passed"] == serial.parseoutcomes()["passed"]
    assert serial.ret == fleet.ret == pytest.ExitCode.TESTS_FAILED


def test_passing_suite_exits_zero(pytester: pytest.Pytester, run: Run) -> None:
    """A suite with no failures exits with code 0 under --workers, as serially."""
    pytester.makepyfile(
        test_a="def test_a1(): pass\ndef test_a2(): pass\ndef test_a3(): pass\n",
        test_b="import pytest\n@pytest.mark.xfail\ndef test_b1(): assert 0\ndef test_b2(): pass\n",
    )
    result = run("--workers", "2")
    result.assert_outcomes(passed=4, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_junitxml_equals_serial(pytester: pytest.Pytester, run: Run) -> None:
    """The junit XML of a --workers run has the serial run's test cases, outcomes and messages."""
    pytester.makepyfile(**MIXED_SUITE)

    run("--junitxml=serial.xml")
    run("--junitxml=fleet.xml", "--workers", "2")

    serial, fleet = pytester.path / "serial.xml", pytester.path / "fleet.xml"
    assert junit_cases(fleet) == junit_cases(serial)
    assert junit_totals(fleet) == junit_totals(serial)
    assert len(junit_cases(serial)) == 30
    assert ("test_kinds", "test_pass", "property", "answer=42") in junit_cases(fleet)


@pytest.mark.parametrize(
    "modules",
    [
        {"test_a": 4},
        {"test_a": 2, "test_b": 2},
        {"test_a": 3, "test_b": 2},
        {"test_a": 1, "test_b": 1, "test_c": 1},
    ],
    ids=["4", "2+2", "3+2", "1+1+1"],
)
def test_small_suites_run_to_the_end(
    pytester: pytest.Pytester, run: Run, modules: dict[str, int]
) -> None:
    """Suites barely larger than the fleet run every test and end (no worker waits forever)."""
    pytester.makepyfile(
        **{
            name: "".join(f"def test_{n}(): pass\n" for n in range(count))
            for name, count in modules.items()
        }
    )
    result = run("--workers", "2", timeout=10)
    result.assert_outcomes(passed=sum(modules.values()))
    assert result.ret == pytest.ExitCode.OK


def test_record_property_with_any_value(pytester: pytest.Pytester, run: Run) -> None:
    """A property of any type recorded by a test reaches the junit XML as in a serial run."""
    pytester.makepyfile(
        test_props="""
            import pytest

            class Version:
                def __str__(self):
                    return "v1.2"

            def test_records(record_property):
                record_property("version", Version())

            @pytest.mark.parametrize("n", range(4))
            def test_other(n):
                pass
        """
    )

    serial = run("--junitxml=serial.xml")
    fleet = run("--junitxml=fleet.xml", "--workers", "2")

    assert fleet.parseoutcomes() == serial.parseoutcomes()
    assert fleet.ret == serial.ret == pytest.ExitCode.OK
    cases = junit_cases(pytester.path / "fleet.xml")
    assert cases == junit_cases(pytester.path / "serial.xml")
    assert ("test_props", "test_records", "property", "version=v1.2") in cases
