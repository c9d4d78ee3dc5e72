"""Split a suite into duration-balanced shards for CI matrices, with no server.

Every machine of a CI matrix computes the same split from the same inputs: the
collected node ids and the estimates from the history the user passes, read as
the first shard of the CI run found it (the split's snapshot, named by
:func:`split_id`).  The split depends on nothing else, not even collection
order (node ids are sorted first), so each test lands in exactly one shard.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

#: CI variables that name the shard count and this machine's index, with the
#: index base: GitHub-style matrices count from 0 here, GitLab and CircleCI as named.
CI_VARIABLES = (
    ("TEST_TOTAL_SHARDS", "TEST_SHARD_INDEX", 0),
    ("CI_NODE_TOTAL", "CI_NODE_INDEX", 1),
    ("CIRCLE_NODE_TOTAL", "CIRCLE_NODE_INDEX", 0),
)


#: Variables that name one run of a CI pipeline, the same in all its jobs and in
#: a retry of one of them, in the order they are looked for: the shards that
#: share one split.  A value is named by the variables it comes from.
SPLIT_VARIABLES = (
    ("TESTFLEET_SPLIT_ID",),
    ("GITHUB_REPOSITORY", "GITHUB_RUN_ID"),  # a retry keeps the id (GITHUB_RUN_ATTEMPT)
    ("CI_PROJECT_ID", "CI_PIPELINE_ID"),  # GitLab
    ("BUILDKITE_BUILD_ID",),
    ("CIRCLE_WORKFLOW_ID",),
    ("SYSTEM_COLLECTIONID", "BUILD_BUILDID"),  # Azure Pipelines
    ("BUILD_TAG",),  # Jenkins: jenkins-JOB-NUMBER
)


def split_id(environ: Mapping[str, str], commit: str | None) -> str:
    """What names the split the shards of one CI run share.

    The first of ``SPLIT_VARIABLES`` whose last variable is set (the others
    qualify it when they are set too); outside CI, the commit checked out:
    shards run on one commit share a split, a new commit starts a new one.
    Without either, every shard run on the store shares one split.
    """
    for names in SPLIT_VARIABLES:
        if environ.get(names[-1]):
            return " ".join(f"{name}={environ[name]}" for name in names if environ.get(name))
    if commit:
        return f"commit {commit}"
    return "unnamed (no CI run id, no git commit)"


class ShardSpecError(ValueError):
    """A ``--shard`` value or CI variables that do not name a shard."""


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(value: str, environ: Mapping[str, str]) -> ShardSpec:
    """``K/N`` (1 <= K <= N), or ``auto`` to read the CI's own variables."""
    if value == "auto":
        return _from_ci(environ)
    match = _SPEC.match(value)
    if not match:
        raise ShardSpecError(f"expected K/N (shard K of N, 1 <= K <= N) or 'auto', got {value!r}")
    return _checked(int(match[1]), int(match[2]), value)


def _from_ci(environ: Mapping[str, str]) -> ShardSpec:
    for total_name, index_name, base in CI_VARIABLES:
        if total_name in environ and index_name in environ:
            try:
                total, index = int(environ[total_name]), int(environ[index_name])
            except ValueError:
                raise ShardSpecError(
                    f"{total_name}={environ[total_name]!r} and {index_name}="
                    f"{environ[index_name]!r} must be whole numbers"
                ) from None
            return _checked(index - base + 1, total, f"{index_name}={environ[index_name]}")
    names = ", ".join(f"{t}/{i}" for t, i, _ in CI_VARIABLES)
    raise ShardSpecError(f"--shard auto found none of the CI variables {names}; use --shard K/N")


def _checked(index: int, total: int, given: str) -> ShardSpec:
    if total < 1 or not 1 <= index <= total:
        raise ShardSpecError(f"shard {index}/{total} (from {given}) is not one of 1..{total}")
    return ShardSpec(index, total)


@dataclass(frozen=True)
class ShardItem:
    """A test as sharding sees it."""

    nodeid: str
    group: str
    estimate: float


def split(items: Sequence[ShardItem], total: int) -> list[list[str]]:
    """The node ids of each of ``total`` shards, balanced by estimate.

    Each shard is a separate machine that sets up its own fixtures anyway, so
    balance comes first: groups are cut into consecutive pieces of at most a
    twentieth of a shard's share, which bounds the longest shard by the ideal
    plus 5 % when no single test is longer than that (Graham's bound for
    longest-first list scheduling), and the pieces are dealt out
    longest first, each to the lightest shard.  A shard runs its tests in
    collection order, so the pieces of one module it holds still run together.
    """
    ordered = sorted(items, key=lambda i: i.nodeid)
    cap = sum(i.estimate for i in ordered) / max(1, total) / 20
    pieces: list[tuple[float, int, list[str]]] = []
    by_group: dict[str, list[ShardItem]] = {}
    for item in ordered:
        by_group.setdefault(item.group, []).append(item)
    for members in by_group.values():
        current: list[ShardItem] = []
        for member in members:
            if current and sum(m.estimate for m in current) + member.estimate > cap:
                pieces.append(_piece(current, len(pieces)))
                current = []
            current.append(member)
        pieces.append(_piece(current, len(pieces)))
    pieces.sort(key=lambda p: (-p[0], p[1]))
    loads: list[tuple[float, int]] = [(0.0, shard) for shard in range(total)]
    shards: list[list[str]] = [[] for _ in range(total)]
    for estimate, _, nodeids in pieces:
        load, shard = heapq.heappop(loads)
        shards[shard].extend(nodeids)
        heapq.heappush(loads, (load + estimate, shard))
    return [sorted(shard) for shard in shards]


def _piece(members: list[ShardItem], number: int) -> tuple[float, int, list[str]]:
    return (sum(m.estimate for m in members), number, [m.nodeid for m in members])
