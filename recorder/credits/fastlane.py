"""The statement's fast lane (issue 15, item 4): the figures of a plain session straight
from its decoded JSON, without the objects the audit path builds. Pure.

A statement of millions of sessions spent most of its time building what it then threw
away: a :class:`~recorder.credits.records.SessionRecord` with a dict per field, a
:class:`~recorder.credits.outcomes.SessionSets`, a
:class:`~recorder.credits.outcomes.PersonOutcome` per person with its breakdown, and a
:class:`~recorder.credits.outcomes.SessionOutcome`, read back once for a few integers.
:func:`quick` takes the commonest records only, and takes them whole or not at all:

- a version 1 record (presence basis: no media evidence, no ``started_at``/``ended_at``,
  no marks) of a one_to_one, lecture or review of the policy's programme;
- everyone present in ``active`` as one interval, longer than nothing (a lecture's
  learner may be absent: watching the replay only), a replay one interval too;
- every field plainly valid (as :func:`recorder.credits.records._parse_plain` takes it),
  no ``replay`` or ``reports`` where the form ignores them, added in start order.

For such a record it works out exactly what :class:`~recorder.credits.engine.Engine`
would (the same rules, the same memos: people, teacher points, open hours), with every
shortcut that the shape allows: single intervals met by comparing ends, the feedback
window and text rules as the statement asks them (a yes or no, no words). Anything else
returns ``None`` and the record goes the general way, which also words every error: so
the fast lane never decides what is invalid. What it returns is a :class:`Quick`: what
:class:`~recorder.credits.statement.StatementBuilder` needs to apply one place at a
time, the caps and the sums; when one place at a time has something to take off (a
session that meets time already credited to one of its people: one in six of a
2,000,000-session term's), :func:`figures_again` works them out again with that time
taken off, as the engine would. tests/recorder/test_credits_speed_sample.py and
test_credits_golden.py hold the statements this must give.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from recorder.credits.checks import place_rule
from recorder.credits.engine import Engine, _review_points
from recorder.credits.evidence_rules import covered_by, join, meet, minutes
from recorder.credits.intervals import IntervalSet, difference, prefix
from recorder.credits.outcomes import ZERO
from recorder.credits.records import (
    _EPOCH,
    _ONE_US,
    _V2_FIELDS,
    FORMS,
    Person,
    _us,
    plain_people,
)
from recorder.credits.texts import US_PER_HOUR, text_counts

US_PER_MINUTE = 60_000_000
_parse = datetime.fromisoformat  # raises TypeError for anything but a string
_Giveup = (TypeError, ValueError, KeyError, AttributeError, IndexError)
# One person's figures: (id, instructor?, credited set, points, study minutes, study hours)
Figures = tuple[str, bool, IntervalSet, Fraction, int, int]


class Quick:
    """A session's figures from the fast lane: what the statement needs of it."""

    __slots__ = (
        "again", "order_start", "people", "record", "session_id", "start", "term", "year",
    )

    def __init__(
        self, record: dict[str, Any], session_id: str, start: int, order_start: int,
        term: str | None, year: int, people: list[Figures], again: tuple[Any, ...] | None,
    ) -> None:
        self.record = record  # for the general way, should one place at a time need it
        self.session_id = session_id
        self.start = start
        self.order_start = order_start
        self.term = term
        self.year = year
        self.people = people
        # The function that made ``people`` and its inputs, to work the figures out again
        # when one place at a time takes time off some of its people (see figures_again).
        self.again = again


def _one(value: object) -> tuple[int, int]:
    """A list holding one [start, end] pair, end after start, in µs; raises otherwise."""
    if type(value) is not list or len(value) != 1:
        raise TypeError
    pair = value[0]
    if type(pair) is not list or len(pair) != 2:
        raise TypeError
    start, end = _us(pair[0]), _us(pair[1])
    if end <= start:
        raise ValueError
    return start, end


def quick(engine: Engine, obj: object, last: tuple[bool, int, str] | None) -> Quick | None:
    """The figures of ``obj`` if it is a record the fast lane takes, else ``None``."""
    if type(obj) is not dict or not obj.keys().isdisjoint(_V2_FIELDS):
        return None
    try:
        return _quick(engine, obj, last)
    except _Giveup:
        return None


