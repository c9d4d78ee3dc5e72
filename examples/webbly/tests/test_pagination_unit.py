"""Pagination arithmetic."""

from __future__ import annotations

import pytest

from webbly.pagination import Pagination, paginate


@pytest.mark.parametrize(
    ("total", "per_page", "pages"),
    [(0, 10, 1), (1, 10, 1), (10, 10, 1), (11, 10, 2), (95, 10, 10), (101, 20, 6)],
)
def test_page_count(total: int, per_page: int, pages: int) -> None:
    assert paginate(total, 1, per_page).pages == pages


@pytest.mark.parametrize(
    ("requested", "actual"),
    [(None, 1), ("3", 3), (3, 3), ("0", 1), (-4, 1), ("99", 5), ("abc", 1), ("", 1)],
)
def test_page_number_is_clamped(requested: int | str | None, actual: int) -> None:
    assert paginate(50, requested, 10).page == actual


def test_offset_and_neighbours() -> None:
    middle = paginate(50, 3, 10)
    assert middle.offset == 20
    assert middle.has_previous
    assert middle.has_next
    first, last = paginate(50, 1, 10), paginate(50, 5, 10)
    assert not first.has_previous
    assert not last.has_next


@pytest.mark.parametrize(
    ("page", "pages", "window"),
    [(1, 10, [1, 2, 3, 4, 5]), (5, 10, [3, 4, 5, 6, 7]), (10, 10, [6, 7, 8, 9, 10]),
     (2, 3, [1, 2, 3]), (1, 1, [1])],
)
def test_window(page: int, pages: int, window: list[int]) -> None:
    assert Pagination(page, 10, pages * 10).window(5) == window


def test_per_page_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_page"):
        paginate(10, 1, 0)
