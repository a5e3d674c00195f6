"""A person's term statement: each session of the term and the totals, from the session
records ``GET /people/{id}/statement`` reads and the same statement computation
(:class:`recorder.credits.statement.StatementBuilder`), so every figure here is the one
the JSON statement gives. Pure: no I/O.

Choices where the issue is silent:

- *Which sessions*: the term's ended sessions the person took part in, every programme,
  in the order the statement computes them (effective start).
- *Points and pay* of the term are the JSON statement's ``terms[term]`` figures (caps
  applied); each session line shows its points after the caps, so the lines add up.
- *学时 and 学分 of a term*: the plan counts them per year (四（四）1 "每年上限为1学分";
  the statement's ``years``), and a term can span two years. A term is credited what its
  sessions add to each year: the year's hours (and credits) through the term minus
  before it. The terms of a year then add up to the year's figures, the floor to whole
  学时 and the yearly credit cap included. A session line shows its own study hours to
  two decimals (minutes / 45, plus a review's hours) for reading; the total is whole
  学时, floored on the sum as the rule says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.policy import Policy, StudyPolicy
from recorder.credits.rules import SessionOutcome, fmt2
from recorder.credits.statement import StatementBuilder, validate_batch

# The names the web client shows (web/i18n/zh-CN.json), then English.
FORMS = {
    "one_to_one": "一对一辅导 one-to-one",
    "lecture": "名师直播讲堂 lecture",
    "classroom": "一对多互动课堂 classroom",
    "review": "开放式检课 review",
}
PROGRAMMES = {"training": "教师研修 training", "tutoring": "学生辅导 tutoring"}


@dataclass(frozen=True, slots=True)
class Holder:
    """Whom a statement is about, as their latest session states them."""

    person: str
    name: str
    school: str = ""
    district: str = ""
    school_id: str = ""
    district_code: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    session_id: str
    programme: str
    date: str  # the local date of the session's start, YYYY-MM-DD
    form: str
    title: str
    minutes: int  # the person's effective minutes (after one place at a time)
    study_hours: str  # "" for a programme without 学时
    points: str
    pay_cny: str
    notes: tuple[str, ...]  # why minutes or points did not count, in words


@dataclass(frozen=True, slots=True)
class Totals:
    programme: str
    sessions: int
    minutes: int
    study_hours: int | None  # None: the programme has no 学时 (tutoring)
    credits: int | None
    points: str
    pay_cny: str


@dataclass(frozen=True, slots=True)
class TermStatement:
    holder: Holder
    term: str
    lines: tuple[Line, ...]
    totals: tuple[Totals, ...]  # one per programme, in name order

    @property
    def study_hours(self) -> int:
        return sum(t.study_hours or 0 for t in self.totals)

    @property
    def credits(self) -> int:
        return sum(t.credits or 0 for t in self.totals)

    @property
    def certifiable(self) -> bool:
        """Whether the term has a session of a programme with 学时 (the certificate's
        subject: tutoring pays points and records no study hours)."""
        return any(t.study_hours is not None for t in self.totals)


def holder_of(person: str, records: Sequence[Mapping[str, Any]]) -> Holder | None:
    """The person as the latest of ``records`` (by scheduled start) states them; their
    place decides who may see them (``Scope.sees_person``). None: in no record."""
    latest: Mapping[str, Any] | None = None
    when = ""
    for record in records:
        for row in record.get("people", ()):
            if row.get("id") == person and str(record.get("scheduled_start", "")) >= when:
                latest, when = row, str(record.get("scheduled_start", ""))
    if latest is None:
        return None
    # The codes as given, no code worked out from a name: the same place access.py's
    # scoped_session reads from a session's people, so a viewer sees a person where they
    # see the person's sessions.
    return Holder(person, str(latest.get("name", "")), str(latest.get("school", "")),
                  str(latest.get("district", "")), str(latest.get("school_id", "")),
                  str(latest.get("district_code", "")))


def term_statement(
    person: str,
    term: str,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    policies: Mapping[str, Policy],
    calendar: Calendar,
) -> TermStatement:
    """``records``: programme → the person's ended sessions' records; ``policies``: each
    programme's policy. Raises :class:`recorder.credits.records.RecordError` for a bad
    record, as the JSON statement does."""
    everyone = [r for rs in records.values() for r in rs]
    holder = holder_of(person, everyone) or Holder(person, "")
    lines: list[Line] = []
    totals: list[Totals] = []
    for programme in sorted(records):
        policy = policies[programme]
        builder = StatementBuilder(policy, calendar, notes=True)  # notes: the lines say why
        outcomes: list[SessionOutcome] = []
        for rec in validate_batch(enumerate(records[programme], start=1), policy):
            outcomes.extend(builder.add(rec))
        outcomes.extend(builder.finish())
        result = builder.result()
        raw = {str(r.get("session_id")): r for r in records[programme]}
        mine = [o for o in outcomes if o.term == term and person in o.people]
        if not mine:
            continue
        for o in mine:
            lines.append(_line(person, o, raw.get(o.record.session_id, {}), policy, calendar))
        figures = result["people"].get(person, {}).get("terms", {}).get(term, {})
        hours, credits = (None, None) if policy.study is None else _term_study(
            person, term, outcomes, policy.study)
        totals.append(Totals(
            programme, len(mine), sum(o.people[person].minutes for o in mine), hours, credits,
            str(figures.get("points", "0.00")), str(figures.get("pay_cny", "0.00")),
        ))
    return TermStatement(holder, term, tuple(lines), tuple(totals))


def _line(person: str, o: SessionOutcome, raw: Mapping[str, Any], policy: Policy,
          calendar: Calendar) -> Line:
    p = o.people[person]
    day = (calendar.local_date(o.start).isoformat() if o.start is not None
           else str(raw.get("scheduled_start", ""))[:10])
    hours = "" if policy.study is None else fmt2(
        Fraction(p.study_minutes, policy.study.minutes_per_hour) + p.study_hours)
    return Line(o.record.session_id, o.record.programme, day, o.record.form,
                str(raw.get("title", "")), p.minutes, hours, fmt2(p.points),
                fmt2(p.points * o.point_value), tuple(p.notes))


def _term_study(person: str, term: str, outcomes: Sequence[SessionOutcome],
                study: StudyPolicy) -> tuple[int, int]:
    """What the term adds to each year's 学时 and 学分 (see the module's docstring)."""

    def hours(of: Sequence[SessionOutcome]) -> int:
        minutes = sum(o.people[person].study_minutes for o in of)
        return minutes // study.minutes_per_hour + sum(o.people[person].study_hours for o in of)

    def credits(h: int) -> int:
        return min(study.max_credits_per_year, h // study.hours_per_credit)

    theirs = [o for o in outcomes if person in o.people and o.year is not None]
    added_hours = added_credits = 0
    for year in sorted({o.year for o in theirs if o.term == term}, key=lambda y: y or 0):
        of_year = [o for o in theirs if o.year == year]
        first = min(i for i, o in enumerate(of_year) if o.term == term)
        before = [o for i, o in enumerate(of_year) if i < first and o.term != term]
        through = before + [o for o in of_year if o.term == term]
        added_hours += hours(through) - hours(before)
        added_credits += credits(hours(through)) - credits(hours(before))
    return added_hours, added_credits