def _quick(
    engine: Engine, obj: dict[str, Any], last: tuple[bool, int, str] | None
) -> Quick | None:
    policy = engine.policy
    session_id = obj.get("session_id", "")
    programme = obj.get("programme", "")
    form_name = obj.get("form", "")
    if (
        type(session_id) is not str or not session_id or session_id.isspace()
        or programme != policy.programme or programme not in FORMS
        or form_name not in FORMS[programme]
        or form_name not in ("one_to_one", "lecture", "review")
    ):
        return None
    form = policy.forms.get(form_name)
    if form is None:
        return None
    raw_people = obj.get("people")
    if type(raw_people) is not list or not raw_people:
        return None

    # People, as records.parse_record_memo finds them (the engine's memo of them).
    grouped = plain_people(raw_people, programme, form_name, engine.max_reviewers,
                           engine._people)
    if grouped is None:
        return None
    people, instructors, learners = grouped

    raw_active = obj.get("active")
    if type(raw_active) is not dict:
        return None
    active: dict[str, tuple[int, int]] = {}
    start = end = 0
    parse = _parse
    for pid, value in raw_active.items():
        # _one, inlined: once per person of every session.
        if pid not in people or type(value) is not list or len(value) != 1:
            return None
        pair = value[0]
        if type(pair) is not list or len(pair) != 2:
            return None
        moment_a, moment_b = parse(pair[0]), parse(pair[1])
        if moment_a.tzinfo is None or moment_b.tzinfo is None:
            return None
        a_us, b_us = (moment_a - _EPOCH) // _ONE_US, (moment_b - _EPOCH) // _ONE_US
        if b_us <= a_us:
            return None
        active[pid] = (a_us, b_us)
        if not start or a_us < start:
            start = a_us
        if b_us > end:
            end = b_us
    if form_name == "lecture":
        if instructors[0].id not in active:
            return None
    elif len(active) != len(people):
        return None
    key3 = (False, start, session_id)
    if last is not None and key3 <= last:
        return None  # out of order: the general way says so

    raw_replay = obj.get("replay")
    replay: dict[str, tuple[int, int]] = {}
    if raw_replay is not None:
        if type(raw_replay) is not dict or (raw_replay and form_name != "lecture"):
            return None
        for pid, value in raw_replay.items():
            if people[pid].role != "learner":
                return None
            replay[pid] = _one(value)

    # The learners whose feedback counts, with its rating: submitted in the window
    # [start, latest] and its text passing the text rules (checks.feedback_problem finds
    # nothing wrong), decided once, however often the figures are worked out.
    latest = end + policy.feedback_window_hours * US_PER_HOUR
    min_chars, min_distinct = policy.feedback_min_chars, policy.feedback_min_distinct
    rated: dict[str, int] = {}
    raw_feedback = obj.get("feedback")
    if raw_feedback is not None:
        if type(raw_feedback) is not dict:
            return None
        for pid, raw in raw_feedback.items():
            if people[pid].role != "learner" or type(raw) is not dict:
                return None
            rating = raw.get("rating")
            text = raw.get("text", "")
            if type(rating) is not int or not 1 <= rating <= 5 or type(text) is not str:
                return None
            moment = parse(raw.get("submitted_at"))  # type: ignore[arg-type]  # TypeError: given up
            if moment.tzinfo is None:
                return None
            submitted = (moment - _EPOCH) // _ONE_US
            if start <= submitted <= latest and text_counts(text, min_chars, min_distinct):
                rated[pid] = rating

    reports: dict[str, tuple[int, str | None]] = {}
    raw_reports = obj.get("reports")
    if raw_reports is not None:
        if type(raw_reports) is not dict or (raw_reports and form_name != "review"):
            return None
        for pid, raw in raw_reports.items():
            if people[pid].role != "instructor" or type(raw) is not dict:
                return None
            submitted = _us(raw.get("submitted_at"))
            text = raw.get("text")
            if text is not None and type(text) is not str:
                return None
            reports[pid] = (submitted, text)

    # The effective set (outcomes.session_sets, evidence_rules.form_set on presence).
    calendar = engine.calendar
    open_set = calendar.open_intervals(policy.open_hours, start, end)
    if form_name == "lecture":
        teacher = instructors[0].id
        t_start, t_end = active[teacher]
        k = form.min_viewers
        if k <= 0:
            raw_set: IntervalSet = ((t_start, t_end),)
        else:
            viewers = [((iv),) for pid, iv in active.items() if pid != teacher]
            raw_set = meet(((t_start, t_end),), covered_by(viewers, k))
    else:
        lo, hi = 0, end
        for a, b in active.values():
            if a > lo:
                lo = a
            if b < hi:
                hi = b
        raw_set = ((lo, hi),) if lo < hi else ()
    effective = meet(raw_set, open_set) if raw_set else ()
    limits = form.limits
    whole = minutes(effective) if effective else 0
    if whole == 0 or (limits.min_minutes is not None and whole < limits.min_minutes):
        counted: IntervalSet = ()
    elif limits.max_minutes is not None and whole > limits.max_minutes:
        counted = prefix(effective, limits.max_minutes * US_PER_MINUTE)
    else:
        counted = effective
    eff = minutes(counted) if counted else 0

    day = calendar.local_date(start)
    found = calendar.term_of(day)
    if found is None and effective:
        found = calendar.term_of(calendar.local_date(effective[0][0]))
    term = found.name if found else None
    order_start = effective[0][0] if effective else start

    study = policy.study is not None
    again: tuple[Any, ...]
    if form_name == "one_to_one":
        t_person, l_person = instructors[0], learners[0]
        # 0 when the learner's feedback does not count (ratings are 1–5)
        again = (_pair, engine, form, t_person, l_person, next(iter(people)) == t_person.id,
                 counted, eff, rated.get(l_person.id, 0), study)
        out = _pair(*again[1:])
    elif form_name == "review":
        again = (_review, engine, form, people, active, reports, rated, raw_set, counted,
                 eff, start, latest, study)
        out = _review(*again[1:])
    else:
        again = (_lecture, engine, form, people, instructors[0], active, replay, rated,
                 effective, eff, counted, study)
        out = _lecture(*again[1:])
    return Quick(obj, session_id, start, order_start, term, day.year, out, again)


