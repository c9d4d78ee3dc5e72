"""Small text formatting shared by testfleet's reports (pure)."""

from __future__ import annotations

import math


def format_seconds(seconds: float) -> str:
    """``12.3s`` under a minute, ``1m 05s`` under an hour, ``2h 03m 04s`` above."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected a finite, non-negative number of seconds, got {seconds!r}")
    if round(seconds, 1) < 60:
        return f"{seconds:.1f}s"
    total = math.floor(seconds + 0.5)
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s"
