"""Unit and property tests of category configuration: defaults, loading, validation."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import testfleet.categories
from testfleet.categories import (
    DEFAULT_CATEGORIES,
    OTHER,
    Category,
    CategoryConfigError,
    load_categories,
    other_category,
    parse_categories,
)

DB = """
[tool.testfleet.categories.db]
patterns = ["tests/db/*"]
markers = ["db"]
priority = 5
parallel = false
"""

ALLOWED = "allowed keys: markers, parallel, patterns, priority"


def names(categories: list[Category]) -> list[str]:
    return [c.name for c in categories]


def test_public_names_are_sorted_and_importable() -> None:
    """``__all__`` is sorted as ruff sorts it (constants, classes, functions) and importable."""

    def kind(name: str) -> int:
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    public = testfleet.categories.__all__
    assert public == sorted(public, key=lambda name: (kind(name), name))
    for name in public:
        assert hasattr(testfleet.categories, name)


def test_defaults_are_the_guides() -> None:
    """The defaults are unit, integration and functional by file name, then other; functional
    tests run one at a time, as the guide has it."""
    assert (
        Category("unit", patterns=("test_*_unit.py",), priority=1),
        Category("integration", patterns=("test_*_integration.py",), priority=2),
        Category("functional", patterns=("test_*_functional.py",), priority=3, parallel=False),
        Category("other", priority=4),
    ) == DEFAULT_CATEGORIES
    assert DEFAULT_CATEGORIES[-1] is OTHER
    assert [c.name for c in DEFAULT_CATEGORIES if not c.parallel] == ["functional"]


def test_without_configuration_the_defaults_apply(tmp_path: Path) -> None:
    """A rootdir without testfleet.toml or pyproject.toml gets the defaults in priority order."""
    assert load_categories(tmp_path) == list(DEFAULT_CATEGORIES)


def test_pyproject_without_categories_gives_the_defaults(tmp_path: Path) -> None:
    """A pyproject.toml with a [tool.testfleet] table but no categories keeps the defaults."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.testfleet]\nx = 1\n')
    assert load_categories(tmp_path) == list(DEFAULT_CATEGORIES)


def test_load_from_pyproject(tmp_path: Path) -> None:
    """[tool.testfleet.categories.NAME] tables of pyproject.toml replace the defaults."""
    (tmp_path / "pyproject.toml").write_text(DB)
    assert load_categories(tmp_path) == [
        Category("db", patterns=("tests/db/*",), markers=("db",), priority=5, parallel=False),
        Category("other", priority=6),
    ]


def test_load_from_testfleet_toml(tmp_path: Path) -> None:
    """testfleet.toml holds the same tables at the top level, as [categories.NAME]."""
    (tmp_path / "testfleet.toml").write_text(
        '[categories.slow]\nmarkers = ["slow"]\npriority = 9\n'
    )
    assert load_categories(tmp_path) == [
        Category("slow", markers=("slow",), priority=9),
        Category("other", priority=10),
    ]


def test_testfleet_toml_wins_over_pyproject(tmp_path: Path) -> None:
    """When both files define categories, testfleet.toml's are used and pyproject's ignored."""
    (tmp_path / "pyproject.toml").write_text(DB)
    (tmp_path / "testfleet.toml").write_text('[categories.slow]\nmarkers = ["slow"]\n')
    assert names(load_categories(tmp_path)) == ["slow", "other"]


def test_pyproject_applies_when_testfleet_toml_has_no_categories(tmp_path: Path) -> None:
    """A testfleet.toml without a categories table leaves pyproject.toml's categories in force."""
    (tmp_path / "pyproject.toml").write_text(DB)
    (tmp_path / "testfleet.toml").write_text("[history]\npath = 'x.db'\n")
    assert names(load_categories(tmp_path)) == ["db", "other"]


def test_categories_are_sorted_by_priority_then_name() -> None:
    """The result is in priority order, names breaking ties, other after its equals."""
    table = {
        "b": {"markers": ["b"], "priority": 2},
        "a": {"markers": ["a"], "priority": 2},
        "z": {"markers": ["z"], "priority": 1},
        "other": {"priority": 2},
    }
    assert names(parse_categories(table, "pyproject.toml")) == ["z", "a", "b", "other"]


def test_other_comes_after_the_largest_priority() -> None:
    """Without a priority of its own, other is one more than the largest configured priority."""
    table = {"db": {"markers": ["db"], "priority": 7}, "api": {"markers": ["api"], "priority": 3}}
    assert parse_categories(table, "pyproject.toml")[-1] == Category("other", priority=8)
    assert parse_categories({"db": {"markers": ["db"]}}, "x")[-1] == Category("other", priority=1)


def test_other_alone_tunes_the_fallback_of_the_defaults() -> None:
    """Configuring only other keeps the default categories and sets other's priority/parallel."""
    result = parse_categories({"other": {"parallel": False, "priority": 0}}, "pyproject.toml")
    assert result[0] == Category("other", priority=0, parallel=False)
    assert names(result) == ["other", "unit", "integration", "functional"]
    assert parse_categories({}, "pyproject.toml") == list(DEFAULT_CATEGORIES)


