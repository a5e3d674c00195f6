"""Each form's effective set before open hours, from media evidence (issue 9, item 2).

Presence alone does not show that teaching happened: a lecturer alone with camera and
microphone off used to be paid for 96 % of the time. So, per form (the thresholds are
the policy's):

- ``lecture`` / ``classroom``: the instructor *publishing* (voiced audio or live video)
  while at least ``min_viewers`` learners are *receiving* at the same instant;
- ``one_to_one``: both present, and the instructor publishing or the pair in
  conversation (someone voiced within the last ``conversation_window_s`` seconds);
- ``review``: the learner and every reviewer present, and someone voiced within the
  last ``conversation_window_s`` seconds.

Every person set is intersected with the person's ``active`` set, so a record whose
evidence runs outside presence never pays more than presence would. On the presence
basis (a record without ``publishing``), publishing, receiving and voiced *are* the
active sets: the one_to_one and review sets are then the presence sets of before, and
only the viewer rule is new for lectures and classrooms.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from recorder.credits.intervals import IntervalSet, intersect, union
from recorder.credits.policy import FormPolicy
from recorder.credits.records import PRESENCE, SessionRecord

US_PER_MINUTE = 60_000_000
US_PER_SECOND = 1_000_000


def meet(a: IntervalSet, b: IntervalSet) -> IntervalSet:
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


def minutes(normal: IntervalSet) -> int:
    """Whole minutes of a set in normal form: floor once, on the total."""
    if len(normal) == 1:
        start, end = normal[0]
        return (end - start) // US_PER_MINUTE
    return sum([end - start for start, end in normal]) // US_PER_MINUTE


def join(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    """``union(a, b)`` for two sets in normal form; the usual cases (one empty, or all
    of ``a`` before ``b``: a lecture watched live, then its replay) without the sort."""
    if not b:
        return a
    if not a:
        return b
    if a[-1][1] < b[0][0]:  # strictly before: touching intervals merge
        return a + b
    return union(a, b)


def covered_by(sets: Sequence[IntervalSet], k: int) -> IntervalSet:
    """The instants that at least ``k`` of ``sets`` (each in normal form) contain.

    One sweep over the sorted ends: +1 at a start, −1 at an end, all changes at one
    instant applied together (half-open intervals: one person leaving at t and another
    arriving at t keeps the count).
    """
    if k <= 1:
        return _union_all(sets) if k == 1 else ()
    if len(sets) < k:
        return ()
    events: list[tuple[int, int]] = []
    for ivs in sets:
        for start, end in ivs:
            events.append((start, 1))
            events.append((end, -1))
    events.sort()
    out: list[tuple[int, int]] = []
    count = 0
    opened: int | None = None
    i, n = 0, len(events)
    while i < n:
        at = events[i][0]
        while i < n and events[i][0] == at:
            count += events[i][1]
            i += 1
        if count >= k:
            if opened is None:
                opened = at
        elif opened is not None:
            out.append((opened, at))
            opened = None
    return tuple(out)


def _union_all(sets: Sequence[IntervalSet]) -> IntervalSet:
    """``union(*sets)`` of sets in normal form (a lecture's few dozen viewers): one
    sort of all their intervals and one merge, without normalize's checks."""
    items = [interval for intervals in sets for interval in intervals]
    if not items:
        return ()
    items.sort()
    out: list[tuple[int, int]] = []
    cur_start, cur_end = items[0]
    for start, end in items:
        if start <= cur_end:  # overlapping or touching: half-open intervals merge
            if end > cur_end:
                cur_end = end
        else:
            out.append((cur_start, cur_end))
            cur_start, cur_end = start, end
    out.append((cur_start, cur_end))
    return tuple(out)


def conversation(voiced: Iterable[IntervalSet], window_s: int) -> IntervalSet:
    """Instants someone was voiced within the last ``window_s`` seconds: every voiced
    interval held ``window_s`` longer at its end, merged."""
    hold = window_s * US_PER_SECOND
    return union(*(((start, end + hold) for start, end in ivs) for ivs in voiced))


class FormSet(NamedTuple):
    """A form's set before open hours, and what the evidence rules took from presence."""

    present: IntervalSet  # the presence rule: everyone (one_to_one, review) / the instructor
    raw: IntervalSet  # present, minus what the evidence rules take away
    removed: tuple[tuple[str, int], ...]  # (reason, whole minutes) for the notes
    # lecture / classroom: each learner's receiving set within their presence
    watching: Mapping[str, IntervalSet]


_NONE: Mapping[str, IntervalSet] = {}


def _viewers(k: int) -> str:
    return f"fewer than {k} learner{'' if k == 1 else 's'} receiving"


def form_set(record: SessionRecord, form: FormPolicy) -> FormSet:
    """The raw effective set of ``record``'s form (see the module's description)."""
    active = record.active
    evidence = record.basis != PRESENCE
    if record.form in ("one_to_one", "review"):
        # The record's sets are in normal form (parse_record), so fold the cheap meet.
        present: IntervalSet | None = None
        for person in record.people:
            here = active.get(person.id, ())
            present = here if present is None else meet(present, here)
        assert present is not None  # a record has at least one person
        if not evidence or not present:
            return FormSet(present, present, (), _NONE)
        voiced = record.voiced
        talk = conversation((voiced.get(p.id, ()) for p in record.people),
                            form.conversation_window_s)
        if record.form == "one_to_one":
            teaching = union(record.publishing.get(record.instructors[0].id, ()), talk)
            reason = "instructor not publishing and no conversation"
        else:
            teaching = talk
            reason = "no one voiced in the discussion"
        raw = meet(present, teaching)
        return FormSet(present, raw, ((reason, minutes(present) - minutes(raw)),), _NONE)

    # lecture, classroom
    teacher = record.instructors[0].id
    present = active.get(teacher, ())
    removed: list[tuple[str, int]] = []
    publishing = present
    if evidence and present:
        publishing = meet(present, record.publishing.get(teacher, ()))
        removed.append(("instructor not publishing", minutes(present) - minutes(publishing)))
    watching = learner_sets(record)
    k = form.min_viewers
    if k <= 0 or not publishing:
        return FormSet(present, publishing, tuple(removed), watching)
    # ``watching`` holds learners only, or (presence basis) is ``active``: skip the teacher.
    viewers = [intervals for pid, intervals in watching.items() if pid != teacher]
    raw = meet(publishing, covered_by(viewers, k))
    removed.append((_viewers(k), minutes(publishing) - minutes(raw)))
    return FormSet(present, raw, tuple(removed), watching)


def learner_sets(record: SessionRecord) -> Mapping[str, IntervalSet]:
    """Each learner's receiving set within their presence: what they watched live."""
    if record.basis == PRESENCE:
        return record.active  # receiving is active
    active, receiving = record.active, record.receiving
    return {p.id: meet(receiving.get(p.id, ()), active.get(p.id, ())) for p in record.learners}
