"""Tests of the lane suite's generator, ``benchmarks/lane_suite.py``: the resource
benchmark is only meaningful if a quarter of the work, and only that, holds the lane."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark_modules import load

lane_suite = load("lane_suite")


@given(
    values=st.lists(st.floats(min_value=0.001, max_value=3.0), min_size=1, max_size=200),
    share=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(0, 1000),
)
def test_lane_indices_stay_within_the_share_and_are_reproducible(
    values: list[float], share: float, seed: int
) -> None:
    chosen = lane_suite.lane_indices(values, share=share, seed=seed)
    assert chosen == sorted(set(chosen))
    assert sum(values[i] for i in chosen) <= share * sum(values) + 1e-9
    # Nothing left out would still have fitted: the pick is as full as it can be (up to
    # the rounding of sums taken in another order).
    total = sum(values[i] for i in chosen)
    left_out = set(range(len(values))) - set(chosen)
    assert all(total + values[i] > share * sum(values) - 1e-9 for i in left_out)
    assert chosen == lane_suite.lane_indices(values, share=share, seed=seed)


def marked_tests(directory: Path) -> tuple[set[str], set[str]]:
    """(tests marked with the lane resource, tests asking for the lane lock fixture)."""
    marked: set[str] = set()
    locked: set[str] = set()
    for path in sorted(directory.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            nodeid = f"{path.name}::{node.name}"
            if any("resource" in ast.unparse(d) for d in node.decorator_list):
                marked.add(nodeid)
            if any(a.arg == "lane" for a in node.args.args):
                locked.add(nodeid)
    return marked, locked


@pytest.mark.parametrize("scale", [0.001, 1.0])
def test_both_variants_hold_a_quarter_of_the_work_on_the_same_tests(
    tmp_path: Path, scale: float
) -> None:
    dirs = lane_suite.generate(tmp_path, scale=scale)
    meta = lane_suite.load_meta(dirs["marked"])
    lane = set(meta["lane_tests"])
    assert lane
    assert meta["lane_sum_d"] == pytest.approx(0.25 * meta["sum_d"], rel=0.01)
    marked, locked = marked_tests(dirs["marked"])
    assert (marked, locked) == ({n.split("/")[-1] for n in lane}, set())
    marked, locked = marked_tests(dirs["locked"])
    assert (marked, locked) == (set(), {n.split("/")[-1] for n in lane})
    assert "lane = 1" in (dirs["marked"] / "pyproject.toml").read_text()
    assert lane_suite.lower_bound(meta, 4) == max(
        meta["sum_d"] / 4, meta["lane_sum_d"], meta["max_d"]
    )
