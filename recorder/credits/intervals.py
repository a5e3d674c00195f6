"""Half-open interval algebra on exact integer time.

An *interval* is a pair ``(start, end)`` of integers meaning the half-open
range ``[start, end)``. An *interval set* (:data:`IntervalSet`) is a tuple of
intervals in *normal form*: sorted, non-empty, pairwise disjoint and not
touching (``[0, 5)`` and ``[5, 9)`` become ``[0, 9)``). Every function here
accepts any iterable of pairs and returns a set in normal form, so callers never
need to pre-sort or pre-merge what the presence journal hands them.

The unit is whatever the caller chooses; the credits engine uses integer
microseconds since the Unix epoch, so arithmetic stays exact (no floats, no
rounding) and "floor once on the total" is a single integer division.

Pure: standard library only, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[int, int]
IntervalSet = tuple[Interval, ...]

EMPTY: IntervalSet = ()


def normalize(intervals: Iterable[Interval]) -> IntervalSet:
    """Sort and merge overlapping or touching intervals; drop empty ones.

    The issue: "Overlapping or unsorted intervals of one person are merged first."
    Raises ``ValueError`` for an interval whose end is before its start, because
    that is a malformed record, not an empty presence.
    """
    if type(intervals) is tuple and _already_normal(intervals):
        return intervals  # the common case: a set this module produced
    items = []
    for start, end in intervals:
        if end < start:
            raise ValueError(f"interval end {end} is before its start {start}")
        if end > start:
            items.append((start, end))
    if not items:
        return EMPTY
    items.sort()
    merged: list[Interval] = []
    cur_start, cur_end = items[0]
    for start, end in items[1:]:
        if start <= cur_end:  # overlapping or touching: half-open, so [a,b)+[b,c) = [a,c)
            if end > cur_end:
                cur_end = end
        else:
            merged.append((cur_start, cur_end))
            cur_start, cur_end = start, end
    merged.append((cur_start, cur_end))
    return tuple(merged)


def _already_normal(intervals: tuple[Interval, ...]) -> bool:
    previous_end = None
    for item in intervals:
        if type(item) is not tuple or len(item) != 2:
            return False
        start, end = item
        if type(start) is not int or type(end) is not int or not start < end:
            return False
        if previous_end is not None and start <= previous_end:
            return False
        previous_end = end
    return True


def union(*sets: Iterable[Interval]) -> IntervalSet:
    """Union of any number of interval sets."""
    return normalize(iv for s in sets for iv in s)


def _intersect_two(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    # Linear sweep over two sets already in normal form.
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        a_start, a_end = a[i]
        b_start, b_end = b[j]
        start = a_start if a_start > b_start else b_start
        end = a_end if a_end < b_end else b_end
        if start < end:
            out.append((start, end))
        if a_end < b_end:
            i += 1
        else:
            j += 1
    return tuple(out)


def intersect(*sets: Iterable[Interval]) -> IntervalSet:
    """Intersection of one or more interval sets (the instants in all of them).

    With no argument there is no sensible "everything", so that is an error.
    """
    if not sets:
        raise ValueError("intersect() needs at least one interval set")
    result = normalize(sets[0])
    for other in sets[1:]:
        if not result:
            return EMPTY
        result = _intersect_two(result, normalize(other))
    return result


def clip(intervals: Iterable[Interval], window: Iterable[Interval]) -> IntervalSet:
    """The part of ``intervals`` inside ``window`` (e.g. presence clipped to open hours)."""
    return intersect(intervals, window)


def difference(a: Iterable[Interval], b: Iterable[Interval]) -> IntervalSet:
    """The instants of ``a`` that are not in ``b``."""
    left = normalize(a)
    right = normalize(b)
    out: list[Interval] = []
    j = 0
    for start, end in left:
        cur = start
        while j < len(right) and right[j][1] <= cur:
            j += 1
        k = j
        while k < len(right) and right[k][0] < end:
            r_start, r_end = right[k]
            if r_start > cur:
                out.append((cur, r_start))
            cur = max(cur, r_end)
            if cur >= end:
                break
            k += 1
        if cur < end:
            out.append((cur, end))
    return tuple(out)


def total(intervals: Iterable[Interval]) -> int:
    """Total length of the set (overlaps counted once)."""
    return sum(end - start for start, end in normalize(intervals))


def prefix(intervals: Iterable[Interval], length: int) -> IntervalSet:
    """The earliest part of the set whose total length is ``min(length, total)``.

    Used for "above the maximum, the maximum counts": the counted set of a
    session that ran over is its first ``max`` minutes of effective time.
    """
    out: list[Interval] = []
    remaining = length
    for start, end in normalize(intervals):
        if remaining <= 0:
            break
        take = min(end - start, remaining)
        out.append((start, start + take))
        remaining -= take
    return tuple(out)


def span(intervals: Iterable[Interval]) -> Interval | None:
    """``(earliest start, latest end)`` of the set, or ``None`` when it is empty."""
    norm = normalize(intervals)
    if not norm:
        return None
    return (norm[0][0], norm[-1][1])
