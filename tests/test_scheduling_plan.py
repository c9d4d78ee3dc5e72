"""Unit and property tests of the planner, the simulator and static shards."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testfleet.scheduling.plan import (
    PlanItem,
    Unit,
    lower_bound,
    plan,
    resource_chains,
    split_evenly,
)
from testfleet.scheduling.resources import Resources
from testfleet.scheduling.shards import (
    ShardItem,
    ShardSpec,
    ShardSpecError,
    parse_shard,
    split,
)
from testfleet.scheduling.simulate import makespan, simulate

estimates = st.floats(min_value=0.001, max_value=10.0, allow_nan=False)


@st.composite
def plan_items(draw: st.DrawFn, max_size: int = 40) -> list[PlanItem]:
    n = draw(st.integers(min_value=0, max_value=max_size))
    held = [frozenset(), frozenset(), frozenset(), frozenset({"category:serial"})]
    return [
        PlanItem(
            index=i,
            group=f"m{draw(st.integers(0, 5))}",
            estimate=draw(estimates),
            priority=draw(st.integers(1, 3)),
            failed_last=draw(st.booleans()),
            new=draw(st.booleans()),
            holds=draw(st.sampled_from(held)),
        )
        for i in range(n)
    ]


@settings(max_examples=300, deadline=None)
@given(items=plan_items(), workers=st.integers(1, 8))
def test_every_test_is_planned_exactly_once(items: list[PlanItem], workers: int) -> None:
    """Each collected test appears in exactly one unit."""
    units = plan(items, workers)
    planned = [i for unit in units for i in unit.items]
    assert sorted(planned) == [item.index for item in items]


@settings(max_examples=300, deadline=None)
@given(items=plan_items(), workers=st.integers(1, 8))
def test_units_come_in_priority_then_longest_first_order(
    items: list[PlanItem], workers: int
) -> None:
    """Lower priority numbers come first; within a priority tier, longer units first."""
    units = plan(items, workers)
    keys = [u.sort_key() for u in units]
    assert keys == sorted(keys)


@settings(max_examples=300, deadline=None)
@given(items=plan_items(), workers=st.integers(1, 8))
def test_a_non_parallel_category_never_overlaps_itself_in_a_simulated_run(
    items: list[PlanItem], workers: int
) -> None:
    """Tests holding a non-parallel category's resource run one at a time, each once."""
    units = plan(items, workers)
    placements = simulate(units, workers, resources=resources(items))
    assert sorted(p.item for p in placements) == [i.index for i in items]
    serial = sorted(
        (p.start, p.end) for p in placements if items[p.item].holds == {"category:serial"}
    )
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(serial))


def resources(items: list[PlanItem], capacities: dict[str, int] | None = None) -> Resources:
    return Resources({i.index: i.holds for i in items if i.holds}, capacities or {})


HOLDS = [frozenset(), frozenset(), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]


@st.composite
def resource_items(draw: st.DrawFn) -> list[PlanItem]:
    n = draw(st.integers(min_value=0, max_value=40))
    return [
        PlanItem(
            index=i,
            group=f"m{draw(st.integers(0, 5))}",
            estimate=draw(estimates),
            priority=draw(st.integers(1, 2)),
            holds=draw(st.sampled_from(HOLDS)),
        )
        for i in range(n)
    ]


@settings(max_examples=300, deadline=None)
@given(
    items=resource_items(),
    workers=st.integers(1, 5),
    capacity_a=st.integers(1, 3),
    capacity_b=st.integers(1, 3),
)
def test_no_resource_ever_has_more_holders_than_its_capacity(
    items: list[PlanItem], workers: int, capacity_a: int, capacity_b: int
) -> None:
    """In a simulated run every test runs exactly once, and at no moment do more tests
    holding a resource run than its capacity."""
    capacities = {"a": capacity_a, "b": capacity_b}
    units = plan(items, workers, capacities=capacities)
    placements = simulate(units, workers, resources=resources(items, capacities))
    assert sorted(p.item for p in placements) == [i.index for i in items]
    for name, capacity in capacities.items():
        spans = [(p.start, p.end) for p in placements if name in items[p.item].holds]
        for start, _ in spans:
            # Half-open intervals: a test that ends as another starts does not overlap it.
            running = sum(1 for s, e in spans if s <= start < e)
            assert running <= capacity, (name, spans)