def figures_again(item: Quick, already: dict[str, IntervalSet]) -> list[Figures]:
    """A session's figures with ``already`` (person → time an earlier session credited
    them) taken off, as the engine works them out with ``already``."""
    assert item.again is not None
    function, *inputs = item.again
    found: list[Figures] = function(*inputs, already=already)
    return found


def _left(candidate: IntervalSet, minutes_of: int, taken: IntervalSet | None
          ) -> tuple[IntervalSet, int]:
    """engine._keep: what is left of ``candidate`` (``minutes_of`` minutes) once ``taken``
    is taken off, and its minutes; ``candidate`` itself when nothing is."""
    if taken and candidate:
        rest = difference(candidate, taken)
        if rest != candidate:
            return rest, minutes(rest)
    return candidate, minutes_of


def _pair(
    engine: Engine, form: Any, teacher: Person, learner: Person, teacher_first: bool,
    counted: IntervalSet, eff: int, rating: int, study: bool,
    already: dict[str, IntervalSet] | None = None,
) -> list[Figures]:
    """engine._pair for a one_to_one, on presence, without words; ``rating`` is 0 when
    the learner's feedback does not count."""
    t_set = l_set = counted
    eff_t = eff_l = eff
    if already is not None:
        t_set, eff_t = _left(counted, eff, already.get(teacher.id))
        l_set, eff_l = _left(counted, eff, already.get(learner.id))
    points = ZERO
    if eff_t:
        points = engine._teacher_points(form, eff_t, rating, 1 if rating else 0).rounded
        if place_rule(engine.policy, teacher, learner, False)[0]:
            points = ZERO
    t_fig = (teacher.id, True, t_set, points, eff_t if study else 0, 0)
    l_fig = (learner.id, False, l_set, ZERO, eff_l if study and rating else 0, 0)
    return [t_fig, l_fig] if teacher_first else [l_fig, t_fig]


