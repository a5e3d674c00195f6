"""What one session's computation produces (per person and per session, with the
reasons in words), the effective set of a session, and the small exact helpers
(minutes, rounding, formatting) the rules and the statement share. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.intervals import IntervalSet, intersect, prefix, total
from recorder.credits.policy import Policy
from recorder.credits.records import (
    SessionRecord,
)

US_PER_MINUTE = 60_000_000
NO_TERM = "(no term)"
ZERO = Fraction(0)
FORM_WORDS = {
    "one_to_one": "one-to-one session",
    "lecture": "lecture",
    "review": "review",
    "classroom": "classroom session",
}
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def minutes_of(intervals: IntervalSet) -> int:
    """ "研修时长以分钟为单位，不足1分钟部分不计入": floor once, on the total."""
    return total(intervals) // US_PER_MINUTE


def _minutes(normal: IntervalSet) -> int:
    """:func:`minutes_of` for a set already in normal form (every set a parsed record
    holds, every set this module computes): no re-check, no generator."""
    if len(normal) == 1:
        start, end = normal[0]
        return (end - start) // US_PER_MINUTE
    return sum([end - start for start, end in normal]) // US_PER_MINUTE


def _meet(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    """``intersect(a, b)`` for two sets in normal form; the one-interval case (most
    presences) without the general sweep."""
    if len(a) == 1 and len(b) == 1:
        (a_start, a_end), (b_start, b_end) = a[0], b[0]
        start = a_start if a_start > b_start else b_start
        end = a_end if a_end < b_end else b_end
        return ((start, end),) if start < end else ()
    if not a or not b:
        return ()
    return intersect(a, b)


def round_half_up(value: Fraction) -> Fraction:
    """Round to 2 decimals, halves away from zero (points are never negative in totals)."""
    num, den = value.numerator, value.denominator
    if den <= 100 and 100 % den == 0:
        return value  # already whole hundredths (the common case after the first rounding)
    hundredths = (abs(num) * 200 + den) // (2 * den)  # floor(|x|·100 + 1/2), in integers
    return Fraction(-hundredths if num < 0 else hundredths, 100)


def fmt2(value: Fraction) -> str:
    """Exact 2-decimal text of a value already rounded to hundredths (or rounded here)."""
    rounded = round_half_up(value)
    hundredths = int(rounded * 100)
    sign = "-" if hundredths < 0 else ""
    whole, cents = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{cents:02d}"


def ordinal(n: int) -> str:
    return _ORDINALS[n - 1] if n <= len(_ORDINALS) else f"{n}th"


@dataclass(slots=True)
class PersonOutcome:
    """One person's figures for one session. ``points`` is exact until :meth:`finish`."""

    role: str
    minutes: int = 0
    study_minutes: int = 0
    study_hours: int = 0
    points: Fraction = ZERO
    parts: dict[str, Fraction] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: Fraction) -> None:
        self.parts[name] = value
        self.points += value


@dataclass(frozen=True)
class SessionSets:
    """The interval sets behind a session's figures (µs), for audits and the timeline."""

    open: IntervalSet  # open hours on the dates the session touched
    raw: IntervalSet  # the form's effective set before clipping
    effective: IntervalSet  # E = raw ∩ open
    counted: IntervalSet  # what counted: E, its first max minutes, or nothing


@dataclass
class SessionOutcome:
    """Everything computed for one session; :meth:`to_json` gives the issue's shape."""

    record: SessionRecord
    start: int | None
    term: str | None
    year: int | None
    effective_minutes: int
    counted: bool
    sets: SessionSets
    people: dict[str, PersonOutcome]
    point_value: Fraction

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.record.session_id,
            "term": self.term,
            "effective_minutes": self.effective_minutes,
            "counted": self.counted,
            "people": {
                pid: {
                    "minutes": p.minutes,
                    "study_minutes": p.study_minutes,
                    "study_hours": p.study_hours,
                    "points": fmt2(p.points),
                    "pay_cny": fmt2(p.points * self.point_value),
                    "breakdown": {k: fmt2(v) for k, v in p.parts.items()},
                    "notes": list(p.notes),
                }
                for pid, p in self.people.items()
            },
        }


# --- the effective set ----------------------------------------------------------------


def session_sets(record: SessionRecord, policy: Policy, calendar: Calendar) -> SessionSets:
    """E for the form, clipped to open hours, and the counted part of it.

    Issue: one_to_one = instructor ∩ learner; lecture, classroom = the instructor's
    set; review = learner ∩ every reviewer ("所有指导教师与学员教师还须同时开展一次……互动研讨").
    """
    start, end = record.start, record.end
    if start is None or end is None:
        return SessionSets((), (), (), ())
    open_set = calendar.open_intervals(policy.open_hours, start, end)
    active = record.active
    if record.form in ("one_to_one", "review"):
        # The record's sets are in normal form (parse_record), so fold the cheap meet.
        raw: IntervalSet | None = None
        for person in record.people:
            present = active.get(person.id, ())
            raw = present if raw is None else _meet(raw, present)
        assert raw is not None  # a record has at least one person
    else:
        raw = active.get(record.instructors[0].id, ())
    effective = _meet(raw, open_set)
    limits = policy.forms[record.form].limits
    minutes = _minutes(effective)
    if minutes == 0 or (limits.min_minutes is not None and minutes < limits.min_minutes):
        counted: IntervalSet = ()
    elif limits.max_minutes is not None and minutes > limits.max_minutes:
        counted = prefix(effective, limits.max_minutes * US_PER_MINUTE)
    else:
        counted = effective
    return SessionSets(open_set, raw, effective, counted)
