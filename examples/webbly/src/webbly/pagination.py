"""Splitting long lists into numbered pages."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pagination:
    """Where one page of results sits in the whole list."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """Number of pages; an empty list still has one (empty) page."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        """Index of the first item on this page."""
        return (self.page - 1) * self.per_page

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages

    def window(self, size: int = 5) -> list[int]:
        """Page numbers to show as links around the current page."""
        size = max(1, min(size, self.pages))
        start = max(1, min(self.page - size // 2, self.pages - size + 1))
        return list(range(start, start + size))


def paginate(total: int, page: int | str | None, per_page: int) -> Pagination:
    """Build a :class:`Pagination`, clamping bad or out-of-range page numbers."""
    if per_page < 1:
        raise ValueError("per_page must be positive")
    total = max(0, total)
    try:
        number = int(page) if page is not None else 1
    except ValueError:
        number = 1
    last = max(1, math.ceil(total / per_page))
    return Pagination(page=min(max(1, number), last), per_page=per_page, total=total)