@settings(max_examples=200, deadline=None)
@given(items=resource_items(), workers=st.integers(1, 5))
def test_no_simulated_worker_idles_while_a_test_could_start(
    items: list[PlanItem], workers: int
) -> None:
    """Whenever a simulated worker is idle, every test not started yet needs a resource
    that is full at that moment."""
    placements = simulate(plan(items, workers), workers, resources=resources(items))
    busy: dict[int, list[tuple[float, float]]] = {}
    for p in placements:
        busy.setdefault(p.worker, []).append((p.start, p.end))
    moments = sorted({p.start for p in placements} | {p.end for p in placements})
    for moment in moments:
        running = [p for p in placements if p.start <= moment < p.end]
        idle = workers - len(running)
        waiting = [p for p in placements if p.start > moment]
        if not idle or not waiting:
            continue
        in_use = {
            name: sum(1 for p in running if name in items[p.item].holds) for name in ("a", "b")
        }
        for p in waiting:
            assert any(in_use[name] >= 1 for name in items[p.item].holds), (moment, p)


def test_a_busy_resource_starts_first_within_its_priority() -> None:
    """A resource whose work is a large share of a worker's fair share leads its tier."""
    items = [PlanItem(index=i, group=f"m{i}", estimate=4.0) for i in range(4)]
    items += [
        PlanItem(index=4 + i, group="smtp", estimate=1.0, holds=frozenset({"smtp"}))
        for i in range(4)
    ]
    units = plan(items, workers=2)
    assert units[0].holds == {"smtp"}
    assert units[0].urgency == 4.0


def test_a_light_resource_keeps_longest_first_order() -> None:
    """A resource with little work is placed by its length like any other unit."""
    items = [PlanItem(index=i, group=f"m{i}", estimate=4.0) for i in range(8)]
    items.append(PlanItem(index=8, group="mail", estimate=0.5, holds=frozenset({"smtp"})))
    units = plan(items, workers=2)
    assert units[-1].holds == {"smtp"}


def test_resource_bound_simulation_reaches_the_chain_bound() -> None:
    """A quarter of the work on a capacity-1 resource, four workers: the run lasts about
    as long as the resource's work, since that work starts first."""
    items = [PlanItem(index=i, group=f"m{i}", estimate=1.0) for i in range(30)]
    items += [
        PlanItem(index=30 + i, group=f"r{i}", estimate=1.0, holds=frozenset({"smtp"}))
        for i in range(10)
    ]
    units = plan(items, workers=4)
    predicted = makespan(simulate(units, 4, resources=resources(items)))
    chains = list(resource_chains(items).values())
    bound = lower_bound([i.estimate for i in items], 4, chains)
    assert bound == 10.0
    assert predicted == pytest.approx(bound)


def brute_force_optimum(durations: list[float], workers: int) -> float:
    best = float("inf")
    for assignment in itertools.product(range(workers), repeat=len(durations)):
        loads = [0.0] * workers
        for duration, worker in zip(durations, assignment, strict=True):
            loads[worker] += duration
        best = min(best, max(loads))
    return best


@settings(max_examples=150, deadline=None)
@given(
    durations=st.lists(st.floats(0.1, 10.0, allow_nan=False), min_size=1, max_size=7),
    workers=st.integers(2, 3),
)
def test_lpt_is_within_four_thirds_of_optimal(durations: list[float], workers: int) -> None:
    """With one test per group (nothing to split), the planned run is within 4/3 of optimal."""
    items = [PlanItem(index=i, group=f"g{i}", estimate=d) for i, d in enumerate(durations)]
    predicted = makespan(simulate(plan(items, workers), workers))
    assert predicted <= (4 / 3) * brute_force_optimum(durations, workers) + 1e-9


