"""The quarantine setting: node ids, a file of them, and what is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testfleet.categories import CategoryConfigError
from testfleet.categories.quarantine import is_quarantined, load_quarantine, parse_quarantine


def test_a_list_of_node_ids(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.testfleet]\nquarantine = ["t.py::a", " t.py::b "]\n'
    )
    assert load_quarantine(tmp_path) == {"t.py::a", "t.py::b"}


def test_a_file_of_node_ids_with_comments(tmp_path: Path) -> None:
    (tmp_path / "q.txt").write_text("# known\nt.py::a  # issue 1\n\n  t.py::b\n")
    (tmp_path / "testfleet.toml").write_text('quarantine = "q.txt"\n')
    assert load_quarantine(tmp_path) == {"t.py::a", "t.py::b"}


def test_nothing_configured_is_no_quarantine(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.testfleet]\n")
    assert load_quarantine(tmp_path) == frozenset()


@pytest.mark.parametrize("value", [42, ["ok", 3], [""], {"a": 1}])
def test_other_values_are_refused_naming_the_key(tmp_path: Path, value: object) -> None:
    with pytest.raises(CategoryConfigError, match=r"tool\.testfleet\.quarantine.*must be a list"):
        parse_quarantine(value, "pyproject.toml", "tool.testfleet.quarantine", tmp_path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CategoryConfigError, match=r"quarantine file .*gone.txt.*cannot be read"):
        parse_quarantine("gone.txt", "pyproject.toml", "tool.testfleet.quarantine", tmp_path)


def test_a_test_without_parameters_quarantines_each_parametrization() -> None:
    names = frozenset({"t.py::a", "t.py::b[2]"})
    assert is_quarantined("t.py::a[1]", names)
    assert is_quarantined("t.py::b[2]", names)
    assert not is_quarantined("t.py::b[3]", names)
    assert not is_quarantined("t.py::ab", names)


node = st.from_regex(r"t\.py::[a-z]{1,5}(\[[0-9]\])?", fullmatch=True)


@given(names=st.frozensets(node, max_size=8), nodeid=node)
def test_a_named_test_is_always_quarantined(names: frozenset[str], nodeid: str) -> None:
    assert is_quarantined(nodeid, names | {nodeid})
    assert not is_quarantined(nodeid, frozenset())
