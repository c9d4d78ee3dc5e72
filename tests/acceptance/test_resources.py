"""Acceptance tests of resources the scheduler honours: marks, capacities, bad config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., pytest.RunResult]

#: Each test appends "<node id> <start> <end>" to timeline.log, around setup,
#: call and teardown of its function fixtures.
CONFTEST = """
import os, time, pytest

LOG = os.path.join(os.path.dirname(__file__), "timeline.log")

@pytest.fixture(autouse=True)
def _timeline(request):
    start = time.monotonic()
    yield
    with open(LOG, "a") as log:
        log.write(f"{request.node.nodeid} {start} {time.monotonic()}\\n")
"""

SLEEP = "import time\n"


def sleepy(count: int, prefix: str = "test", seconds: float = 0.05, indent: str = "") -> str:
    return "".join(
        f"{indent}def {prefix}_{n}(self=None):\n{indent}    time.sleep({seconds})\n"
        for n in range(count)
    )


def spans(path: Path, select: Callable[[str], bool]) -> list[tuple[float, float]]:
    lines = (path / "timeline.log").read_text().splitlines()
    return sorted(
        (float(start), float(end)) for nodeid, start, end in map(str.split, lines) if select(nodeid)
    )


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of ``intervals`` open at one moment (half-open)."""
    return max(
        (sum(1 for s, e in intervals if s <= start < e) for start, _ in intervals), default=0
    )


def test_holders_of_a_capacity_one_resource_never_overlap(
    pytester: pytest.Pytester, run: Run
) -> None:
    """Tests marked with one resource, on a test, a class or a module, run one at a time
    while the other workers run the unmarked tests."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_mail_module=SLEEP
        + "import pytest\npytestmark = pytest.mark.resource('smtp')\n"
        + sleepy(3),
        test_mail_class=SLEEP
        + "import pytest\n@pytest.mark.resource('smtp')\nclass TestMail:\n"
        + sleepy(3, indent="    "),
        test_mail_test=SLEEP
        + "import pytest\n"
        + "".join(
            f"@pytest.mark.resource('smtp')\ndef test_mail_{n}():\n    time.sleep(0.05)\n"
            for n in range(3)
        )
        + sleepy(3, prefix="test_free"),
        test_free=SLEEP + sleepy(9),
    )

    result = run("--workers", "3", "--strict-markers")

    result.assert_outcomes(passed=21)
    held = spans(
        pytester.path,
        lambda nodeid: (
            nodeid.startswith(("test_mail_module", "test_mail_class")) or "::test_mail_" in nodeid
        ),
    )
    assert len(held) == 9
    assert most_at_once(held) == 1, held


def test_a_capacity_of_two_never_has_three_holders(pytester: pytest.Pytester, run: Run) -> None:
    """A resource of capacity 2 in pyproject.toml has at most two tests holding it at once."""
    pytester.makepyprojecttoml(
        """
        [tool.testfleet.resources]
        browser = 2
        """
    )
    pytester.makeconftest(CONFTEST)
    marked = SLEEP + "import pytest\npytestmark = pytest.mark.resource('browser')\n" + sleepy(3)
    pytester.makepyfile(
        test_browser_a=marked,
        test_browser_b=marked,
        test_browser_c=marked,
        test_plain=SLEEP + sleepy(3),
    )

    result = run("--workers", "3")

    result.assert_outcomes(passed=12)
    held = spans(pytester.path, lambda nodeid: nodeid.startswith("test_browser_"))
    assert len(held) == 9
    assert most_at_once(held) <= 2, held


def test_a_test_holding_two_resources_respects_both(pytester: pytest.Pytester, run: Run) -> None:
    """A test marked with two resources never runs beside another holder of either."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_both=SLEEP
        + "import pytest\npytestmark = pytest.mark.resource('smtp', 'ldap')\n"
        + sleepy(2),
        test_smtp=SLEEP + "import pytest\npytestmark = pytest.mark.resource('smtp')\n" + sleepy(2),
        test_ldap=SLEEP + "import pytest\npytestmark = pytest.mark.resource('ldap')\n" + sleepy(2),
    )

    result = run("--workers", "3")

    result.assert_outcomes(passed=6)
    for name in ("smtp", "ldap"):
        held = spans(
            pytester.path, lambda nodeid, n=name: nodeid.startswith(("test_both", f"test_{n}"))
        )
        assert most_at_once(held) == 1, (name, held)


def test_the_marker_is_registered_for_strict_markers(pytester: pytest.Pytester, run: Run) -> None:
    """A plain run with --strict-markers accepts @pytest.mark.resource."""
    pytester.makepyfile(
        "import pytest\n@pytest.mark.resource('smtp')\ndef test_mail():\n    pass\n"
    )
    result = run("--strict-markers")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0", "not 0"),
        ("-1", "not -1"),
        ('"two"', "not 'two'"),
        ("1.5", "not 1.5"),
        ("true", "not True"),
        ("{ max = 2 }", "not a table"),
    ],
)
def test_a_bad_capacity_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, run: Run, value: str, problem: str
) -> None:
    """A capacity that is not a whole number of at least 1 is exit 4, naming key and file."""
    pytester.makepyprojecttoml(f"[tool.testfleet.resources]\nsmtp = {value}\n")
    pytester.makepyfile("def test_x():\n    pass\n")

    result = run("--workers", "2")

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "*pyproject.toml: tool.testfleet.resources.smtp: "
            f"capacity must be a whole number*{problem}*"
        ]
    )
    assert "Traceback" not in result.stderr.str()


def test_testfleet_toml_resources_win(pytester: pytest.Pytester, run: Run) -> None:
    """testfleet.toml's [resources] is read instead of pyproject.toml's, and checked."""
    pytester.makepyprojecttoml("[tool.testfleet.resources]\nsmtp = 2\n")
    (pytester.path / "testfleet.toml").write_text("[resources]\nsmtp = 0\n")
    pytester.makepyfile("def test_x():\n    pass\n")

    result = run("--workers", "2")

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*testfleet.toml: resources.smtp: capacity must be*"])


def test_a_resource_mark_without_a_name_is_a_usage_error(
    pytester: pytest.Pytester, run: Run
) -> None:
    """@pytest.mark.resource() with no name is exit 4 naming the test."""
    pytester.makepyfile(
        "import pytest\n@pytest.mark.resource()\ndef test_x():\n    pass\ndef test_y():\n    pass\n"
    )

    result = run("--workers", "2")

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*test_a_resource_mark_without_a_name*.py::test_x*resource*"])
    assert "Traceback" not in result.stderr.str()