def test_a_group_longer_than_a_fair_share_is_split_and_pays_its_setup_again() -> None:
    """A 10 s module on 2 workers of a 12 s run is cut in two, each piece with its setup cost."""
    items = [PlanItem(index=i, group="big", estimate=1.0) for i in range(10)]
    items += [PlanItem(index=10 + i, group="small", estimate=1.0) for i in range(2)]
    units = plan(items, workers=2, group_cost={"big": 0.5})
    big = [u for u in units if set(u.items) <= set(range(10))]
    assert len(big) == 2
    assert sum(len(u.items) for u in big) == 10
    assert all(u.estimate == pytest.approx(0.5 + len(u.items)) for u in big)


def best_largest_piece(estimates: list[float], pieces: int) -> float:
    """The smallest largest piece of any cut of ``estimates`` into <= ``pieces`` runs."""
    best = sum(estimates)
    for cuts in range(1, min(pieces, len(estimates))):
        for points in itertools.combinations(range(1, len(estimates)), cuts):
            bounds = [0, *points, len(estimates)]
            largest = max(sum(estimates[a:b]) for a, b in itertools.pairwise(bounds))
            best = min(best, largest)
    return best


@settings(max_examples=300, deadline=None)
@given(durations=st.lists(estimates, min_size=1, max_size=8), pieces=st.integers(1, 5))
def test_a_group_is_split_into_consecutive_pieces_with_the_smallest_largest_piece(
    durations: list[float], pieces: int
) -> None:
    """The pieces keep collection order, cover the group once, and the largest is
    as small as any cut into that many consecutive pieces allows."""
    members = [PlanItem(index=i, group="g", estimate=d) for i, d in enumerate(durations)]
    cut = split_evenly(members, pieces)
    assert [m for piece in cut for m in piece] == members
    assert all(cut)
    assert len(cut) <= pieces
    largest = max(sum(m.estimate for m in piece) for piece in cut)
    assert largest == pytest.approx(best_largest_piece(durations, pieces), rel=1e-6)


def test_a_tail_of_long_tests_is_not_packed_with_the_short_tests_before_it() -> None:
    """Like the sleep benchmark's last module: short tests, then three of 3 s. On 8
    workers of a 24 s run each long test is a piece of its own, and the plan meets
    the bound (cutting where half a test overflowed made a 3.85 s piece)."""
    tail = [*[0.05] * 17, 3.0, 3.0, 3.0]
    items = [PlanItem(index=i, group="last", estimate=d) for i, d in enumerate(tail)]
    for size in (3.0, 3.0, 3.0, 3.0, 2.15):
        items += [
            PlanItem(index=len(items) + i, group=f"m{len(items)}", estimate=size / 5)
            for i in range(5)
        ]
    estimates = [i.estimate for i in items]
    assert sum(estimates) == pytest.approx(24.0)
    units = plan(items, workers=8)
    assert [u.items for u in units if u.estimate == 3.0 and len(u.items) == 1] == [
        (17,),
        (18,),
        (19,),
    ]
    assert makespan(simulate(units, 8)) == pytest.approx(lower_bound(estimates, 8))


def test_a_group_is_cut_once_more_when_its_pieces_still_do_not_fit() -> None:
    """Short tests then three of 2 s, on 8 workers of a 20 s run (2.5 s each): three
    consecutive pieces cannot all fit (0.68 s + 2 s is one), four can."""
    tail = [*[0.04] * 17, 2.0, 2.0, 2.0]
    items = [PlanItem(index=i, group="last", estimate=d) for i, d in enumerate(tail)]
    items += [
        PlanItem(index=20 + i, group=f"m{i}", estimate=(20 - sum(tail)) / 8) for i in range(8)
    ]
    units = plan(items, workers=8)
    assert [u.items for u in units if u.items[0] < 20] == [(17,), (18,), (19,), tuple(range(17))]


def test_a_group_within_its_fair_share_stays_whole() -> None:
    """Splitting only pays when a group alone exceeds a worker's share."""
    items = [PlanItem(index=i, group=f"m{i % 4}", estimate=1.0) for i in range(40)]
    assert sorted(len(u.items) for u in plan(items, workers=2)) == [10, 10, 10, 10]


def test_failed_and_new_tests_go_first_within_a_priority() -> None:
    """Within a category priority, failed-last-time units lead, then new ones, then LPT."""
    items = [
        PlanItem(index=0, group="a", estimate=5.0),
        PlanItem(index=1, group="b", estimate=1.0, new=True),
        PlanItem(index=2, group="c", estimate=0.5, failed_last=True),
        PlanItem(index=3, group="d", estimate=9.0, priority=2),
    ]
    assert [u.items for u in plan(items, workers=2)] == [(2,), (1,), (0,), (3,)]


