"""Statements: per-person totals per term (points, pay) and per year (学时, 学分).

Sessions are taken in order of effective start (ties by ``session_id``) so that the
term caps apply to the right ones ("指导教师每学期3类研修服务形态各可开设不超过2次": at most
2 paid sessions per form per term, training; the tutoring plan's 5,000 points per term)
and so that a person is in one place at a time (issue 9, item 3): the part of a
session's time already credited to a person by an earlier session is removed before
their minutes, points, study hours and caps are worked out, and the statement lists
every overlap removed. Pure: no I/O.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.fastlane import Quick, figures_again, quick
from recorder.credits.intervals import IntervalSet, intersect, normalize, total
from recorder.credits.policy import Policy
from recorder.credits.records import (
    SessionRecord,
    validate_all,
)
from recorder.credits.rules import (
    FORM_WORDS,
    NO_TERM,
    ZERO,
    Engine,
    SessionOutcome,
    check_policy,
    fmt2,
    ordinal,
)

OrderKey = tuple[bool, int, str]
# What earlier sessions credited a person and a later one can still meet: (the time,
# its session_id) per session, the times disjoint.
Credited = tuple[tuple[IntervalSet, str], ...]


def order_key(record: SessionRecord) -> OrderKey:
    """The order sessions are *added* in: by record start (earliest active timestamp of
    anyone; ties by session_id). :class:`StatementBuilder` computes them in
    :func:`effective_key` order, which never comes before this one."""
    start = record.start
    return (start is None, start if start is not None else 0, record.session_id)


def effective_key(outcome: SessionOutcome) -> OrderKey:
    """The order sessions are *computed* in: "in order of effective start (ties by
    session_id)"; a session without effective time at its record start. Never before
    :func:`order_key` of its record (effective time is inside someone's presence)."""
    start = outcome.order_start
    return (start is None, start if start is not None else 0, outcome.record.session_id)


def _fmt_cents(cents: int) -> str:
    """:func:`fmt2` of ``cents / 100``, without building a fraction."""
    if not cents:
        return "0.00"  # most people of a statement: learners earn no points
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def _bump(table: dict[str, dict[Any, int]], pid: str, key: Any, amount: int) -> None:
    inner = table.get(pid)
    if inner is None:
        table[pid] = {key: amount}
    else:
        inner[key] = inner.get(key, 0) + amount


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the statement is written out: that makes
    five dicts per person (half a million for a city), all of them kept, and the
    collector would walk everything alive several hundred times meanwhile to free
    nothing (over half of :meth:`StatementBuilder.result`'s time). Reference counting
    still frees what is dropped; the collector's state is restored after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Person:
    """One person's running figures in a statement, and the time earlier sessions
    credited them that a later session can still meet.

    Usually that is one session's time, and usually one interval of it: kept as its
    two ends and the session's id, ints and a string the garbage collector never
    tracks, rather than the set itself (a tuple per person kept alive for the rest of
    the statement, which made the collector's passes a fifth more frequent). A set of
    several intervals is kept in ``ivs``; several sessions' times in ``more``.
    """

    __slots__ = (
        "end", "ivs", "minutes", "more", "more_terms", "more_years", "sessions", "sid",
        "start", "term", "year",
    )

    def __init__(self) -> None:
        # Sessions per term (None: no term) and study minutes per year (when the policy
        # has 学时). Nearly everyone of a statement has one term and one year: those are
        # kept in place (``sessions`` 0: no term yet; ``year`` 0: no year yet), a dict only
        # from the second, so that a person is one object, not three, for the garbage
        # collector to walk and for the hot loop to fetch from memory.
        self.term: str | None = None
        self.sessions = 0
        self.more_terms: dict[str | None, int] | None = None
        self.year = 0
        self.minutes = 0
        self.more_years: dict[int, int] | None = None
        self.start = self.end = 0  # the one interval credited (end 0: none)
        self.ivs: IntervalSet | None = None  # or the set, when it has several
        self.sid = ""
        self.more: Credited | None = None

    @property
    def terms(self) -> dict[str | None, int]:
        """Sessions per term, in the order first met."""
        if self.more_terms is not None:
            return self.more_terms
        return {self.term: self.sessions} if self.sessions else {}

    @property
    def years(self) -> dict[int, int]:
        """Study minutes per year, in the order first met."""
        if self.more_years is not None:
            return self.more_years
        return {self.year: self.minutes} if self.year else {}

    def keep(self, mine: IntervalSet, sid: str) -> None:
        """What one session credited, replacing what was kept (a non-empty set)."""
        if len(mine) == 1:
            (self.start, self.end), = mine
            self.ivs = None
        else:
            self.start, self.end, self.ivs = mine[0][0], mine[-1][1], mine
        self.sid = sid

    def earlier(self) -> Credited:
        if self.more is not None:
            return self.more
        if not self.end:
            return ()
        ivs = self.ivs if self.ivs is not None else ((self.start, self.end),)
        return ((ivs, self.sid),)

    def remember(self, mine: IntervalSet, since: int, sid: str, earlier: Credited) -> None:
        """Add ``mine`` to what earlier sessions credited, keeping what ends after
        ``since`` (sessions computed later start no earlier)."""
        kept = [(ivs, other) for ivs, other in earlier if ivs[-1][1] > since]
        if mine:
            kept.append((mine, sid))
        if len(kept) > 1:
            self.more = tuple(kept)
            return
        self.more = None
        if kept:
            self.keep(*kept[0])
        else:
            self.start = self.end = 0
            self.ivs = None
            self.sid = ""


class StatementBuilder:
    """Applies the term caps in session order and sums per person. Memory grows with
    people and terms, not sessions, so a stream of millions of sessions fits.

    Seed (training): "指导教师每学期3类研修服务形态各可开设不超过2次"; (tutoring):
    "每学期绩效的积分上限为5000分".
    """

    def __init__(self, policy: Policy, calendar: Calendar, *, notes: bool = False) -> None:
        self.policy = policy
        self.calendar = calendar
        # A statement shows figures, not words: its outcomes carry no notes unless asked
        # (``notes=True``, as :func:`compute_sessions` does for audits).
        self._engine = Engine(policy, calendar, notes=notes)
        # The fast lane (feed) gives figures only: never for a builder asked for notes.
        self._fast = not notes
        self._last: OrderKey | None = None
        # Sessions evaluated but not yet computed: one whose effective time starts later
        # than a session added after it waits for it (a heap by effective_key).
        self._waiting: list[tuple[OrderKey, SessionOutcome | Quick]] = []
        self._overlaps: list[dict[str, Any]] = []
        self._marks: dict[str, list[dict[str, str]]] = {}
        self._form_counts: dict[tuple[str, str | None, str], int] = {}
        # Per person: what they did (sessions per term, study minutes per year) and what
        # earlier sessions credited them (one place at a time): one object, so that the
        # hot loop makes one look-up per person in a dict of 100,000 people, not seven.
        self._people: dict[str, _Person] = {}
        # Points and study hours, for the people who earn some (instructors): plain ints
        # in dicts of ints, which the garbage collector never tracks. Rounded session
        # points are whole hundredths, so points add up as integer cents; a finer
        # remainder (a cap that is not whole cents) goes, exact, to _extra.
        self._cents: dict[str, dict[str | None, int]] = {}
        self._extra: dict[tuple[str, str | None], Fraction] = {}
        self._study_hours: dict[str, dict[int, int]] = {}

    def add(self, record: object) -> list[SessionOutcome]:
        """Evaluate the next session (added in :func:`order_key` order) and compute every
        session whose turn has come, in :func:`effective_key` order: the one place at a
        time rule, the caps, the sums. Returns those sessions' final outcomes (often just
        this one; none while it waits for an earlier effective start)."""
        outcome = self._engine.evaluate(record)
        rec = outcome.record
        start = rec.start
        # order_key and effective_key, inlined (once per session of millions).
        key = (start is None, start if start is not None else 0, rec.session_id)
        if self._last is not None and key <= self._last:
            raise ValueError(f"session {rec.session_id!r} is out of order: add sessions by start")
        self._last = key
        waiting = self._waiting
        effective = outcome.sets.effective
        if not waiting and (not effective or effective[0][0] == start):
            return [self._compute(outcome)]  # the usual case: its turn is now
        mine = effective_key(outcome)
        heapq.heappush(waiting, (mine, outcome))
        # Every session added later has an effective key after ``key``.
        done = []
        while waiting and waiting[0][0] <= key:
            found = self._compute_any(heapq.heappop(waiting)[1])
            if found is not None:
                done.append(found)
        return done

    def feed(self, record: object) -> None:
        """:meth:`add` for a statement only: the same figures, no outcomes returned.

        A plain record (see :mod:`recorder.credits.fastlane`) takes the fast lane: its
        figures straight from the decoded JSON, none of the objects :meth:`add` returns;
        any other goes through :meth:`add`. (Sessions fed this way are not among what a
        later :meth:`add` or :meth:`finish` returns.)"""
        item = quick(self._engine, record, self._last) if self._fast else None
        if item is None:
            self.add(record)
            return
        start = item.start
        key = (False, start, item.session_id)
        self._last = key
        waiting = self._waiting
        if not waiting and item.order_start == start:
            self._compute_quick(item)  # the usual case: its turn is now
            return
        heapq.heappush(waiting, ((False, item.order_start, item.session_id), item))
        while waiting and waiting[0][0] <= key:
            self._compute_any(heapq.heappop(waiting)[1])

    def finish(self) -> list[SessionOutcome]:
        """Compute the sessions still waiting (no more will be added before them)."""
        done = []
        while self._waiting:
            found = self._compute_any(heapq.heappop(self._waiting)[1])
            if found is not None:
                done.append(found)
        return done

    def _compute_any(self, item: SessionOutcome | Quick) -> SessionOutcome | None:
        if type(item) is Quick:
            self._compute_quick(item)
            return None
        assert isinstance(item, SessionOutcome)
        return self._compute(item)

    def _compute_quick(self, item: Quick) -> None:
        """:meth:`_compute` of a session from the fast lane. One place at a time as
        :meth:`_one_place` applies it: when someone's time meets what an earlier session
        credited them (15 % of the sessions of a 2,000,000-session term), the fast lane
        works the session's figures out again with that time taken off
        (:func:`~recorder.credits.fastlane.figures_again`) before anything is changed."""
        since = item.order_start
        everyone = self._people
        people = item.people
        states = []
        already: dict[str, IntervalSet] | None = None  # made on the first overlap (rare)
        met: list[tuple[str, IntervalSet, Credited]] = []
        for fig in people:
            state = everyone.get(fig[0])
            if state is None:
                state = everyone[fig[0]] = _Person()  # as _one_place makes it
            elif fig[2] and (state.more is not None or state.end > since):
                # Earlier time still in play: whether it meets this session's, as
                # _one_place decides it (nothing changed yet).
                mine = fig[2]
                # One earlier interval (often a replay watched the next day, in play for
                # every session of that day): the comparison _one_place makes.
                if (state.more is None and state.ivs is None
                        and not _meets_one(mine, state.start, state.end)):
                    states.append(state)
                    continue
                first = mine[0][0]
                earlier = state.earlier()
                before = tuple(iv for ivs, _ in earlier for iv in ivs if iv[1] > first)
                if before and intersect(before, mine):
                    if already is None:
                        already = {}
                    already[fig[0]] = normalize(before)
                    met.append((fig[0], mine, earlier))
            states.append(state)
        if already:
            for pid, mine, earlier in met:
                self._list_overlaps(pid, item.session_id, mine, earlier)
            people = figures_again(item, already)
        sid, term, year = item.session_id, item.term, item.year
        policy = self.policy
        by_year = policy.study is not None
        per_form = policy.sessions_per_form_per_term
        cap = policy.points_per_term
        form = item.record["form"]
        for (pid, instructor, mine, points, study_minutes, study_hours), state in zip(
            people, states, strict=True
        ):
            if already and pid in already:
                state.remember(mine, since, sid, state.earlier())
            elif not mine:
                pass
            elif state.more is None and state.end <= since:  # _Person.keep, inlined
                if len(mine) == 1:
                    (state.start, state.end), = mine
                    state.ivs = None
                else:
                    state.start, state.end, state.ivs = mine[0][0], mine[-1][1], mine
                state.sid = sid
            elif state.more is None and state.ivs is None and state.end:
                # one earlier interval that does not meet this session (see above)
                state.more = ((((state.start, state.end),), state.sid), (mine, sid))
            else:
                state.remember(mine, since, sid, state.earlier())
            terms = state.more_terms
            if terms is not None:
                terms[term] = terms.get(term, 0) + 1
            elif state.term == term and state.sessions:
                state.sessions += 1
            elif not state.sessions:
                state.term, state.sessions = term, 1
            else:  # a second term
                state.more_terms = {state.term: state.sessions, term: 1}
            if instructor and points.numerator > 0:
                # _apply_caps, for this person (instructors only earn points)
                if per_form is not None:
                    count_key = (pid, term, form)
                    count = self._form_counts.get(count_key, 0) + 1
                    self._form_counts[count_key] = count
                    if count > per_form:
                        points = ZERO
                if points and cap is not None:
                    remaining = max(cap - self._points(pid, term), ZERO)
                    if points > remaining:
                        points = remaining
                if points.numerator:
                    self._add_points(pid, term, points)
            if by_year:
                years = state.more_years
                if years is not None:
                    years[year] = years.get(year, 0) + study_minutes
                elif state.year == year:
                    state.minutes += study_minutes
                elif not state.year:
                    state.year, state.minutes = year, study_minutes
                else:  # a second year
                    state.more_years = {state.year: state.minutes, year: study_minutes}
                if study_hours:
                    _bump(self._study_hours, pid, year, study_hours)

    def _compute(self, outcome: SessionOutcome) -> SessionOutcome:
        outcome, states = self._one_place(outcome)
        self._apply_caps(outcome)
        rec = outcome.record
        marks = rec.marks
        if marks:
            self._marks[rec.session_id] = [m.to_json(lid) for lid, m in marks.items()]
        term, year = outcome.term, outcome.year
        by_year = self.policy.study is not None and year is not None
        # once per person of every session; states are in the order of outcome.people
        for (pid, person), state in zip(outcome.people.items(), states, strict=True):
            terms = state.more_terms
            if terms is not None:
                terms[term] = terms.get(term, 0) + 1
            elif state.term == term and state.sessions:
                state.sessions += 1
            elif not state.sessions:
                state.term, state.sessions = term, 1
            else:  # a second term
                state.more_terms = {state.term: state.sessions, term: 1}
            points = person.points
            if points.numerator:
                self._add_points(pid, term, points)
            if by_year and year is not None:
                years = state.more_years
                if years is not None:
                    years[year] = years.get(year, 0) + person.study_minutes
                elif state.year == year:
                    state.minutes += person.study_minutes
                elif not state.year:
                    state.year, state.minutes = year, person.study_minutes
                else:  # a second year
                    state.more_years = {state.year: state.minutes, year: person.study_minutes}
                if person.study_hours:
                    _bump(self._study_hours, pid, year, person.study_hours)
        return outcome

    def _one_place(self, outcome: SessionOutcome) -> tuple[SessionOutcome, list[_Person]]:
        """Issue 9, item 3: for each person, remove from this session what an earlier
        session (in effective_key order) already credited them. Sessions computed later
        start no earlier than ``since``, so time credited before it can never meet them
        again and is forgotten; what this session credits each person is remembered for
        their later ones. Returns the (final) outcome and each person's running state, in
        the order of its people, so that :meth:`_compute` looks nobody up again."""
        since = outcome.order_start or 0
        everyone = self._people
        sid = outcome.record.session_id
        already: dict[str, IntervalSet] | None = None  # made on the first overlap (rare)
        states = []
        for pid, person in outcome.people.items():
            state = everyone.get(pid)
            if state is None:
                state = everyone[pid] = _Person()
            states.append(state)
            mine = person.credited
            if not mine:
                continue
            if state.more is None and state.end <= since:
                # The usual case: nothing earlier can meet this session. _Person.keep,
                # inlined (once per person of nearly every session).
                if len(mine) == 1:
                    (state.start, state.end), = mine
                    state.ivs = None
                else:
                    state.start, state.end, state.ivs = mine[0][0], mine[-1][1], mine
                state.sid = sid
                continue
            if state.more is None and state.ivs is None and state.end:
                # One earlier interval still in play (often a replay watched the next day):
                # whether this session meets it, without building sets to intersect.
                s0, e0 = state.start, state.end
                if not _meets_one(mine, s0, e0):  # remember(), its result for this case
                    state.more = ((((s0, e0),), state.sid), (mine, sid))
                    continue
            earlier = state.earlier()
            first = mine[0][0]
            before = tuple(iv for ivs, _ in earlier for iv in ivs if iv[1] > first)
            if before and intersect(before, mine):
                if already is None:
                    already = {}
                already[pid] = normalize(before)
                self._list_overlaps(pid, sid, mine, earlier)
                continue  # remembered once the session is computed without it
            state.remember(mine, since, sid, earlier)
        if already:
            outcome = self._engine.again(outcome, already)
            for pid in already:
                state = everyone[pid]
                state.remember(outcome.people[pid].credited, since, sid, state.earlier())
        return outcome, states

    def _list_overlaps(
        self, pid: str, session_id: str, mine: IntervalSet, earlier: Credited
    ) -> None:
        for ivs, other in earlier:
            lost = total(intersect(mine, ivs))
            if lost:
                self._overlaps.append({
                    "person": pid, "session_id": session_id, "earlier_session_id": other,
                    "minutes": lost // 60_000_000, "seconds": lost // 1_000_000,
                })

    def _add_points(self, pid: str, term: str | None, points: Fraction) -> None:
        den = points.denominator
        if 100 % den == 0:
            _bump(self._cents, pid, term, points.numerator * (100 // den))
        else:
            self._extra[pid, term] = self._extra.get((pid, term), ZERO) + points

    def _points(self, pid: str, term: str | None) -> Fraction:
        """The exact points of a person's term so far."""
        cents = self._cents.get(pid, {}).get(term, 0)
        return Fraction(cents, 100) + self._extra.get((pid, term), ZERO)

    def _apply_caps(self, outcome: SessionOutcome) -> None:
        policy = self.policy
        form = outcome.record.form
        for instructor in outcome.record.instructors:  # only instructors earn points
            pid = instructor.id
            person = outcome.people[pid]
            if person.points.numerator <= 0:
                continue
            per_form = policy.sessions_per_form_per_term
            if per_form is not None:
                key = (pid, outcome.term, form)
                count = self._form_counts.get(key, 0) + 1
                self._form_counts[key] = count
                if count > per_form:
                    person.add("term_cap", -person.points)
                    person.notes.append(
                        f"{ordinal(count)} {FORM_WORDS.get(form, form)} this term: no points"
                    )
                    continue
            cap = policy.points_per_term
            if cap is not None:
                used = self._points(pid, outcome.term)
                remaining = max(cap - used, ZERO)
                if person.points > remaining:
                    cut = person.points - remaining
                    person.add("term_cap", -cut)
                    person.notes.append(
                        f"term cap {fmt2(cap)} points reached: no points"
                        if remaining == 0
                        else f"term cap {fmt2(cap)} points: {fmt2(cut)} points over the cap "
                        "not paid"
                    )

    def result(self) -> dict[str, Any]:
        """The statement: people → id → terms → name → points, pay_cny, sessions;
        years → year → study_hours, credits. ``overlaps``: every part of a session removed
        from a person because an earlier session credited that time (person, session_id,
        earlier_session_id, minutes, seconds). ``marks``: session_id → the teacher's marks
        of the sessions that have them (display only)."""
        self.finish()
        with _collector_paused():
            return self._result()

    def _result(self) -> dict[str, Any]:
        policy = self.policy
        order = {t.name: i for i, t in enumerate(self.calendar.terms)}
        people: dict[str, Any] = {}
        value = policy.point_value_cny
        everyone = self._people
        for pid in sorted(everyone):
            state = everyone[pid]
            terms = state.terms
            cents = self._cents.get(pid, {})
            names = (
                list(terms)
                if len(terms) == 1
                else sorted(terms, key=lambda n: (n is None, order.get(n or "", 0)))
            )
            entry: dict[str, Any] = {"terms": {}, "years": {}}
            for name in names:
                if (pid, name) in self._extra or value.denominator != 1:
                    exact = self._points(pid, name)
                    points, pay = fmt2(exact), fmt2(exact * value)
                else:  # the common case: whole cents and a whole-yuan point value
                    points = _fmt_cents(cents.get(name, 0))
                    pay = _fmt_cents(cents.get(name, 0) * value.numerator)
                entry["terms"][name if name is not None else NO_TERM] = {
                    "points": points, "pay_cny": pay, "sessions": terms[name]
                }
            study = policy.study
            if study is not None:
                extra_hours = self._study_hours.get(pid, {})
                for year, minutes in sorted(state.years.items()):
                    hours = minutes // study.minutes_per_hour + extra_hours.get(year, 0)
                    credits = min(study.max_credits_per_year, hours // study.hours_per_credit)
                    entry["years"][str(year)] = {"study_hours": hours, "credits": credits}
            people[pid] = entry
        return {"people": people, "overlaps": list(self._overlaps), "marks": dict(self._marks)}


def validate_batch(numbered: Iterable[tuple[int, object]], policy: Policy) -> list[SessionRecord]:
    """Validate ``(line number, record)`` pairs against the policy, all before computing
    anything, and return them in start order. The first bad one raises, naming its line."""
    review = policy.forms.get("review")
    parsed = validate_all(
        numbered,
        max_reviewers=review.max_reviewers if review else 3,
        check=lambda rec: check_policy(rec, policy),
    )
    return sorted(parsed, key=order_key)


def compute_sessions(
    records: Iterable[object], policy: Policy, calendar: Calendar
) -> Iterator[SessionOutcome]:
    """Every session of a batch as the statement computes it: in effective start order,
    one place at a time and the term caps applied (for audits).

    The whole batch is validated before the first outcome is produced.
    """
    ordered = validate_batch(enumerate(records, start=1), policy)
    builder = StatementBuilder(policy, calendar, notes=True)
    for rec in ordered:
        yield from builder.add(rec)
    yield from builder.finish()


def compute_statement(
    records: Iterable[object], policy: Policy, calendar: Calendar
) -> dict[str, Any]:
    """Per-person totals per term and per year for a batch of session records.

    Records are decoded JSON objects or parsed records, in any order. The whole batch is
    validated first; a bad record raises :class:`RecordError` and nothing is computed.
    """
    builder = StatementBuilder(policy, calendar)
    for rec in validate_batch(enumerate(records, start=1), policy):
        builder.feed(rec)
    return builder.result()


def _meets_one(mine: IntervalSet, start: int, end: int) -> bool:
    """Whether any of ``mine`` overlaps the one earlier interval ``[start, end)`` (the
    common case of one place at a time: no sets built to intersect)."""
    if len(mine) == 1:
        (a, b), = mine
        return a < end and start < b
    return any(a < end and start < b for a, b in mine)