def test_other_category_of_a_list_without_one() -> None:
    """A list without other gets an other one priority after its last category."""
    assert other_category([Category("a", priority=3), Category("b", priority=1)]).priority == 4
    assert other_category(DEFAULT_CATEGORIES) is OTHER
    assert other_category([]) == OTHER


@pytest.mark.parametrize(
    ("table", "key", "allowed"),
    [
        (
            {"db": {"patterns": ["x"], "paralel": True}},
            "tool.testfleet.categories.db.paralel",
            ALLOWED,
        ),
        ({"db": 3}, "tool.testfleet.categories.db", ALLOWED),
        ({"db": {}}, "tool.testfleet.categories.db", ALLOWED),
        ({"db": {"patterns": []}}, "tool.testfleet.categories.db", ALLOWED),
        ({"a.b": {"markers": ["x"]}}, 'tool.testfleet.categories."a.b"', "allowed: letters"),
        ({"": {"markers": ["x"]}}, 'tool.testfleet.categories.""', "allowed: letters"),
        (
            {"Other": {"markers": ["x"]}},
            "tool.testfleet.categories.Other",
            "allowed: 'other' itself",
        ),
        (
            {"db": {"markers": ["a"]}, "DB": {"markers": ["b"]}},
            "tool.testfleet.categories.DB",
            "unique ignoring case",
        ),
        (
            {"db": {"patterns": "test_*.py"}},
            "tool.testfleet.categories.db.patterns",
            "array of glob strings",
        ),
        (
            {"db": {"patterns": ["a", 1]}},
            "tool.testfleet.categories.db.patterns",
            "array of glob strings",
        ),
        (
            {"db": {"markers": "db"}},
            "tool.testfleet.categories.db.markers",
            "array of marker names",
        ),
        (
            {"db": {"markers": ["slow-io"]}},
            "tool.testfleet.categories.db.markers",
            "allowed: a Python identifier",
        ),
        (
            {"db": {"markers": ["db"], "priority": True}},
            "tool.testfleet.categories.db.priority",
            "must be an integer",
        ),
        (
            {"db": {"markers": ["db"], "priority": 1.5}},
            "tool.testfleet.categories.db.priority",
            "must be an integer",
        ),
        (
            {"db": {"markers": ["db"], "parallel": "no"}},
            "tool.testfleet.categories.db.parallel",
            "must be true or false",
        ),
        (
            {"other": {"patterns": ["x"]}},
            "tool.testfleet.categories.other.patterns",
            "allowed keys: parallel, priority",
        ),
        (
            {"other": {"markers": ["x"]}},
            "tool.testfleet.categories.other.markers",
            "allowed keys: parallel, priority",
        ),
        (
            {"other": {"paralel": False}},
            "tool.testfleet.categories.other.paralel",
            "allowed keys: parallel, priority",
        ),
        (
            {"other": {"priority": "last"}},
            "tool.testfleet.categories.other.priority",
            "must be an integer",
        ),
        ({"other": []}, "tool.testfleet.categories.other", "allowed keys: parallel, priority"),
    ],
)
def test_config_errors_name_the_key_and_what_is_allowed(
    table: dict[str, object], key: str, allowed: str
) -> None:
    """Each invalid table raises an error naming the file, the dotted key and what is allowed."""
    with pytest.raises(CategoryConfigError) as info:
        parse_categories(table, "pyproject.toml")
    message = str(info.value)
    assert message.startswith(f"pyproject.toml: {key}: ")
    assert allowed in message
    assert "\n" not in message
    assert (info.value.source, info.value.key) == ("pyproject.toml", key)


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "/abs/test_*.py",
        "C:/tests/*",
        "../test_*.py",
        "tests/../x/*",
        "./tests/*",
        "tests//test_*.py",
        "tests/db/",
        "tests\\db\\*",
        "test_[ab.py",
        "test_[!].py",
        "test_[]].py[",
    ],
)
def test_bad_patterns_are_rejected(pattern: str) -> None:
    """Empty, absolute, '..'-laden, backslashed or unclosed-'[' globs are usage errors."""
    with pytest.raises(
        CategoryConfigError, match="allowed: a glob relative to the rootdir"
    ) as info:
        parse_categories({"db": {"patterns": [pattern]}}, "pyproject.toml")
    assert info.value.key == "tool.testfleet.categories.db.patterns"
    assert repr(pattern) in str(info.value)


@pytest.mark.parametrize(
    "pattern",
    ["test_*.py", "tests/*/test_*.py", "test_[0-9].py", "test_[!x]*.py", "test_[]]x.py", "*"],
)
def test_good_patterns_are_kept(pattern: str) -> None:
    """Plain globs, path globs and closed character sets (even '[]]') are accepted."""
    result = parse_categories({"db": {"patterns": [pattern]}}, "pyproject.toml")
    assert result[0].patterns == (pattern,)