def test_lower_bound() -> None:
    """The bound is the larger of the mean load and the longest test."""
    assert lower_bound([1.0, 1.0, 4.0], 2) == 4.0
    assert lower_bound([3.0, 3.0, 3.0], 2) == 4.5
    assert lower_bound([], 3) == 0.0
    assert lower_bound([1.0, 1.0], 2, chains=[3.0]) == 3.0


def test_simulation_uses_free_workers_in_order() -> None:
    """List scheduling: each unit starts on the worker that frees up first."""
    units = [Unit((0,), 4.0), Unit((1,), 3.0), Unit((2,), 2.0), Unit((3,), 1.0)]
    placements = simulate(units, 2, per_test=0.5)
    assert [(p.worker, p.start, p.end) for p in placements] == [
        (0, 0.0, 4.5),
        (1, 0.0, 3.5),
        (1, 3.5, 6.0),
        (0, 4.5, 6.0),
    ]
    assert makespan(placements) == 6.0


# -- shards -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("1/3", ShardSpec(1, 3)), (" 2 / 2 ", ShardSpec(2, 2))]
)
def test_parse_shard(value: str, expected: ShardSpec) -> None:
    """K/N names shard K of N."""
    assert parse_shard(value, {}) == expected


@pytest.mark.parametrize("value", ["0/3", "4/3", "1/0", "x", "1/2/3", "-1/2"])
def test_parse_shard_rejects_nonsense(value: str) -> None:
    """A value that is not shard K of N (1 <= K <= N) is an error naming the form."""
    with pytest.raises(ShardSpecError, match="1"):
        parse_shard(value, {})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"TEST_TOTAL_SHARDS": "4", "TEST_SHARD_INDEX": "0"}, ShardSpec(1, 4)),
        ({"CI_NODE_TOTAL": "3", "CI_NODE_INDEX": "3"}, ShardSpec(3, 3)),
        ({"CIRCLE_NODE_TOTAL": "2", "CIRCLE_NODE_INDEX": "1"}, ShardSpec(2, 2)),
    ],
)
def test_parse_shard_auto_reads_ci_variables(environ: dict[str, str], expected: ShardSpec) -> None:
    """``auto`` takes the shard from the CI's own variables, with each CI's index base."""
    assert parse_shard("auto", environ) == expected


def test_parse_shard_auto_without_ci_variables_says_what_it_looked_for() -> None:
    """``auto`` outside CI names the variables it needs."""
    with pytest.raises(ShardSpecError, match="TEST_TOTAL_SHARDS"):
        parse_shard("auto", {})


shard_items = st.lists(
    st.builds(
        ShardItem,
        nodeid=st.text("abcdef", min_size=1, max_size=6),
        group=st.sampled_from(["m1", "m2", "m3", "m4"]),
        estimate=estimates,
    ),
    unique_by=lambda i: i.nodeid,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(items=shard_items, total=st.integers(1, 6), seed=st.integers(0, 1000))
def test_every_test_is_in_exactly_one_shard_whatever_the_order(
    items: list[ShardItem], total: int, seed: int
) -> None:
    """Shards cover the suite exactly once, and the split ignores collection order."""
    shards = split(items, total)
    assert len(shards) == total
    assert sorted(n for shard in shards for n in shard) == sorted(i.nodeid for i in items)
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    assert split(shuffled, total) == shards


def test_largest_shard_is_close_to_the_ideal_split() -> None:
    """With many tests of varied length the largest shard is within 5 % of the ideal."""
    rng = random.Random(7)
    items = [
        ShardItem(f"t{m}.py::test_{i}", f"t{m}.py", rng.lognormvariate(-3, 1))
        for m in range(20)
        for i in range(20)
    ]
    for total in (2, 3, 4, 8):
        loads = [
            sum(i.estimate for i in items if i.nodeid in set(shard))
            for shard in split(items, total)
        ]
        assert max(loads) <= 1.05 * sum(loads) / total