def _review(
    engine: Engine, form: Any, people: dict[str, Person], active: dict[str, tuple[int, int]],
    reports: dict[str, tuple[int, str | None]], rated: dict[str, int],
    raw_set: IntervalSet, counted: IntervalSet, eff: int, start: int, latest: int, study: bool,
    already: dict[str, IntervalSet] | None = None,
) -> list[Figures]:
    """engine._review, on presence, without words."""
    policy = engine.policy
    took_part = discussion_ok = bool(counted)
    least = form.limits.min_minutes or 0
    mine = counted
    learner = next(p for p in people.values() if p.role == "learner")
    any_report = False
    figures: dict[str, Figures] = {}
    r_min, r_distinct = policy.report_min_chars, policy.report_min_distinct
    for pid, person in people.items():
        if person.role != "instructor":
            continue
        if already is not None:  # engine._discussion
            mine, left = _left(counted, eff, already.get(pid))
            took_part = discussion_ok and (mine is counted or left >= least)
        report = reports.get(pid)
        has_report = False
        if report is not None:
            a, b = active[pid]
            submitted, text = report
            has_report = (
                bool(raw_set) and a < raw_set[0][1] and raw_set[0][0] < b
                and start <= submitted <= latest and text is not None
                and text_counts(text, r_min, r_distinct)
            )
        any_report = any_report or has_report
        hours = 0
        if study:
            hours = (form.report_hours if has_report else 0) + (
                form.discussion_hours if took_part else 0)
        key = (form.name, int(has_report), int(took_part), 0, 0)
        found = engine._points.get(key)
        if found is None:
            found = engine._points[key] = _review_points(form, has_report, took_part)
        points = found.rounded
        if place_rule(policy, person, learner, False)[0]:
            points = ZERO
        figures[pid] = (pid, True, mine, points, 0, hours)
    mine = counted
    took_part = discussion_ok
    if already is not None:
        mine, left = _left(counted, eff, already.get(learner.id))
        took_part = discussion_ok and (mine is counted or left >= least)
    hours = 0
    if study and learner.id in rated:
        hours = (form.report_hours if any_report else 0) + (
            form.discussion_hours if took_part else 0)
    figures[learner.id] = (learner.id, False, mine, ZERO, 0, hours)
    return [figures[pid] for pid in people]


def _lecture(
    engine: Engine, form: Any, people: dict[str, Person], teacher: Person,
    active: dict[str, tuple[int, int]], replays: dict[str, tuple[int, int]],
    rated: dict[str, int], effective: IntervalSet, eff: int, counted: IntervalSet,
    study: bool,
    already: dict[str, IntervalSet] | None = None,
) -> list[Figures]:
    """engine._lecture, on presence, without words."""
    policy, calendar = engine.policy, engine.calendar
    open_hours = policy.open_hours
    rating_sum = ratings = eligible_minutes = 0
    replay_from = effective[0][0] if effective else None
    one_effective = len(effective) == 1
    e_start, e_end = effective[0] if one_effective else (0, 0)
    t_school = teacher.school_key if policy.same_school_no_points else ""
    t_district = teacher.district_key if policy.same_district_no_points else ""
    out: list[Figures] = []
    t_index = -1
    for lid, learner in people.items():
        if learner is teacher:
            t_index = len(out)
            out.append(("", True, (), ZERO, 0, 0))  # filled in below
            continue
        watched = active.get(lid)
        live = 0
        live_set: IntervalSet = ()
        if watched is not None:
            w_start, w_end = watched
            if one_effective:
                a = w_start if w_start > e_start else e_start
                b = w_end if w_end < e_end else e_end
                if a < b:
                    live_set, live = ((a, b),), (b - a) // US_PER_MINUTE
            elif effective:
                live_set = meet((watched,), effective)
                live = minutes(live_set) if live_set else 0
        replay = replays.get(lid)
        viewing = live
        credited = live_set
        replay_set: IntervalSet = ()
        if replay is not None and replay_from is not None:
            r_set: IntervalSet = (replay,)
            window = calendar.open_intervals(open_hours, replay[0], replay[1])
            replay_set = meet(r_set, window)
            if replay_set and replay_set[0][0] < replay_from:
                replay_set = difference(replay_set, ((replay_set[0][0], replay_from),))
            if replay_set:
                credited = join(live_set, replay_set)
                viewing += minutes(replay_set)
        if already is not None and lid in already:
            # engine._keep, then what is left of the live and replay parts
            rest = difference(credited, already[lid]) if credited else credited
            if rest != credited:
                credited = rest
            live_set, replay_set = meet(credited, live_set), meet(credited, replay_set)
            viewing = minutes(live_set) if live_set else 0
            if replay_set:
                viewing += minutes(replay_set)
        if viewing > eff:
            viewing = eff
        l_study = 0
        rating = rated.get(lid)
        if rating is not None:
            rating_sum += rating
            ratings += 1
            l_study = viewing if study else 0
        if not (
            (t_school != "" and learner.school_key == t_school)
            or (t_district != "" and learner.district_key == t_district)
        ):
            eligible_minutes += viewing
        out.append((lid, False, credited, ZERO, l_study, 0))
    t_set, eff_t = counted, eff
    if already is not None:
        t_set, eff_t = _left(counted, eff, already.get(teacher.id))
    points = ZERO
    if eff_t:  # then eff too: eff_t is at most eff
        points = engine._teacher_points(
            form, eff_t, rating_sum, ratings, eligible_minutes // eff).rounded
    out[t_index] = (teacher.id, True, t_set, points, eff_t if study else 0, 0)
    return out