def test_errors_from_testfleet_toml_use_its_keys(tmp_path: Path) -> None:
    """An error in testfleet.toml names that file and the key as written there."""
    (tmp_path / "testfleet.toml").write_text('[categories.db]\npatterns = ["x"]\nparalel = 1\n')
    with pytest.raises(CategoryConfigError) as info:
        load_categories(tmp_path)
    assert info.value.source == str(tmp_path / "testfleet.toml")
    assert info.value.key == "categories.db.paralel"
    assert ALLOWED in str(info.value)


def test_errors_from_pyproject_use_its_keys(tmp_path: Path) -> None:
    """An error in pyproject.toml names that file and the full tool.testfleet key."""
    (tmp_path / "pyproject.toml").write_text('[tool.testfleet.categories.db]\npatterns = ["/x"]\n')
    with pytest.raises(CategoryConfigError, match="absolute path") as info:
        load_categories(tmp_path)
    assert info.value.source == str(tmp_path / "pyproject.toml")
    assert info.value.key == "tool.testfleet.categories.db.patterns"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[tool.testfleet]\ncategories = 3\n", "tool.testfleet.categories"),
        ("[tool]\ntestfleet = 'yes'\n", "tool.testfleet"),
        ("tool = []\n", "tool"),
    ],
)
def test_a_categories_table_that_is_not_a_table(tmp_path: Path, text: str, key: str) -> None:
    """A value where pyproject.toml needs a table is an error naming that key."""
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(CategoryConfigError, match="must be a table") as info:
        load_categories(tmp_path)
    assert info.value.key == key


def test_testfleet_toml_categories_must_be_a_table(tmp_path: Path) -> None:
    """``categories = [...]`` in testfleet.toml is an error naming the categories key."""
    (tmp_path / "testfleet.toml").write_text("categories = ['unit']\n")
    with pytest.raises(CategoryConfigError, match="must be a table, not an array") as info:
        load_categories(tmp_path)
    assert info.value.key == "categories"


@pytest.mark.parametrize("filename", ["pyproject.toml", "testfleet.toml"])
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[tool.testfleet.categories.db]\npatterns = [x]\n", "line 2"),
        ("# ok\n[categories.db\nmarkers = []\n", "line 2"),
        ('[categories.db]\npatterns = ["x"\n\n', "line 4"),  # unclosed: at end of document
        ("[categories]\ndb = {markers = []", "line 2"),  # "inline" is not a line number
    ],
)
def test_toml_syntax_errors_name_the_file_and_line(
    tmp_path: Path, filename: str, text: str, line: str
) -> None:
    """A file that is not valid TOML is a one-line error with its name and the error's line."""
    (tmp_path / filename).write_text(text)
    with pytest.raises(CategoryConfigError) as info:
        load_categories(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / filename}: invalid TOML: ")
    assert re.search(rf"\b{line}\b", message)
    assert "\n" not in message
    assert info.value.key is None


def test_testfleet_toml_syntax_error_is_reported_even_with_pyproject_categories(
    tmp_path: Path,
) -> None:
    """A broken testfleet.toml is an error, not silently skipped for pyproject.toml."""
    (tmp_path / "pyproject.toml").write_text(DB)
    (tmp_path / "testfleet.toml").write_text("[history\n")
    with pytest.raises(CategoryConfigError, match=r"testfleet\.toml: invalid TOML"):
        load_categories(tmp_path)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported as such, with the file's name."""
    (tmp_path / "pyproject.toml").write_bytes(b"# \xff\n")
    with pytest.raises(CategoryConfigError, match=r"pyproject\.toml: not UTF-8"):
        load_categories(tmp_path)


def test_config_error_survives_pickling() -> None:
    """The error keeps its message and parts through pickle, as a worker may send it."""
    error = CategoryConfigError("pyproject.toml", "tool.testfleet.categories.x", "bad")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.source, copy.key, copy.problem) == (
        str(error),
        error.source,
        error.key,
        error.problem,
    )


category_names = st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True).filter(
    lambda n: n != "other"
)
category_tables = st.fixed_dictionaries(
    {"markers": st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), min_size=1)},
    optional={
        "patterns": st.lists(st.sampled_from(["test_*.py", "tests/db/*", "*_x.py"])),
        "priority": st.integers(-5, 20),
        "parallel": st.booleans(),
    },
)


@given(
    st.dictionaries(category_names, category_tables, max_size=6),
    st.one_of(st.none(), st.integers(-5, 30)),
)
def test_parsed_categories_are_ordered_with_one_other(
    table: dict[str, dict[str, object]], other_priority: int | None
) -> None:
    """Any valid table gives its categories in sort order, exactly one other, other last
    unless it was given a priority of its own."""
    config: dict[str, object] = dict(table)
    if other_priority is not None:
        config["other"] = {"priority": other_priority}
    result = parse_categories(config, "pyproject.toml")
    assert result == sorted(result, key=Category.sort_key)
    assert names(result).count("other") == 1
    if table:
        assert set(names(result)) == {*table, "other"}
    if other_priority is None:
        assert result[-1].name == "other"
        assert result[-1].priority == max(c.priority for c in result[:-1]) + 1
