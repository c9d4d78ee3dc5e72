"""The table and JSON that ``testfleet flaky`` prints (pure)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

from testfleet.monitoring.flaky import FlakyScore

_HEADER = ("test", "score", "certain", "samples", "flips", "evidence")
_RIGHT = (False, True, False, True, True, False)


def format_flaky(found: Sequence[FlakyScore], *, runs: int, outages: Collection[int]) -> str:
    """An aligned table of the flaky tests, in the order given, and a closing line.

    ``runs`` is how many runs were read, ``outages`` the runs left out as
    outages.  No final newline.
    """
    left_out = _left_out(outages)
    if not found:
        return f"No flaky tests in the last {_count(runs, 'run')}{left_out}."
    rows = [
        (
            s.nodeid,
            f"{s.score:.2f}",
            "yes" if s.certain else "no",
            str(s.samples),
            str(s.flips),
            s.evidence,
        )
        for s in found
    ]
    widths = [max(len(row[i]) for row in (_HEADER, *rows)) for i in range(len(_HEADER))]
    lines = [
        "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, _RIGHT, strict=True)
        ).rstrip()
        for row in (_HEADER, *rows)
    ]
    certain = sum(1 for s in found if s.certain)
    lines += [
        "",
        f"{_count(len(found), 'flaky test')} ({certain} for certain) in the last "
        f"{_count(runs, 'run')}{left_out}.",
    ]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _left_out(outages: Collection[int]) -> str:
    if not outages:
        return ""
    shown = ", ".join(f"#{r}" for r in sorted(outages)[:5])
    more = f" and {len(outages) - 5} more" if len(outages) > 5 else ""
    return f"; {_count(len(outages), 'run')} where most tests failed left out ({shown}{more})"


def to_json(found: Sequence[FlakyScore], *, runs: int, outages: Collection[int]) -> str:
    """The flaky tests as JSON for machines, sorted keys.

    ``{"runs": N, "outages": [run ids], "flaky": [{"nodeid", "score",
    "certain", "samples", "flips", "evidence"}, ...]}``, most flaky first;
    ``score`` rounded to 3 places.
    """
    document = {
        "runs": runs,
        "outages": sorted(outages),
        "flaky": [score_json(s) for s in found],
    }
    return json.dumps(document, indent=2, sort_keys=True)


def score_json(score: FlakyScore) -> dict[str, object]:
    """One flaky test as the JSON of ``testfleet flaky`` and of the report show it."""
    return {
        "nodeid": score.nodeid,
        "score": round(score.score, 3),
        "certain": score.certain,
        "samples": score.samples,
        "flips": score.flips,
        "evidence": score.evidence,
    }
