"""Credits engine: effective minutes → study hours (学时/学分), points (积分) and pay.

Implements issue 3 on top of the programmes' published rules (seed 001 section
四(四)(五) for teacher training, seed 000 for student tutoring). Every number is a
field of the :class:`~recorder.policy.Policy`; the formulas are here.

Per session (:func:`compute_session`): the effective set E of the form, clipped to
open hours; effective minutes = floor(total seconds / 60) once, on the total; the
form's limits; per-person minutes, study minutes, review study hours and points
(exact fractions, each person's session total rounded half-up to 2 decimals once,
at the end); pay = rounded points × point value.

Per batch (:func:`recorder.statement.compute_statement`): sessions in start order (earliest active
timestamp of anyone, ties by ``session_id``), with the term caps applied in that
order, summed per person per term (points, pay, sessions) and per calendar year
(学时 = floor(minutes / 45) + review hours, 学分 = min(1, floor(学时 / 20))).

Speed (issue 15, item 4): a statement reads millions of sessions, so an
:class:`Engine` per statement remembers what repeats (validated people, teacher points
per distinct input, open hours and terms per date in the calendar); points stay exact
fractions but are worked out once per distinct (minutes, ratings, viewers), not per
session. tests/recorder/test_credits_golden.py pins the figures to the engine's output
from before these changes.

Choices where the issue is silent (what a district administrator would expect):

- ``counted`` is true when the session's effective time met the form's minimum and is
  not zero; for a review it means the discussion reached 45 min (report hours and
  points do not depend on it).
- ``minutes`` per person: instructors and one_to_one learners get the counted minutes;
  lecture learners their viewing minutes; classroom learners their live minutes inside E
  (never more than the counted minutes); everyone in a review the discussion minutes.
- Two extra keys in each person's result: ``study_hours`` (whole 学时 a review grants
  directly) and, on the session, ``term``. Reductions appear in ``breakdown`` as
  negative parts (``same_school_or_district``, ``term_cap``) so the parts add up.
- Breakdown parts are shown rounded to 2 decimals; the total is rounded once from the
  exact sum, so the shown parts can differ from the total by 0.01.
- Feedback is valid when submitted no earlier than the session's start and at most
  7×24 h after its end (so a learner who submits while the instructor is still online
  is not penalised).
- The school/district rule compares the one_to_one learner with the instructor; in a
  lecture it only makes a learner an ineligible viewer (live and performance parts are
  paid); in a review it compares each reviewer with the learner.
- A session belongs to the term holding its start's local date; if none does but some
  effective time falls in a term, that term. A session in no term is grouped under
  ``"(no term)"`` in the statement.
- The session caps count only sessions that would earn points (> 0 after rounding); the
  tutoring cap works on rounded points, so its cut is exact to the fen.
- The 学时 year is the local year of the session's start, as the issue says, also for
  replay minutes watched in a later year.
- In the statement, ``sessions`` counts every session of that term the person took part
  in, paid or not; ``years`` is empty for a programme without study hours (tutoring).
- A review's report hour and report points do not depend on open hours or the term (the
  issue grants them for a submitted report); only the discussion is clipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from recorder.calendar import Calendar
from recorder.intervals import IntervalSet, intersect, prefix, total, union
from recorder.policy import FormPolicy, Policy
from recorder.records import (
    Feedback,
    PeopleMemo,
    Person,
    RecordError,
    SessionRecord,
    parse_record_memo,
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


# --- per session ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Points:
    """A teacher's points of one session, worked out once per distinct input and shared.

    Points depend on a handful of small integers (counted minutes, the sum and number of
    valid ratings, viewers), so a statement of millions of sessions meets only a few
    thousand distinct inputs, and Fraction arithmetic is the costly part of a session.
    """

    parts: tuple[tuple[str, Fraction], ...]  # (name, exact value), in breakdown order
    exact: Fraction  # their exact sum
    rounded: Fraction  # round_half_up(exact): the session total when nothing is taken off
    notes: tuple[str, ...] = ()

    @staticmethod
    def of(parts: list[tuple[str, Fraction]], notes: tuple[str, ...] = ()) -> _Points:
        exact = ZERO
        for _, value in parts:
            exact += value
        return _Points(tuple(parts), exact, round_half_up(exact) if exact else exact, notes)

    def give(self, out: PersonOutcome) -> None:
        out.parts.update(self.parts)
        out.points = self.exact
        out.notes.extend(self.notes)


def _round_total(out: PersonOutcome, points: _Points) -> None:
    """Round the session total once, at the end; unless a rule took the points away."""
    if out.points is points.exact:
        out.points = points.rounded


def _pair_points(form: FormPolicy, eff: int, rating_sum: int, ratings: int) -> _Points:
    """one_to_one and classroom: 6·h + rate(r)·h (see :func:`_pair`)."""
    hours = Fraction(eff, 60)
    rate = form.rating_points_per_hour
    assert rate is not None  # the policy loader guarantees it for these forms
    parts = [("duration", form.duration_points_per_hour * hours)]
    notes: tuple[str, ...] = ()
    if ratings:
        parts.append(("rating", rate.rate(Fraction(rating_sum, ratings)) * hours))
    else:
        parts.append(("rating", rate.without_feedback * hours))
        notes = (
            "no valid feedback: no rating points"
            if not rate.without_feedback
            else f"no valid feedback: rating at {fmt2(rate.without_feedback)} points per hour",
        )
    return _Points.of(parts, notes)


def _lecture_points(
    form: FormPolicy, eff: int, rating_sum: int, ratings: int, viewers: int
) -> _Points:
    """Lecture: 30·h live + perf·h + v·h (see :func:`_lecture`)."""
    hours = Fraction(eff, 60)
    perf = form.performance_points_per_hour
    assert perf is not None  # the policy loader guarantees it for lectures
    parts = [("live", form.live_points_per_hour * hours)]
    notes: list[str] = []
    if ratings:
        parts.append(("performance", perf.rate(Fraction(rating_sum, ratings)) * hours))
    else:
        parts.append(("performance", perf.without_feedback * hours))
        notes.append(
            f"no valid feedback: performance at {fmt2(perf.without_feedback)} points per hour"
        )
    groups = -(-viewers // form.viewers_per_point)  # ceil: 1–10 viewers → 1, 11–20 → 2 …
    if groups > form.viewer_points_per_hour_max:
        notes.append(
            f"{viewers} viewers: viewer points capped at {form.viewer_points_per_hour_max} per hour"
        )
        groups = form.viewer_points_per_hour_max
    parts.append(("viewers", groups * hours))
    return _Points.of(parts, tuple(notes))


def _review_points(form: FormPolicy, report: bool, discussion: bool) -> _Points:
    parts = []
    if report:
        parts.append(("report", form.report_points))
    if discussion:
        parts.append(("discussion", form.discussion_points))
    return _Points.of(parts)


def _feedback_problem(fb: Feedback | None, record: SessionRecord, policy: Policy) -> str | None:
    """Why a learner's feedback is not valid, or ``None`` when it is.

    Seed: "被指导教师参与研修后，需在7天内……提供反馈和评价，包括评分……不少于200字的收获".
    """
    if fb is None:
        return "no feedback"
    start, end = record.start, record.end
    if start is None or end is None:
        return "feedback for a session with no active time"
    if fb.submitted_at < start:
        return "feedback before the session started"
    window = policy.feedback_window_hours
    if fb.submitted_at - end > window * 3_600_000_000:
        span = f"{window // 24} days" if window % 24 == 0 else f"{window} hours"
        return f"feedback after {span}"
    # Code points that are not whitespace: str.split() splits on exactly the characters
    # str.isspace() calls whitespace, so the joined pieces are what counts.
    chars = len("".join(fb.text.split()))
    if chars < policy.feedback_min_chars:
        unit = "character" if chars == 1 else "characters"
        return f"feedback {chars} {unit}, under {policy.feedback_min_chars}"
    return None


def _place_rule(policy: Policy, a: Person, b: Person) -> str | None:
    """ "同校、同区教师之间研修不记录积分": the words of the note, or ``None``."""
    school = policy.same_school_no_points and a.school != "" and a.school == b.school
    district = policy.same_district_no_points and a.district != "" and a.district == b.district
    if school and district:
        return "same school and district"
    if school:
        return "same school"
    if district:
        return "same district"
    return None


def _zero_for_place(person: PersonOutcome, why: str) -> None:
    if person.points:
        person.parts["same_school_or_district"] = -person.points
        person.points = ZERO  # what person.add(…) leaves, without the Fraction sum
    person.notes.append(f"{why}: no points")


class Engine:
    """Evaluates sessions under one policy and calendar, remembering what repeats.

    :func:`evaluate` makes one per call; a :class:`~recorder.statement.StatementBuilder`
    keeps one for the whole statement, so its memos (teacher points per distinct input,
    rounded totals) pay off over millions of sessions. The memos only ever hold results
    of pure functions of their keys, so an outcome never depends on what came before.
    """

    def __init__(self, policy: Policy, calendar: Calendar) -> None:
        self.policy = policy
        self.calendar = calendar
        review = policy.forms.get("review")
        self.max_reviewers = review.max_reviewers if review else 3
        self._points: dict[tuple[str, int, int, int, int], _Points] = {}
        self._people: PeopleMemo = {}

    def evaluate(self, record: object) -> SessionOutcome:
        """Compute one session's figures (no term caps: those need the whole term)."""
        policy, calendar = self.policy, self.calendar
        rec = parse_record_memo(record, self.max_reviewers, self._people)
        check_policy(rec, policy)
        form = policy.forms[rec.form]
        sets = session_sets(rec, policy, calendar)
        start = rec.start
        term = year = None
        if start is not None:
            day = calendar.local_date(start)
            year = day.year
            found = calendar.term_of(day)
            if found is None and sets.effective:
                found = calendar.term_of(calendar.local_date(sets.effective[0][0]))
            term = found.name if found else None

        eff_raw = _minutes(sets.effective)
        eff = _minutes(sets.counted)
        counted = bool(sets.counted)
        shared = _session_notes(rec, form, sets, eff_raw, eff, counted)
        people = {p.id: PersonOutcome(p.role, notes=list(shared)) for p in rec.people}

        if rec.form == "review":
            self._review(rec, form, people, eff, counted)
        elif rec.form == "lecture":
            self._lecture(rec, form, sets, people, eff)
        else:
            self._pair(rec, form, sets, people, eff)
        return SessionOutcome(
            rec, start, term, year, eff, counted, sets, people, policy.point_value_cny
        )

    def _valid_feedback(self, rec: SessionRecord) -> Callable[[Feedback], bool]:
        """A quick yes for feedback that :func:`_feedback_problem` finds nothing wrong with
        (the usual case); a no sends the caller to it for the words of the note."""
        start, end = rec.start, rec.end
        if start is None or end is None:
            return lambda fb: False
        latest = end + self.policy.feedback_window_hours * 3_600_000_000
        min_chars = self.policy.feedback_min_chars

        def valid(fb: Feedback) -> bool:
            return (
                start <= fb.submitted_at <= latest
                and len("".join(fb.text.split())) >= min_chars
            )

        return valid

    def _teacher_points(
        self, form: FormPolicy, eff: int, rating_sum: int, ratings: int, viewers: int = 0
    ) -> _Points:
        key = (form.name, eff, rating_sum, ratings, viewers)
        found = self._points.get(key)
        if found is None:
            if form.name == "lecture":
                found = _lecture_points(form, eff, rating_sum, ratings, viewers)
            else:
                found = _pair_points(form, eff, rating_sum, ratings)
            self._points[key] = found
        return found

    def _pair(
        self,
        rec: SessionRecord,
        form: FormPolicy,
        sets: SessionSets,
        people: dict[str, PersonOutcome],
        eff: int,
    ) -> None:
        """one_to_one (both programmes) and classroom: 6·h + rate(r)·h.

        Seed: "研修时长按照每小时可获得6个积分记录，学员评价后根据满意度和质量等综合因素付给指导教师
        6-10个积分"; a classroom uses the mean of the valid ratings.
        """
        policy = self.policy
        teacher = rec.instructors[0]
        t_out = people[teacher.id]
        study = policy.study is not None
        t_out.minutes = eff
        t_out.study_minutes = eff if study else 0
        rating_sum = ratings = 0
        valid = self._valid_feedback(rec)
        for learner in rec.learners:
            out = people[learner.id]
            if rec.form == "one_to_one":
                out.minutes = eff
            else:
                live = _minutes(_meet(rec.active.get(learner.id, ()), sets.effective))
                out.minutes = min(live, eff)
            fb = rec.feedback.get(learner.id)
            if fb is not None and valid(fb):
                rating_sum += fb.rating
                ratings += 1
                out.study_minutes = out.minutes if study and rec.form == "one_to_one" else 0
            else:
                _learner_feedback(rec, policy, learner, out)  # notes why not
        if eff == 0:
            return
        points = self._teacher_points(form, eff, rating_sum, ratings)
        points.give(t_out)
        if rec.form == "one_to_one":
            why = _place_rule(policy, teacher, rec.learners[0])
            if why:
                _zero_for_place(t_out, why)
        _round_total(t_out, points)

    def _lecture(
        self,
        rec: SessionRecord,
        form: FormPolicy,
        sets: SessionSets,
        people: dict[str, PersonOutcome],
        eff: int,
    ) -> None:
        """Lecture: 30·h live + perf·h + v·h.

        Seed: "直播时长按照每小时30个积分记录；研修绩效……每小时可获得11-15个积分；完成观看（观看
        直播或录像均可）学员10人以内每小时1个积分，每增加10人增加1个积分，上限为15积分（完成观看学员
        人数按照所有学员的有效观看累计总时长除以讲堂有效时长计算）".
        """
        policy, calendar = self.policy, self.calendar
        teacher = rec.instructors[0]
        t_out = people[teacher.id]
        study = policy.study is not None
        t_out.minutes = eff
        t_out.study_minutes = eff if study else 0
        rating_sum = ratings = 0
        eligible_minutes = 0
        ineligible = 0
        # Loop invariants hoisted: a lecture has up to a few hundred learners.
        effective = sets.effective
        active, replays, feedback = rec.active, rec.replay, rec.feedback
        valid = self._valid_feedback(rec)
        t_school = teacher.school if policy.same_school_no_points and teacher.school else None
        t_district = (
            teacher.district if policy.same_district_no_points and teacher.district else None
        )
        for learner in rec.learners:
            lid = learner.id
            out = people[lid]
            present = active.get(lid)
            live = _minutes(_meet(present, effective)) if present else 0
            replay = replays.get(lid)
            replay_min = 0
            if replay:
                window = calendar.open_intervals(policy.open_hours, replay[0][0], replay[-1][1])
                replay_min = _minutes(_meet(replay, window))
                replay_all = _minutes(replay)
                if replay_all > replay_min:
                    out.notes.append(f"replay outside open hours: {replay_all - replay_min} min")
            viewing = live + replay_min
            if viewing > eff:
                if eff:
                    out.notes.append(
                        f"viewing above the lecture's {eff} counted min: "
                        f"{viewing - eff} min not counted"
                    )
                viewing = eff
            out.minutes = viewing
            fb = feedback.get(lid)
            if fb is not None and valid(fb):
                rating_sum += fb.rating
                ratings += 1
                out.study_minutes = viewing if study else 0
            else:
                _learner_feedback(rec, policy, learner, out)  # notes why not
            if (t_school is not None and learner.school == t_school) or (
                t_district is not None and learner.district == t_district
            ):
                ineligible += 1  # _place_rule, inlined
            else:
                eligible_minutes += viewing
        if eff == 0:
            return
        points = self._teacher_points(form, eff, rating_sum, ratings, eligible_minutes // eff)
        points.give(t_out)
        _round_total(t_out, points)
        if ineligible:
            t_out.notes.append(
                f"same school or district: {ineligible} learner(s) not counted as viewers"
            )

    def _review(
        self,
        rec: SessionRecord,
        form: FormPolicy,
        people: dict[str, PersonOutcome],
        eff: int,
        discussion_ok: bool,
    ) -> None:
        """Open lesson review: per reviewer report + discussion; learner's hours.

        Seed: "一次开放式检课60个积分，出具检课报告和互动研讨各30个积分"; "一次活动双方均记录2学时，
        其中检课报告记1学时、互动研讨计1学时"; "一次互动研讨不足45分钟则不计入绩效".
        """
        policy = self.policy
        learner = rec.learners[0]
        study = policy.study is not None
        any_report = False
        for reviewer in rec.instructors:
            out = people[reviewer.id]
            out.minutes = eff
            has_report = reviewer.id in rec.reports
            any_report = any_report or has_report
            if has_report:
                out.study_hours += form.report_hours if study else 0
            else:
                out.notes.append("no report submitted: no report hour or points")
            if discussion_ok:
                out.study_hours += form.discussion_hours if study else 0
            key = (form.name, int(has_report), int(discussion_ok), 0, 0)
            points = self._points.get(key)
            if points is None:
                points = self._points[key] = _review_points(form, has_report, discussion_ok)
            out.parts.update(points.parts)
            out.points = points.exact
            why = _place_rule(policy, reviewer, learner)
            if why:
                _zero_for_place(out, why)
            _round_total(out, points)
        l_out = people[learner.id]
        l_out.minutes = eff
        if _learner_feedback(rec, policy, learner, l_out) is not None and study:
            if any_report:
                l_out.study_hours += form.report_hours
            else:
                l_out.notes.append("no reviewer submitted a report: no report hour")
            if discussion_ok:
                l_out.study_hours += form.discussion_hours


def evaluate(record: object, policy: Policy, calendar: Calendar) -> SessionOutcome:
    """Compute one session's figures (no term caps: those need the whole term)."""
    return Engine(policy, calendar).evaluate(record)


def check_policy(rec: SessionRecord, policy: Policy) -> None:
    """The record must belong to the policy's programme and use one of its forms."""
    if rec.programme != policy.programme:
        raise RecordError(
            "programme", f"the record is {rec.programme!r} but the policy is {policy.programme!r}"
        )
    if rec.form not in policy.forms:
        raise RecordError("form", f"{rec.form!r} is not a form of the {policy.programme} policy")
    review = policy.forms.get("review")
    if rec.form == "review" and review and len(rec.instructors) > review.max_reviewers:
        raise RecordError(
            "people",
            f"a review has at most {review.max_reviewers} reviewers (got {len(rec.instructors)})",
        )


def _session_notes(
    rec: SessionRecord, form: FormPolicy, sets: SessionSets, eff_raw: int, eff: int, counted: bool
) -> list[str]:
    """Session-wide reductions, in plain words, for everyone's notes."""
    notes: list[str] = []
    if rec.start is None:
        return ["no active time recorded: not counted"]
    raw_minutes = _minutes(sets.raw)
    if rec.form in ("one_to_one", "review"):
        apart = _union_minutes(rec) - raw_minutes
        if apart > 0:
            who = (
                "instructor and learner not both present"
                if rec.form == "one_to_one"
                else "learner and all reviewers not all present"
            )
            notes.append(f"{who}: {apart} min")
    outside = raw_minutes - eff_raw
    if outside > 0:
        notes.append(f"outside open hours: {outside} min")
    lim = form.limits
    if not counted:
        if rec.form == "review":
            notes.append(
                f"discussion below minimum {lim.min_minutes} min: no discussion hours or points"
            )
        elif lim.min_minutes is not None:
            notes.append(f"below minimum {lim.min_minutes} min: not counted")
        else:
            notes.append("no effective time: not counted")
    elif eff < eff_raw:
        notes.append(f"above maximum {lim.max_minutes} min: {eff_raw - eff} min not counted")
    return notes


def _union_minutes(rec: SessionRecord) -> int:
    """Minutes anyone of the session was present (overlaps once)."""
    sets = [rec.active.get(p.id, ()) for p in rec.people]
    if len(sets) == 2 and len(sets[0]) == 1 and len(sets[1]) == 1:
        # Two single intervals (a typical one_to_one): their hull if they meet.
        (a_start, a_end), (b_start, b_end) = sets[0][0], sets[1][0]
        if a_start <= b_end and b_start <= a_end:
            return (max(a_end, b_end) - min(a_start, b_start)) // US_PER_MINUTE
        return (a_end - a_start + b_end - b_start) // US_PER_MINUTE  # floor once, on the total
    return minutes_of(union(*sets))


def _learner_feedback(
    rec: SessionRecord, policy: Policy, learner: Person, out: PersonOutcome
) -> Feedback | None:
    """The learner's feedback if valid; otherwise note why (and what it costs)."""
    fb = rec.feedback.get(learner.id)
    problem = _feedback_problem(fb, rec, policy)
    if problem is None:
        return fb
    cost = "no study hours" if policy.study else "not valid"
    out.notes.append(f"{problem}: {cost}")
    return None


def compute_session(record: object, policy: Policy, calendar: Calendar) -> dict[str, Any]:
    """One session's result as a plain JSON-serialisable dict (term caps not applied).

    ``record`` is a decoded JSON object (validated here) or a parsed
    :class:`~recorder.records.SessionRecord`. Raises :class:`RecordError` on bad input.
    """
    return evaluate(record, policy, calendar).to_json()
