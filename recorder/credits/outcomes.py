"""What one session's computation produces (per person and per session, with the
reasons in words), the effective set of a session, and the small exact helpers
(minutes, rounding, formatting) the rules and the statement share. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.evidence_rules import form_set, meet, minutes
from recorder.credits.intervals import IntervalSet, prefix, total
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


# For a set already in normal form (every set a parsed record holds, every set the
# rules compute): no re-check, no generator. Defined with the evidence rules.
_minutes = minutes
_meet = meet


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


class _Discard(list[str]):
    """A notes list that keeps nothing: what a statement's outcomes carry (see
    :data:`NO_NOTES`)."""

    def append(self, note: str) -> None:
        pass

    def extend(self, notes: Iterable[str]) -> None:
        pass


# The notes of every person of an engine made with ``notes=False``: a statement sums
# figures and never shows notes, and writing them (a list per person, a few f-strings
# per session) was a fifth of its time. Shared, so it must stay empty: it does.
NO_NOTES: list[str] = _Discard()


class _NoParts(dict[str, Fraction]):
    """An empty breakdown that refuses to be written to: see :data:`NO_PARTS`."""

    def __setitem__(self, name: str, value: Fraction) -> None:
        raise TypeError("a learner's outcome has no points breakdown")

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a learner's outcome has no points breakdown")


# The breakdown of every learner: only instructors earn points, and a dict per learner
# (most people of most sessions) was an allocation the garbage collector then tracked.
# Shared, so writing to it raises rather than leaking into other learners.
NO_PARTS: dict[str, Fraction] = _NoParts()


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
    # The wall-clock time this session credits to the person (their minutes come from
    # it), after removing what an earlier session credited: the statement's one place
    # at a time rule (issue 9, item 3) keeps it to compare with their later sessions.
    credited: IntervalSet = ()

    def add(self, name: str, value: Fraction) -> None:
        self.parts[name] = value
        self.points += value


@dataclass(slots=True)
class SessionSets:
    """The interval sets behind a session's figures (µs), for audits and the timeline.

    Read-only by convention, not frozen: one is made per session, millions per statement,
    and a frozen dataclass sets each field through ``object.__setattr__``."""

    open: IntervalSet  # open hours on the dates the session touched
    raw: IntervalSet  # the form's effective set before clipping
    effective: IntervalSet  # E = raw ∩ open
    counted: IntervalSet  # what counted: E, its first max minutes, or nothing
    # Issue 9: the presence set the evidence rules start from, what they removed
    # ((reason, minutes), for the notes) and each lecture/classroom learner's receiving set.
    present: IntervalSet = ()
    removed: tuple[tuple[str, int], ...] = ()
    watching: Mapping[str, IntervalSet] = field(default_factory=dict)


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

    @property
    def order_start(self) -> int | None:
        """Where the session stands in a statement: the start of its effective time, or
        of its record when it has none (issue 9, item 3: "in order of effective start")."""
        effective = self.sets.effective
        return effective[0][0] if effective else self.start

    def to_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "session_id": record.session_id,
            "term": self.term,
            "basis": record.basis,
            "effective_minutes": self.effective_minutes,
            "counted": self.counted,
            "marks": [mark.to_json(learner) for learner, mark in record.marks.items()],
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

    The form's set before open hours is :func:`recorder.credits.evidence_rules.form_set`:
    from media evidence (issue 9), or from presence for a record without it.
    """
    start, end = record.start, record.end
    if start is None or end is None:
        return SessionSets((), (), (), ())
    open_set = calendar.open_intervals(policy.open_hours, start, end)
    form = policy.forms[record.form]
    found = form_set(record, form)
    raw = found.raw
    effective = meet(raw, open_set)
    limits = form.limits
    whole = minutes(effective)
    if whole == 0 or (limits.min_minutes is not None and whole < limits.min_minutes):
        counted: IntervalSet = ()
    elif limits.max_minutes is not None and whole > limits.max_minutes:
        counted = prefix(effective, limits.max_minutes * US_PER_MINUTE)
    else:
        counted = effective
    return SessionSets(
        open_set, raw, effective, counted, found.present, found.removed, found.watching
    )
