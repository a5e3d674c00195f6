"""The per-session rules at speed: an :class:`Engine` per statement (or per session)
remembers what repeats (validated people, points per distinct input) and computes each
session's minutes, study hours and points with their reasons. The rules themselves are
described in :mod:`recorder.credits.rules`. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import gcd

from recorder.credits.calendar import Calendar
from recorder.credits.checks import (
    learner_feedback,
    place_rule,
    report_problem,
)
from recorder.credits.evidence_rules import join
from recorder.credits.intervals import IntervalSet, difference, union
from recorder.credits.outcomes import (
    NO_NOTES,
    NO_PARTS,
    US_PER_MINUTE,
    ZERO,
    PersonOutcome,
    SessionOutcome,
    SessionSets,
    _meet,
    _minutes,
    fmt2,
    minutes_of,
    round_half_up,
    session_sets,
)
from recorder.credits.policy import FormPolicy, Policy
from recorder.credits.records import (
    PRESENCE,
    PeopleMemo,
    RecordError,
    SessionRecord,
    parse_record_memo,
)
from recorder.credits.texts import US_PER_HOUR, text_counts

NO_EVIDENCE = "no media evidence in the record: computed from presence"
# Earlier sessions' time, per person (the statement's one place at a time rule).
Already = Mapping[str, IntervalSet]

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
        if self.notes:
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


def _keep(
    out: PersonOutcome, candidate: IntervalSet, already: Already | None, pid: str
) -> IntervalSet:
    """The part of ``candidate`` not already credited to ``pid`` by an earlier session
    (the statement's one place at a time rule), noted; it becomes ``out.credited``."""
    taken = already.get(pid) if already is not None else None
    if taken and candidate:
        rest = difference(candidate, taken)
        if rest != candidate:
            lost = _minutes(candidate) - _minutes(rest)
            out.notes.append(f"already credited by an earlier session at the same time: {lost} min")
            candidate = rest
    out.credited = candidate
    return candidate


def _zero_for_place(person: PersonOutcome, why: str) -> None:
    if person.points:
        person.parts["same_school_or_district"] = -person.points
        person.points = ZERO  # what person.add(…) leaves, without the Fraction sum
    person.notes.append(f"{why}: no points")


class Engine:
    """Evaluates sessions under one policy and calendar, remembering what repeats.

    :func:`evaluate` makes one per call; a :class:`~recorder.credits.statement.StatementBuilder`
    keeps one for the whole statement, so its memos (teacher points per distinct input,
    rounded totals) pay off over millions of sessions. The memos only ever hold results
    of pure functions of their keys, so an outcome never depends on what came before.
    """

    def __init__(self, policy: Policy, calendar: Calendar, *, notes: bool = True) -> None:
        self.policy = policy
        self.calendar = calendar
        # False: every figure the same, no words (a statement's outcomes; NO_NOTES).
        self.notes = notes
        review = policy.forms.get("review")
        self.max_reviewers = review.max_reviewers if review else 3
        self._points: dict[tuple[str, int, int, int, int], _Points] = {}
        self._people: PeopleMemo = {}

    def evaluate(self, record: object, already: Already | None = None) -> SessionOutcome:
        """Compute one session's figures (no term caps: those need the whole term).

        ``already`` maps people to the wall-clock time earlier sessions credited them
        (the statement's one place at a time rule): that part of this session is removed
        from their minutes, points and study hours, and ``credited`` says what is left.
        """
        rec = parse_record_memo(record, self.max_reviewers, self._people)
        check_policy(rec, self.policy)
        return self._evaluate(rec, session_sets(rec, self.policy, self.calendar), already)

    def again(self, outcome: SessionOutcome, already: Already) -> SessionOutcome:
        """:meth:`evaluate` of ``outcome``'s session once more, with ``already``: its
        record and sets as they were (they do not depend on what was credited before)."""
        return self._evaluate(outcome.record, outcome.sets, already)

    def _evaluate(
        self, rec: SessionRecord, sets: SessionSets, already: Already | None
    ) -> SessionOutcome:
        policy, calendar = self.policy, self.calendar
        form = policy.forms[rec.form]
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
        # Positional arguments: this makes an outcome for every person of every session.
        if self.notes:
            shared = _session_notes(rec, form, sets, eff_raw, eff, counted)
            people = {
                p.id: PersonOutcome(
                    p.role, 0, 0, 0, ZERO, NO_PARTS if p.role == "learner" else {}, list(shared)
                )
                for p in rec.people
            }
        else:
            people = {
                p.id: PersonOutcome(
                    p.role, 0, 0, 0, ZERO, NO_PARTS if p.role == "learner" else {}, NO_NOTES
                )
                for p in rec.people
            }
        if already is not None and not already:
            already = None

        if rec.form == "review":
            self._review(rec, form, sets, people, eff, counted, already)
        elif rec.form == "lecture":
            self._lecture(rec, form, sets, people, eff, already)
        else:
            self._pair(rec, form, sets, people, eff, already)
        return SessionOutcome(
            rec, start, term, year, eff, counted, sets, people, policy.point_value_cny
        )

    def _feedback_window(self, rec: SessionRecord) -> tuple[int, int]:
        """(first, last) µs a feedback may be submitted at; with its text passing
        text_counts that is a quick yes for feedback checks.feedback_problem finds nothing
        wrong with (the usual case); a no sends the caller to it for the words of the note.
        The callers test it inline: a closure per session was an allocation and a frame
        per feedback."""
        # checks.anchors and texts.window_end_us, inlined (once per session of millions).
        start, end = rec.start, rec.end
        if start is None or end is None:
            return 1, 0  # an empty window: no feedback is valid
        if rec.started is not None:
            start = rec.started
        latest = (rec.ended if rec.ended is not None else end) + (
            self.policy.feedback_window_hours * US_PER_HOUR
        )
        return start, latest

    def _teacher_points(
        self, form: FormPolicy, eff: int, rating_sum: int, ratings: int, viewers: int = 0
    ) -> _Points:
        # Points depend on the mean rating, not on how many ratings make it, and on the
        # viewers' groups of ten (their number only past the cap, for its note): so the
        # key is the mean in lowest terms and the groups, and a lecture's distinct inputs,
        # each worked out in fractions, are fewer than half as many.
        if ratings > 1:  # a one_to_one's single rating is in lowest terms already
            common = gcd(rating_sum, ratings)
            if common > 1:
                rating_sum //= common
                ratings //= common
        seen = viewers
        if viewers and form.name == "lecture":
            groups = -(-viewers // form.viewers_per_point)
            seen = groups if groups <= form.viewer_points_per_hour_max else -viewers
        key = (form.name, eff, rating_sum, ratings, seen)
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
        already: Already | None,
    ) -> None:
        """one_to_one (both programmes) and classroom: 6·h + rate(r)·h.

        Seed: "研修时长按照每小时可获得6个积分记录，学员评价后根据满意度和质量等综合因素付给指导教师
        6-10个积分"; a classroom uses the mean of the valid ratings.
        """
        policy = self.policy
        teacher = rec.instructors[0]
        t_out = people[teacher.id]
        study = policy.study is not None
        counted_set = sets.counted
        if already is None:  # _keep's usual case, inlined
            t_out.credited = t_set = counted_set
        else:
            t_set = _keep(t_out, counted_set, already, teacher.id)
        eff_t = eff if t_set is counted_set else _minutes(t_set)
        t_out.minutes = eff_t
        t_out.study_minutes = eff_t if study else 0
        rating_sum = ratings = 0
        first, latest = self._feedback_window(rec)
        min_chars, min_distinct = policy.feedback_min_chars, policy.feedback_min_distinct
        one_to_one = rec.form == "one_to_one"
        effective, watching = sets.effective, sets.watching
        for learner in rec.learners:
            out = people[learner.id]
            if one_to_one:
                if already is None:
                    out.credited = mine = counted_set
                else:
                    mine = _keep(out, counted_set, already, learner.id)
                out.minutes = eff if mine is counted_set else _minutes(mine)
            else:  # classroom: their receiving time inside E, never above the counted minutes
                watched = watching.get(learner.id)
                mine = _keep(out, _meet(watched, effective) if watched else (), already, learner.id)
                live = _minutes(mine)
                out.minutes = live if live < eff else eff
            fb = rec.feedback.get(learner.id)
            if (
                fb is not None and first <= fb.submitted_at <= latest
                and text_counts(fb.text, min_chars, min_distinct)
            ):
                rating_sum += fb.rating
                ratings += 1
                out.study_minutes = out.minutes if study and one_to_one else 0
            elif self.notes:
                learner_feedback(rec, policy, learner, out)  # notes why not
        if eff_t == 0:
            return
        points = self._teacher_points(form, eff_t, rating_sum, ratings)
        points.give(t_out)
        if one_to_one:
            why, named = place_rule(policy, teacher, rec.learners[0], self.notes)
            if named:
                t_out.notes.append(named)
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
        already: Already | None,
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
        counted_set = sets.counted
        if already is None:  # _keep's usual case, inlined
            t_out.credited = t_set = counted_set
        else:
            t_set = _keep(t_out, counted_set, already, teacher.id)
        eff_t = eff if t_set is counted_set else _minutes(t_set)
        t_out.minutes = eff_t
        t_out.study_minutes = eff_t if study else 0
        rating_sum = ratings = 0
        eligible_minutes = 0
        ineligible = by_name = 0
        # Loop invariants hoisted: a lecture has up to a few hundred learners.
        effective, watching = sets.effective, sets.watching
        # A replay is of the lecture, so it counts from the lecture's effective start (and
        # not at all when the lecture had no effective time: its viewing is 0 anyway).
        replay_from = effective[0][0] if effective else None
        one_effective = len(effective) == 1
        e_start, e_end = effective[0] if one_effective else (0, 0)
        replays, feedback = rec.replay, rec.feedback
        first, latest = self._feedback_window(rec)
        min_chars, min_distinct = policy.feedback_min_chars, policy.feedback_min_distinct
        # _place_rule, inlined with the teacher's keys hoisted (places.same_key).
        t_school = teacher.school_key if policy.same_school_no_points else ""
        t_district = teacher.district_key if policy.same_district_no_points else ""
        t_school_named, t_district_named = teacher.school_by_name, teacher.district_by_name
        words = self.notes
        for learner in rec.learners:
            lid = learner.id
            out = people[lid]
            watched = watching.get(lid)
            live = -1  # the minutes of live_set, when worked out here
            live_set: IntervalSet = ()
            if watched and one_effective and len(watched) == 1:
                # _meet and _minutes of two single intervals, inlined (most learners).
                (w_start, w_end), = watched
                start = w_start if w_start > e_start else e_start
                end = w_end if w_end < e_end else e_end
                if start < end:
                    live_set, live = ((start, end),), (end - start) // US_PER_MINUTE
            elif watched:
                live_set = _meet(watched, effective)
            replay = replays.get(lid)
            replay_set: IntervalSet = ()
            if replay and replay_from is not None:
                window = calendar.open_intervals(policy.open_hours, replay[0][0], replay[-1][1])
                replay_set = _meet(replay, window)
                outside = _minutes(replay) - _minutes(replay_set)
                if outside > 0:
                    out.notes.append(f"replay outside open hours: {outside} min")
                if replay_set and replay_set[0][0] < replay_from:
                    replay_set = difference(replay_set, ((replay_set[0][0], replay_from),))
            if already is not None and lid in already:
                both = _keep(out, join(live_set, replay_set), already, lid)
                live_set, replay_set = _meet(both, live_set), _meet(both, replay_set)
                live = -1
            elif replay_set:
                out.credited = join(live_set, replay_set)
            else:
                out.credited = live_set
            if live < 0:
                live = _minutes(live_set) if live_set else 0
            viewing = live
            if replay_set:
                viewing += _minutes(replay_set)
            if viewing > eff:
                if eff:
                    out.notes.append(
                        f"viewing above the lecture's {eff} counted min: "
                        f"{viewing - eff} min not counted"
                    )
                viewing = eff
            out.minutes = viewing
            fb = feedback.get(lid)
            if (
                fb is not None and first <= fb.submitted_at <= latest
                and text_counts(fb.text, min_chars, min_distinct)
            ):
                rating_sum += fb.rating
                ratings += 1
                out.study_minutes = viewing if study else 0
            elif words:
                learner_feedback(rec, policy, learner, out)  # notes why not
            school = t_school != "" and learner.school_key == t_school
            district = t_district != "" and learner.district_key == t_district
            if words and (
                (t_school and learner.school_key and (t_school_named or learner.school_by_name))
                or (
                    t_district and learner.district_key
                    and (t_district_named or learner.district_by_name)
                )
            ):
                by_name += 1
            if school or district:
                ineligible += 1
            else:
                eligible_minutes += viewing
        if by_name:
            t_out.notes.append(
                f"compared by name (no codes): school or district of {by_name} learner(s)"
            )
        if eff_t == 0:
            return
        points = self._teacher_points(form, eff_t, rating_sum, ratings, eligible_minutes // eff)
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
        sets: SessionSets,
        people: dict[str, PersonOutcome],
        eff: int,
        discussion_ok: bool,
        already: Already | None,
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
            took_part = self._discussion(out, sets, eff, discussion_ok, already, reviewer.id)
            problem = report_problem(rec, sets, reviewer.id, policy)
            has_report = problem is None
            any_report = any_report or has_report
            if has_report:
                out.study_hours += form.report_hours if study else 0
            else:
                out.notes.append(f"{problem}: no report hour or points")
            if took_part:
                out.study_hours += form.discussion_hours if study else 0
            key = (form.name, int(has_report), int(took_part), 0, 0)
            points = self._points.get(key)
            if points is None:
                points = self._points[key] = _review_points(form, has_report, took_part)
            out.parts.update(points.parts)
            out.points = points.exact
            why, named = place_rule(policy, reviewer, learner, self.notes)
            if named:
                out.notes.append(named)
            if why:
                _zero_for_place(out, why)
            _round_total(out, points)
        l_out = people[learner.id]
        took_part = self._discussion(l_out, sets, eff, discussion_ok, already, learner.id)
        if learner_feedback(rec, policy, learner, l_out) is not None and study:
            if any_report:
                l_out.study_hours += form.report_hours
            else:
                l_out.notes.append(
                    "no reviewer submitted a report: no report hour" if not rec.reports
                    else "no report counted: no report hour"
                )
            if took_part:
                l_out.study_hours += form.discussion_hours

    def _discussion(
        self,
        out: PersonOutcome,
        sets: SessionSets,
        eff: int,
        discussion_ok: bool,
        already: Already | None,
        pid: str,
    ) -> bool:
        """A person's discussion minutes; whether the discussion counts for them. Its
        points and hour are not proportional to time, so with time already credited
        elsewhere removed it must still reach the form's minimum."""
        mine = _keep(out, sets.counted, already, pid)
        if mine is sets.counted:
            out.minutes = eff
            return discussion_ok
        out.minutes = _minutes(mine)
        least = self.policy.forms["review"].limits.min_minutes or 0
        if discussion_ok and out.minutes < least:
            out.notes.append(
                f"discussion below minimum {least} min once time already credited is removed: "
                "no discussion hours or points"
            )
            return False
        return discussion_ok


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
    notes: list[str] = [NO_EVIDENCE] if rec.basis == PRESENCE else []
    if rec.start is None:
        notes.append("no active time recorded: not counted")
        return notes
    raw_minutes = _minutes(sets.raw)
    if rec.form in ("one_to_one", "review"):
        apart = _union_minutes(rec) - _minutes(sets.present)
        if apart > 0:
            who = (
                "instructor and learner not both present"
                if rec.form == "one_to_one"
                else "learner and all reviewers not all present"
            )
            notes.append(f"{who}: {apart} min")
    for reason, lost in sets.removed:  # the evidence rules (recorder.credits.evidence_rules)
        if lost > 0:
            notes.append(f"{reason}: {lost} min")
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
