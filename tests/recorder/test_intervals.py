"""Property tests for the half-open interval algebra (recorder/credits/intervals.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.credits.intervals import (
    Interval,
    clip,
    difference,
    intersect,
    normalize,
    prefix,
    span,
    total,
    union,
)
from recorder.credits.rules import US_PER_MINUTE, minutes_of

settings.register_profile("credits", max_examples=200, deadline=None)
settings.load_profile("credits")


@st.composite
def interval(draw: st.DrawFn) -> Interval:
    start = draw(st.integers(min_value=-1_000, max_value=10_000))
    return (start, start + draw(st.integers(min_value=0, max_value=2_000)))


sets = st.lists(interval(), max_size=8)


def members(ivs: list[Interval]) -> set[int]:
    """Brute force: the integer points a set covers."""
    return {t for a, b in ivs for t in range(a, b)}


def is_normal(ivs: tuple[Interval, ...]) -> bool:
    return all(a < b for a, b in ivs) and all(
        prev[1] < nxt[0] for prev, nxt in itertools.pairwise(ivs)
    )


@given(sets)
def test_normalize_is_idempotent_and_normal(a: list[Interval]) -> None:
    once = normalize(a)
    assert normalize(once) == once
    assert is_normal(once)
    assert members(list(once)) == members(a)


@given(sets, sets)
def test_union_and_intersect_commute(a: list[Interval], b: list[Interval]) -> None:
    assert union(a, b) == union(b, a)
    assert intersect(a, b) == intersect(b, a)


@given(sets, sets, sets)
def test_union_and_intersect_associate(
    a: list[Interval], b: list[Interval], c: list[Interval]
) -> None:
    assert union(union(a, b), c) == union(a, union(b, c))
    assert intersect(intersect(a, b), c) == intersect(a, intersect(b, c)) == intersect(a, b, c)


@given(sets, sets)
def test_against_brute_force(a: list[Interval], b: list[Interval]) -> None:
    assert members(list(union(a, b))) == members(a) | members(b)
    assert members(list(intersect(a, b))) == members(a) & members(b)
    assert members(list(difference(a, b))) == members(a) - members(b)
    assert all(is_normal(s) for s in (union(a, b), intersect(a, b), difference(a, b)))


@given(sets, sets)
def test_clip_is_idempotent(a: list[Interval], window: list[Interval]) -> None:
    once = clip(a, window)
    assert clip(once, window) == once
    assert intersect(a, a) == normalize(a)
    assert total(once) <= min(total(a), total(window))


@given(sets, sets)
def test_difference_and_intersection_partition(a: list[Interval], b: list[Interval]) -> None:
    assert total(difference(a, b)) + total(intersect(a, b)) == total(a)
    assert union(difference(a, b), intersect(a, b)) == normalize(a)


@given(sets, sets)
def test_effective_minutes_never_exceed_wall_time(a: list[Interval], b: list[Interval]) -> None:
    scaled = [(s * 1_000_000, e * 1_000_000) for s, e in a]
    window = [(s * 1_000_000, e * 1_000_000) for s, e in b]
    clipped = clip(scaled, window)
    wall = span(scaled)
    wall_time = 0 if wall is None else wall[1] - wall[0]
    assert minutes_of(clipped) * US_PER_MINUTE <= total(clipped) <= total(scaled) <= wall_time


@given(interval(), st.lists(st.integers(min_value=0, max_value=2_000), max_size=6))
def test_splitting_an_interval_never_changes_the_total(iv: Interval, cuts: list[int]) -> None:
    start, end = iv
    points = sorted({start, end, *(min(start + c, end) for c in cuts)})
    pieces = list(itertools.pairwise(points))
    assert total(pieces) == end - start
    assert normalize(pieces) == normalize([iv])


@given(sets, st.integers(min_value=0, max_value=20_000))
def test_prefix_takes_the_earliest_part(a: list[Interval], length: int) -> None:
    head = prefix(a, length)
    assert total(head) == min(length, total(a))
    assert difference(head, a) == ()
    if head:
        # Nothing of the set lies before the end of the prefix but outside it.
        assert total(clip(a, [(min(x for x, _ in a), head[-1][1])])) == total(head)


def test_touching_intervals_merge_half_open() -> None:
    assert normalize([(5, 9), (0, 5)]) == ((0, 9),)
    assert normalize([(3, 3)]) == ()
    assert intersect([(0, 5)], [(5, 9)]) == ()


def test_reversed_interval_is_an_error() -> None:
    with pytest.raises(ValueError):
        normalize([(9, 5)])
