"""Unit and property tests of the discovery listing (categories.summarize) and its
rendering (reporting.discover, reporting.text): counts, estimates, table, JSON."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.categories import (
    DEFAULT_CATEGORIES,
    Category,
    CategorySummary,
    classify_all,
    summarize,
)
from testfleet.reporting.discover import format_table, to_json
from testfleet.reporting.text import format_seconds

UNIT = DEFAULT_CATEGORIES[0]
DB = Category("db", patterns=("tests/db/*",), markers=("db",), priority=5, parallel=False)
OTHER = Category("other", priority=6)
CATEGORIES = [UNIT, DB, OTHER]

ASSIGNED = {
    "tests/test_a_unit.py::test_one": UNIT,
    "tests/test_a_unit.py::test_two": UNIT,
    "tests/db/test_orm.py::test_save": DB,
    "tests/db/test_orm.py::test_load": DB,
    "tests/test_misc.py::test_it": OTHER,
}
ESTIMATES = {
    "tests/test_a_unit.py::test_one": 0.25,
    "tests/test_a_unit.py::test_two": 0.5,
    "tests/db/test_orm.py::test_save": 40.0,
    "tests/db/test_orm.py::test_load": 25.0,
    "tests/test_misc.py::test_it": 1.0,
}


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "0.0s"),
        (0.04, "0.0s"),
        (0.05001, "0.1s"),
        (12.34, "12.3s"),
        (59.94, "59.9s"),
        (59.96, "1m 00s"),
        (60.0, "1m 00s"),
        (65.0, "1m 05s"),
        (65.5, "1m 06s"),
        (754.0, "12m 34s"),
        (3599.4, "59m 59s"),
        (3599.6, "1h 00m 00s"),
        (3725.0, "1h 02m 05s"),
        (90061.0, "25h 01m 01s"),
    ],
)
def test_format_seconds(seconds: float, expected: str) -> None:
    """Seconds show with a tenth under a minute, as minutes and seconds, then with hours."""
    assert format_seconds(seconds) == expected


@pytest.mark.parametrize("seconds", [-0.1, math.nan, math.inf])
def test_format_seconds_rejects_impossible_durations(seconds: float) -> None:
    """A negative or non-finite duration is a caller's bug, not something to print."""
    with pytest.raises(ValueError, match="finite, non-negative"):
        format_seconds(seconds)


def test_summarize_counts_and_sums_per_category() -> None:
    """Each category's row counts its tests and sums their estimates, in priority order."""
    assert summarize(ASSIGNED, ESTIMATES, [OTHER, DB, UNIT]) == [
        CategorySummary("unit", 1, True, 2, 0.75, ("test_*_unit.py",), ()),
        CategorySummary("db", 5, False, 2, 65.0, ("tests/db/*",), ("db",)),
        CategorySummary("other", 6, True, 1, 1.0, (), ()),
    ]


def test_summarize_lists_empty_categories() -> None:
    """Every category gets a row, with zero tests and zero estimate when nothing is in it."""
    rows = summarize({}, {}, DEFAULT_CATEGORIES)
    assert [(r.name, r.tests, r.estimate) for r in rows] == [
        ("unit", 0, 0.0),
        ("integration", 0, 0.0),
        ("functional", 0, 0.0),
        ("other", 0, 0.0),
    ]


def test_summarize_counts_a_missing_estimate_as_zero() -> None:
    """A test without an estimate is counted, adding nothing to the estimate."""
    rows = summarize({"t::a": UNIT, "t::b": UNIT}, {"t::a": 2.0}, [UNIT, OTHER])
    assert (rows[0].tests, rows[0].estimate) == (2, 2.0)


def test_summarize_adds_a_row_for_a_category_not_listed() -> None:
    """A test assigned to a category missing from the list still gets a row, so counts add up."""
    extra = Category("other", priority=2)
    rows = summarize({"t::a": UNIT, "t::b": extra}, {}, [UNIT])
    assert [(r.name, r.priority, r.tests) for r in rows] == [("unit", 1, 1), ("other", 2, 1)]


def test_format_table() -> None:
    """The table aligns its columns, right-aligns numbers and ends with a total line."""
    table = format_table(summarize(ASSIGNED, ESTIMATES, CATEGORIES))
    assert table == "\n".join(
        [
            "category  priority  parallel  tests  estimate  patterns/markers",
            "unit             1  yes           2      0.8s  test_*_unit.py",
            "db               5  no            2    1m 05s  tests/db/*, mark:db",
            "other            6  yes           1      1.0s  (the rest)",
            "total                             5    1m 07s",
        ]
    )


def test_format_table_of_nothing() -> None:
    """Without rows the table is its header and a zero total."""
    assert format_table([]) == "\n".join(
        [
            "category  priority  parallel  tests  estimate  patterns/markers",
            "total                             0      0.0s",
        ]
    )


def test_to_json() -> None:
    """The JSON listing has sorted keys, rows in priority order and a total."""
    text = to_json(summarize(ASSIGNED, ESTIMATES, CATEGORIES))
    document = json.loads(text)
    assert document["total"] == {"tests": 5, "estimate": 66.75}
    assert [row["name"] for row in document["categories"]] == ["unit", "db", "other"]
    assert document["categories"][1] == {
        "name": "db",
        "priority": 5,
        "parallel": False,
        "tests": 2,
        "estimate": 65.0,
        "patterns": ["tests/db/*"],
        "markers": ["db"],
    }
    assert text == json.dumps(document, indent=2, sort_keys=True)


def test_to_json_does_not_depend_on_row_order() -> None:
    """Rows given in any order produce the same JSON, estimates rounded to milliseconds."""
    rows = summarize(ASSIGNED, {**ESTIMATES, "tests/test_misc.py::test_it": 1 / 3}, CATEGORIES)
    assert to_json(rows) == to_json(list(reversed(rows)))
    assert json.loads(to_json(rows))["categories"][2]["estimate"] == 0.333


nodes = st.dictionaries(
    st.from_regex(r"t/test_[a-z]{1,3}(_unit|_integration|_db)?\.py::t[0-9]", fullmatch=True),
    st.tuples(st.floats(0, 1000, allow_nan=False), st.sets(st.sampled_from(["db", "x"]))),
    max_size=30,
)


@given(nodes)
def test_summarize_counts_add_up(tests: dict[str, tuple[float, set[str]]]) -> None:
    """The rows' test counts add up to the number of tests, their estimates to the total."""
    categories = [*DEFAULT_CATEGORIES[:3], DB, OTHER]
    entries = [(nodeid, nodeid.split("::")[0], markers) for nodeid, (_, markers) in tests.items()]
    estimates = {nodeid: estimate for nodeid, (estimate, _) in tests.items()}
    rows = summarize(classify_all(entries, categories), estimates, categories)
    assert [r.name for r in rows] == [c.name for c in categories]
    assert sum(r.tests for r in rows) == len(tests)
    assert math.isclose(sum(r.estimate for r in rows), sum(estimates.values()), abs_tol=1e-6)
    assert format_table(rows).splitlines()[-1].split()[1] == str(len(tests))
    assert json.loads(to_json(rows))["total"]["tests"] == len(tests)
