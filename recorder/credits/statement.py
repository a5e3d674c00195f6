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

import heapq
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Any

from recorder.credits.calendar import Calendar
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


class StatementBuilder:
    """Applies the term caps in session order and sums per person. Memory grows with
    people and terms, not sessions, so a stream of millions of sessions fits.

    Seed (training): "指导教师每学期3类研修服务形态各可开设不超过2次"; (tutoring):
    "每学期绩效的积分上限为5000分".
    """

    def __init__(self, policy: Policy, calendar: Calendar) -> None:
        self.policy = policy
        self.calendar = calendar
        self._engine = Engine(policy, calendar)
        self._last: OrderKey | None = None
        # Sessions evaluated but not yet computed: one whose effective time starts later
        # than a session added after it waits for it (a heap by effective_key).
        self._waiting: list[tuple[OrderKey, SessionOutcome]] = []
        # One place at a time: per person, the time earlier sessions credited them that a
        # later session can still meet, and its latest end (the quick "no overlap"). Usually
        # that is one session's time: kept as the set and its session_id, in two dicts, so
        # that a session adds no object per person (the garbage collector's full passes
        # walk every object kept); several sessions' times go to _credited_more.
        self._credited: dict[str, IntervalSet] = {}
        self._credited_sid: dict[str, str] = {}
        self._credited_more: dict[str, Credited] = {}
        self._credited_end: dict[str, int] = {}
        self._overlaps: list[dict[str, Any]] = []
        self._marks: dict[str, list[dict[str, str]]] = {}
        self._form_counts: dict[tuple[str, str | None, str], int] = {}
        # The running totals: person id → term (None: no term) or year → a plain int.
        # Dicts holding only strings, None and ints are never tracked by the cyclic
        # garbage collector, so 100,000 people's totals add nothing to its full passes
        # (with an object per person and term, those passes cost as much as the sums).
        # Rounded session points are whole hundredths, so points add up as integer
        # cents; a finer remainder (a cap that is not whole cents) goes, exact, to _extra.
        self._sessions: dict[str, dict[str | None, int]] = {}  # whose terms are listed
        self._cents: dict[str, dict[str | None, int]] = {}
        self._extra: dict[tuple[str, str | None], Fraction] = {}
        self._study_minutes: dict[str, dict[int, int]] = {}  # whose years are listed
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
            done.append(self._compute(heapq.heappop(waiting)[1]))
        return done

    def finish(self) -> list[SessionOutcome]:
        """Compute the sessions still waiting (no more will be added before them)."""
        done = []
        while self._waiting:
            done.append(self._compute(heapq.heappop(self._waiting)[1]))
        return done

    def _compute(self, outcome: SessionOutcome) -> SessionOutcome:
        outcome = self._one_place(outcome)
        self._apply_caps(outcome)
        marks = outcome.record.marks
        if marks:
            self._marks[outcome.record.session_id] = [m.to_json(lid) for lid, m in marks.items()]
        term, year = outcome.term, outcome.year
        by_year = self.policy.study is not None and year is not None
        sessions, study_minutes = self._sessions, self._study_minutes
        for pid, person in outcome.people.items():
            # _bump(sessions, pid, term, 1) and _bump(study_minutes, …), inlined: this loop
            # runs once per person of every session.
            per_term = sessions.get(pid)
            if per_term is None:
                sessions[pid] = {term: 1}
            else:
                per_term[term] = per_term.get(term, 0) + 1
            points = person.points
            if points.numerator:
                self._add_points(pid, term, points)
            if by_year and year is not None:
                per_year = study_minutes.get(pid)
                if per_year is None:
                    study_minutes[pid] = {year: person.study_minutes}
                else:
                    per_year[year] = per_year.get(year, 0) + person.study_minutes
                if person.study_hours:
                    _bump(self._study_hours, pid, year, person.study_hours)
        return outcome

    def _one_place(self, outcome: SessionOutcome) -> SessionOutcome:
        """Issue 9, item 3: for each person, remove from this session what an earlier
        session (in effective_key order) already credited them, then remember what this
        one credits. Sessions computed later start no earlier than ``since``, so time
        credited before it can never meet them again and is forgotten."""
        since = outcome.order_start or 0
        credited, sids, more, ends = (
            self._credited, self._credited_sid, self._credited_more, self._credited_end
        )
        sid = outcome.record.session_id
        already: dict[str, IntervalSet] = {}
        for pid, person in outcome.people.items():
            mine = person.credited
            if not mine:
                continue
            last = ends.get(pid)
            if last is None or last <= since:  # the usual case: nothing earlier matters
                credited[pid] = mine
                sids[pid] = sid
                ends[pid] = mine[-1][1]
                if more and pid in more:
                    del more[pid]
                continue
            earlier = self._earlier(pid)
            first = mine[0][0]
            if last > first:
                before = tuple(iv for ivs, _ in earlier for iv in ivs if iv[1] > first)
                if intersect(before, mine):
                    already[pid] = normalize(before)
                    self._list_overlaps(pid, sid, mine, earlier)
                    continue  # remembered once the session is computed without it
            self._remember(pid, mine, since, sid)
        if already:
            outcome = self._engine.evaluate(outcome.record, already)
            for pid in already:
                self._remember(pid, outcome.people[pid].credited, since, sid)
        return outcome

    def _earlier(self, pid: str) -> Credited:
        found = self._credited_more.get(pid)
        if found is not None:
            return found
        return ((self._credited[pid], self._credited_sid[pid]),)

    def _remember(self, pid: str, mine: IntervalSet, since: int, sid: str) -> None:
        """Add ``mine`` to what ``pid`` was credited, keeping what ends after ``since``."""
        kept = [(ivs, other) for ivs, other in self._earlier(pid) if ivs[-1][1] > since]
        if mine:
            kept.append((mine, sid))
        self._credited_end[pid] = max((ivs[-1][1] for ivs, _ in kept), default=since)
        if len(kept) == 1:
            self._credited[pid], self._credited_sid[pid] = kept[0]
            self._credited_more.pop(pid, None)
        else:
            self._credited_more[pid] = tuple(kept)  # several, or none (nothing to meet)

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
        policy = self.policy
        order = {t.name: i for i, t in enumerate(self.calendar.terms)}
        people: dict[str, Any] = {}
        value = policy.point_value_cny
        for pid in sorted(self._sessions):
            terms = self._sessions[pid]
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
                for year, minutes in sorted(self._study_minutes.get(pid, {}).items()):
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
    builder = StatementBuilder(policy, calendar)
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
        builder.add(rec)
    return builder.result()
