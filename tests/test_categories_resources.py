"""Unit tests of resource capacities: the config table, and the discovery rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testfleet.categories import (
    CategoryConfigError,
    ResourceSummary,
    load_resources,
    parse_resources,
    summarize_resources,
)
from testfleet.reporting.discover import format_table, to_json


def test_parse_resources_keeps_whole_capacities() -> None:
    """Each resource maps to its capacity, a whole number of at least 1."""
    assert parse_resources({"smtp": 1, "browser": 2}, "pyproject.toml") == {
        "smtp": 1,
        "browser": 2,
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (-2, "-2"), ("two", "'two'"), (1.5, "1.5"), (True, "True"), ({}, "a table")],
)
def test_a_bad_capacity_names_the_key_and_the_file(value: object, shown: str) -> None:
    """Zero, negatives, strings, floats, booleans and tables are refused, naming the key."""
    with pytest.raises(CategoryConfigError) as caught:
        parse_resources({"smtp": value}, "/x/pyproject.toml")
    assert str(caught.value).startswith(
        "/x/pyproject.toml: tool.testfleet.resources.smtp: capacity must be a whole number"
    )
    assert str(caught.value).endswith(f"not {shown}")


def test_load_resources_prefers_testfleet_toml(tmp_path: Path) -> None:
    """testfleet.toml's [resources] wins over pyproject.toml's; without either, none."""
    assert load_resources(tmp_path) == {}
    (tmp_path / "pyproject.toml").write_text("[tool.testfleet.resources]\nsmtp = 2\n")
    assert load_resources(tmp_path) == {"smtp": 2}
    (tmp_path / "testfleet.toml").write_text("[categories.db]\nmarkers = ['db']\n")
    assert load_resources(tmp_path) == {"smtp": 2}
    (tmp_path / "testfleet.toml").write_text("[resources]\nsmtp = 3\n")
    assert load_resources(tmp_path) == {"smtp": 3}


def test_a_resources_value_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    """resources = 3 instead of a table is an error naming the key."""
    (tmp_path / "testfleet.toml").write_text("resources = 3\n")
    with pytest.raises(CategoryConfigError, match="resources: must be a table"):
        load_resources(tmp_path)


def test_summarize_resources_counts_holders_and_configured_ones() -> None:
    """Every resource held or configured gets a row, by name, with its tests and estimate."""
    holds = {"t::a": frozenset({"smtp"}), "t::b": frozenset({"smtp", "ldap"}), "t::c": frozenset()}
    rows = summarize_resources(holds, {"t::a": 2.0, "t::b": 3.0}, {"browser": 2, "smtp": 1})
    assert rows == [
        ResourceSummary("browser", 2, 0, 0.0),
        ResourceSummary("ldap", 1, 1, 3.0),
        ResourceSummary("smtp", 1, 2, 5.0),
    ]


def test_the_discover_table_lists_resources_after_the_categories() -> None:
    """A second table names each resource with capacity, tests, estimate and work per slot."""
    resources = [ResourceSummary("browser", 2, 4, 10.0), ResourceSummary("smtp", 1, 1, 1.5)]
    table = format_table([], resources)
    assert table.split("\n")[2:] == [
        "",
        "resource  capacity  tests  estimate  per slot",
        "browser          2      4     10.0s      5.0s",
        "smtp             1      1      1.5s      1.5s",
    ]
    document = json.loads(to_json([], resources))
    assert document["resources"][0] == {
        "name": "browser",
        "capacity": 2,
        "tests": 4,
        "estimate": 10.0,
    }
