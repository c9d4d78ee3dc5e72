"""The package's public face."""

from __future__ import annotations

import testfleet


def test_all_is_sorted_and_importable() -> None:
    """``__all__`` is sorted and every name in it exists."""
    assert testfleet.__all__ == sorted(testfleet.__all__)
    for name in testfleet.__all__:
        assert hasattr(testfleet, name)
