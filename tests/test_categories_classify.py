"""Unit and property tests of classification: markers, patterns, the fallback."""

from __future__ import annotations

from fnmatch import fnmatchcase

from hypothesis import given
from hypothesis import strategies as st

from testfleet.categories import (
    DEFAULT_CATEGORIES,
    OTHER,
    Category,
    classify,
    classify_all,
    other_category,
)

UNIT, INTEGRATION, FUNCTIONAL = DEFAULT_CATEGORIES[:3]
DB = Category("db", patterns=("tests/db/*",), markers=("db",), priority=5, parallel=False)
SLOW = Category("slow", markers=("slow",), priority=7)
SERIAL_OTHER = Category("other", priority=8, parallel=False)
CONFIGURED = [UNIT, DB, SLOW, SERIAL_OTHER]


def test_default_patterns_match_by_basename() -> None:
    """The defaults put test_*_unit.py, _integration and _functional files in their category."""
    assert classify("tests/test_models_unit.py", (), DEFAULT_CATEGORIES) == UNIT
    assert classify("test_api_integration.py", (), DEFAULT_CATEGORIES) == INTEGRATION
    assert classify("a/b/c/test_ui_functional.py", (), DEFAULT_CATEGORIES) == FUNCTIONAL


def test_marker_wins_over_pattern() -> None:
    """A unit-named file whose test carries the db marker belongs to db."""
    assert classify("tests/test_models_unit.py", {"db"}, CONFIGURED) == DB


def test_first_marker_category_in_priority_order_wins() -> None:
    """A test carrying the markers of two categories goes to the one with lower priority."""
    assert classify("x.py", ["slow", "db"], CONFIGURED) == DB
    assert classify("x.py", ["slow", "db"], [SLOW, DB, SERIAL_OTHER]) == DB


def test_markers_of_no_category_are_ignored() -> None:
    """Markers no category names (parametrize, skip...) leave classification to the patterns."""
    assert classify("test_a_unit.py", {"parametrize", "skip"}, CONFIGURED) == UNIT


def test_path_pattern_matches_the_whole_relative_path() -> None:
    """A pattern with '/' matches the rootdir-relative path, '*' crossing directories."""
    assert classify("tests/db/test_orm.py", (), CONFIGURED) == DB
    assert classify("tests/db/deep/test_orm.py", (), CONFIGURED) == DB
    assert classify("other/tests/db/test_orm.py", (), CONFIGURED) == SERIAL_OTHER
    assert classify("test_orm.py", (), [Category("db", patterns=("db/test_*.py",))]) == Category(
        "other", priority=1
    )


def test_basename_pattern_matches_in_any_directory() -> None:
    """A pattern without '/' matches the file's name wherever it is."""
    assert classify("a/b/test_x_unit.py", (), CONFIGURED) == UNIT
    assert classify("test_x_unit.py", (), CONFIGURED) == UNIT


def test_first_pattern_category_in_priority_order_wins() -> None:
    """A file matching the patterns of two categories goes to the one with lower priority."""
    late = Category("late", patterns=("test_*.py",), priority=9)
    early = Category("early", patterns=("test_a*.py",), priority=2)
    assert classify("test_abc.py", (), [late, early]) == early
    assert classify("test_xyz.py", (), [late, early]) == late


def test_matching_is_case_sensitive() -> None:
    """Patterns match case-sensitively on every platform."""
    assert classify("tests/Test_X_Unit.py", (), DEFAULT_CATEGORIES) == OTHER


def test_unclaimed_tests_go_to_the_lists_other() -> None:
    """A test nothing claims goes to the list's own other, with its parallel flag."""
    assert classify("tests/test_misc.py", (), CONFIGURED) is SERIAL_OTHER
    assert classify("tests/test_misc.py", (), DEFAULT_CATEGORIES) is OTHER


def test_without_other_in_the_list_the_fallback_is_after_the_last() -> None:
    """A hand-built list without other falls back to other one priority after its last."""
    assert classify("test_misc.py", (), [UNIT, DB]) == Category("other", priority=6)


def test_classify_all_maps_node_ids() -> None:
    """classify_all returns each node id's category, as classify would."""
    entries = [
        ("tests/test_a_unit.py::test_one", "tests/test_a_unit.py", ()),
        ("tests/test_a_unit.py::test_db", "tests/test_a_unit.py", ("db",)),
        ("tests/test_b.py::test_two[1]", "tests/test_b.py", ("parametrize",)),
    ]
    assert classify_all(entries, CONFIGURED) == {
        "tests/test_a_unit.py::test_one": UNIT,
        "tests/test_a_unit.py::test_db": DB,
        "tests/test_b.py::test_two[1]": SERIAL_OTHER,
    }
    assert classify_all([], CONFIGURED) == {}


segments = st.text(alphabet="abtx_.*[]!?-", min_size=1, max_size=6)
paths = st.lists(segments, min_size=1, max_size=4).map("/".join)
patterns = st.one_of(
    segments,
    paths,
    st.sampled_from(["test_*.py", "*", "a/*", "*/b", "test_[ab]*", "[!x]*"]),
)
marker_names = st.sampled_from(["a", "b", "db", "slow", "x"])


@st.composite
def category_lists(draw: st.DrawFn) -> list[Category]:
    chosen = draw(st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=6))
    categories = [
        Category(
            name,
            patterns=tuple(draw(st.lists(patterns, max_size=3))),
            markers=tuple(draw(st.lists(marker_names, max_size=2))),
            priority=draw(st.integers(0, 4)),
            parallel=draw(st.booleans()),
        )
        for name in chosen
    ]
    if draw(st.booleans()):
        categories.append(Category("other", priority=draw(st.integers(0, 9))))
    return draw(st.permutations(categories))


@given(category_lists(), paths, st.sets(marker_names, max_size=3))
def test_classification_is_total_and_deterministic(
    categories: list[Category], path: str, markers: set[str]
) -> None:
    """Every test gets exactly one category, from the list or its other, whatever the
    list's order, and the same every time."""
    result = classify(path, markers, categories)
    assert result in categories or result == other_category(categories)
    assert classify(path, markers, categories) == result
    assert classify(path, markers, list(reversed(categories))) == result
    assert classify_all([("n", path, markers)], categories) == {"n": result}


@given(category_lists(), paths, st.sets(marker_names, max_size=3))
def test_classification_agrees_with_the_rules(
    categories: list[Category], path: str, markers: set[str]
) -> None:
    """The result is the first category by marker, else by pattern, in priority order, else
    other: checked against a plain reading of the rules."""
    ordered = sorted(categories, key=Category.sort_key)
    basename = path.rsplit("/", maxsplit=1)[-1]

    def by_pattern(category: Category) -> bool:
        return any(fnmatchcase(path if "/" in p else basename, p) for p in category.patterns)

    by_marker = [c for c in ordered if markers & set(c.markers)]
    by_patterns = [c for c in ordered if by_pattern(c)]
    expected = (by_marker or by_patterns or [other_category(categories)])[0]
    assert classify(path, markers, categories) == expected
