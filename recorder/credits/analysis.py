"""The tutoring analysis report (学科辅导分析报告, issue 16): what students ask about.

Seed 000/002: the programme "feeds tutoring data back to districts and schools to
improve teaching and homework design". Input is what a tutoring teacher marks for each
learner of a session (subject, knowledge point, problem; docs/record.md) and the facts
of the sessions those marks belong to; output is, for one term of the calendar:

- totals: sessions, sessions with at least one mark, students, teachers, marks;
- per subject: marks, share, students, and its knowledge points (marks, share of the
  subject, distinct students), most asked first;
- per week of the term, per subject: marks (weeks start on Monday; week 1 holds the
  term's first day);
- per learner district and per learner school: sessions, students, marks per subject.

Choices:

- **Whose place counts: the learner's.** A district or school office uses the report
  for its own students' homework design, so a mark belongs to the learner's district
  and school (the teacher may be anywhere in the city). The store applies the viewer's
  scope the same way (:meth:`signaling.store.base.SessionStore.analysis_rows`).
- **No grade.** A person in a session has no grade (年级) in the session spec
  (``signaling.session.spec.Person``), so the report has none rather than a guessed one
  (``grade_recorded: false`` in the output, for a reader who looks for it).
- **Knowledge points and subjects are one text however typed**: NFKC (full-width letters,
  digits, brackets and the ideographic space become half-width), trimmed, inner runs of
  white space as one space, case folded; "一元二次方程 " and "一元二次方程" count as one.
  The label shown is the form written most often (ties: the smallest text, so the
  report is the same on every run).
- A session counts on the local date it started (or was scheduled to); facts outside
  the term, or of another programme, are left out here too (the caller reads a date
  range, this holds regardless).

Pure: no I/O, standard library and :mod:`recorder.credits.calendar` only.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from recorder.credits.calendar import Term

TUTORING = "tutoring"
DEFAULT_TOP = 10  # knowledge points per subject in the JSON report (the CSV has all)
_SPACES = re.compile(r"\s+")


class WorkingDays(Protocol):
    """What the report asks of a calendar (a fake one in tests)."""

    def is_working_day(self, day: date) -> bool: ...


@dataclass(frozen=True, slots=True)
class LearnerFact:
    """One learner of one tutoring session, with the teacher's mark of them if any.

    ``subject``/``knowledge_point``/``problem`` are ``None`` when the learner is not
    marked. ``teacher`` is the session's instructor (a tutoring session has one)."""

    session_id: str
    day: date
    programme: str
    form: str
    teacher: str
    teacher_district_code: str
    teacher_school_id: str
    learner: str
    learner_district_code: str
    learner_district: str
    learner_school_id: str
    learner_school: str
    subject: str | None = None
    knowledge_point: str | None = None
    problem: str | None = None


def normal(text: str) -> str:
    """The key two spellings of one subject or knowledge point share."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _display(text: str) -> str:
    """The form shown: width and spaces made uniform, case kept."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class Week:
    number: int  # 1-based within the term
    start: date  # its Monday (may be before the term's first day)
    working_days: int  # the term's working days in it: 0 for a holiday week

    def wire(self) -> dict[str, Any]:
        return {"week": self.number, "start": self.start.isoformat(),
                "working_days": self.working_days}


def term_weeks(term: Term, calendar: WorkingDays) -> tuple[Week, ...]:
    weeks: list[Week] = []
    monday = week_start(term.start)
    number = 1
    while monday <= term.end:
        days = (monday + timedelta(days=i) for i in range(7))
        working = sum(1 for d in days if term.contains(d) and calendar.is_working_day(d))
        weeks.append(Week(number, monday, working))
        monday += timedelta(days=7)
        number += 1
    return tuple(weeks)


@dataclass(slots=True)
class _Labels:
    """The spellings seen of one key, to show the most written one."""

    seen: Counter[str] = field(default_factory=Counter)

    def add(self, text: str) -> None:
        self.seen[_display(text)] += 1

    def best(self) -> str:
        return min(self.seen.items(), key=lambda kv: (-kv[1], kv[0]))[0]


@dataclass(frozen=True, slots=True)
class KnowledgePoint:
    label: str
    marks: int
    share: float  # of the subject's marks, 0..1
    students: int
    weekly: tuple[int, ...]

    def wire(self) -> dict[str, Any]:
        return {"knowledge_point": self.label, "marks": self.marks,
                "share": round(self.share, 4), "students": self.students,
                "weekly": list(self.weekly)}


@dataclass(frozen=True, slots=True)
class Subject:
    label: str
    marks: int
    share: float  # of all marks, 0..1
    students: int
    sessions: int
    weekly: tuple[int, ...]
    knowledge_points: tuple[KnowledgePoint, ...]  # every one, most marks first

    def wire(self, top: int | None) -> dict[str, Any]:
        points = self.knowledge_points if top is None else self.knowledge_points[:top]
        return {"subject": self.label, "marks": self.marks, "share": round(self.share, 4),
                "students": self.students, "sessions": self.sessions,
                "weekly": list(self.weekly),
                "knowledge_point_count": len(self.knowledge_points),
                "knowledge_points": [k.wire() for k in points]}


@dataclass(frozen=True, slots=True)
class Place:
    """A learner district or school: what happened for its students."""

    code: str  # district_code or school_id ('' when the session did not say)
    name: str
    district_code: str
    sessions: int
    marked_sessions: int
    students: int
    marks: int
    subjects: tuple[tuple[str, int], ...]  # (subject label, marks), most first

    def wire(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {f"{kind}_code" if kind == "district" else "school_id": self.code,
                               kind: self.name, "sessions": self.sessions,
                               "marked_sessions": self.marked_sessions,
                               "students": self.students, "marks": self.marks,
                               "subjects": [{"subject": s, "marks": n} for s, n in self.subjects]}
        if kind == "school":
            out["district_code"] = self.district_code
        return out


@dataclass(frozen=True, slots=True)
class Totals:
    sessions: int
    marked_sessions: int
    students: int
    teachers: int
    marks: int
    forms: tuple[tuple[str, int], ...]  # sessions per form

    def wire(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "marked_sessions": self.marked_sessions,
                "students": self.students, "teachers": self.teachers, "marks": self.marks,
                "forms": dict(self.forms)}


@dataclass(frozen=True, slots=True)
class Analysis:
    term: Term
    weeks: tuple[Week, ...]
    totals: Totals
    subjects: tuple[Subject, ...]
    districts: tuple[Place, ...]
    schools: tuple[Place, ...]
    subject_filter: str | None = None

    def wire(self, top: int | None = DEFAULT_TOP) -> dict[str, Any]:
        return {
            "term": {"name": self.term.name, "start": self.term.start.isoformat(),
                     "end": self.term.end.isoformat()},
            "subject": self.subject_filter,
            "grade_recorded": False,  # see the module's docstring: the spec has no grade
            "weeks": [w.wire() for w in self.weeks],
            "totals": self.totals.wire(),
            "subjects": [s.wire(top) for s in self.subjects],
            "districts": [d.wire("district") for d in self.districts],
            "schools": [s.wire("school") for s in self.schools],
        }


def _week_index(day: date, first_monday: date) -> int:
    return (week_start(day) - first_monday).days // 7


def _ranked(counter: Counter[str], labels: dict[str, _Labels]) -> list[tuple[str, int]]:
    return sorted(((k, n) for k, n in counter.items()),
                  key=lambda kn: (-kn[1], labels[kn[0]].best()))


def analyse(facts: Iterable[LearnerFact], term: Term, calendar: WorkingDays, *,
            subject: str | None = None) -> Analysis:
    """The report of ``term`` from ``facts`` (one per learner per session; any order).

    With ``subject``, marks of other subjects are left out of every figure but the
    session, student and teacher totals (those say how much tutoring there was)."""
    weeks = term_weeks(term, calendar)
    first_monday = weeks[0].start if weeks else week_start(term.start)
    n_weeks = len(weeks)
    wanted = normal(subject) if subject is not None else None

    sessions: set[str] = set()
    marked_sessions: set[str] = set()
    students: set[str] = set()
    teachers: set[str] = set()
    forms: dict[str, set[str]] = defaultdict(set)
    subject_labels: dict[str, _Labels] = defaultdict(_Labels)
    point_labels: dict[tuple[str, str], _Labels] = defaultdict(_Labels)
    subject_marks: Counter[str] = Counter()
    subject_students: dict[str, set[str]] = defaultdict(set)
    subject_sessions: dict[str, set[str]] = defaultdict(set)
    subject_weekly: dict[str, list[int]] = defaultdict(lambda: [0] * n_weeks)
    point_marks: dict[str, Counter[str]] = defaultdict(Counter)
    point_students: dict[tuple[str, str], set[str]] = defaultdict(set)
    point_weekly: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * n_weeks)
    places: dict[str, dict[str, _PlaceAcc]] = {"district": {}, "school": {}}

    for fact in facts:
        if fact.programme != TUTORING or not term.contains(fact.day):
            continue
        sessions.add(fact.session_id)
        students.add(fact.learner)
        if fact.teacher:
            teachers.add(fact.teacher)
        forms[fact.form].add(fact.session_id)
        accs = (
            _place(places["district"], fact.learner_district_code, fact.learner_district,
                   fact.learner_district_code),
            _place(places["school"], fact.learner_school_id, fact.learner_school,
                   fact.learner_district_code),
        )
        for acc in accs:
            acc.sessions.add(fact.session_id)
            acc.students.add(fact.learner)
        if fact.subject is None or fact.knowledge_point is None:
            continue
        key = normal(fact.subject)
        if wanted is not None and key != wanted:
            continue
        point = normal(fact.knowledge_point)
        week = _week_index(fact.day, first_monday)
        marked_sessions.add(fact.session_id)
        subject_labels[key].add(fact.subject)
        point_labels[(key, point)].add(fact.knowledge_point)
        subject_marks[key] += 1
        subject_students[key].add(fact.learner)
        subject_sessions[key].add(fact.session_id)
        point_marks[key][point] += 1
        point_students[(key, point)].add(fact.learner)
        if 0 <= week < n_weeks:
            subject_weekly[key][week] += 1
            point_weekly[(key, point)][week] += 1
        for acc in accs:
            acc.marked.add(fact.session_id)
            acc.subjects[key] += 1

    total_marks = sum(subject_marks.values())
    subjects: list[Subject] = []
    for key, count in _ranked(subject_marks, subject_labels):
        point_labels_of = {p: point_labels[(key, p)] for p in point_marks[key]}
        points = tuple(
            KnowledgePoint(point_labels[(key, p)].best(), n, n / count,
                           len(point_students[(key, p)]), tuple(point_weekly[(key, p)]))
            for p, n in _ranked(point_marks[key], point_labels_of)
        )
        subjects.append(Subject(subject_labels[key].best(), count, count / total_marks,
                                len(subject_students[key]), len(subject_sessions[key]),
                                tuple(subject_weekly[key]), points))

    def done(kind: str) -> tuple[Place, ...]:
        out = [acc.place(code, subject_labels) for code, acc in places[kind].items()]
        return tuple(sorted(out, key=lambda p: (-p.marks, -p.sessions, p.code)))

    totals = Totals(len(sessions), len(marked_sessions), len(students), len(teachers),
                    total_marks, tuple(sorted((f, len(s)) for f, s in forms.items())))
    return Analysis(term, weeks, totals, tuple(subjects), done("district"), done("school"),
                    subject_labels[wanted].best() if wanted in subject_labels else subject)


@dataclass(slots=True)
class _PlaceAcc:
    name: _Labels
    district_code: str
    sessions: set[str] = field(default_factory=set)
    marked: set[str] = field(default_factory=set)
    students: set[str] = field(default_factory=set)
    subjects: Counter[str] = field(default_factory=Counter)

    def place(self, code: str, labels: dict[str, _Labels]) -> Place:
        ranked = _ranked(self.subjects, labels)
        return Place(code, self.name.best() if self.name.seen else "", self.district_code,
                     len(self.sessions), len(self.marked), len(self.students),
                     sum(self.subjects.values()),
                     tuple((labels[k].best(), n) for k, n in ranked))


def _place(table: dict[str, _PlaceAcc], code: str, name: str, district_code: str) -> _PlaceAcc:
    acc = table.get(code)
    if acc is None:
        acc = table[code] = _PlaceAcc(_Labels(), district_code)
    if name:
        acc.name.add(name)
    return acc


def term_named(terms: Sequence[Term], name: str) -> Term | None:
    return next((t for t in terms if t.name == name), None)


def term_at(terms: Sequence[Term], today: date) -> Term | None:
    """The term holding ``today``, else the last one that started before it (between
    terms the office reads the one just ended), else the first."""
    current = next((t for t in terms if t.contains(today)), None)
    if current is not None:
        return current
    started = [t for t in terms if t.start <= today]
    if started:
        return max(started, key=lambda t: t.start)
    return min(terms, key=lambda t: t.start) if terms else None


CSV_HEADER = ("学期 term", "学科 subject", "知识点 knowledge_point", "标注次数 marks",
              "学科内占比 share_of_subject", "学生数 students")


def csv_rows(report: Analysis) -> tuple[tuple[str, ...], list[tuple[str | int, ...]]]:
    """The header and rows of the CSV download: every knowledge point of every subject
    with its weekly marks (one column per week, named by its Monday). Cells are raw:
    the caller makes them safe for spreadsheets."""
    header = CSV_HEADER + tuple(f"第{w.number}周 week {w.number} ({w.start.isoformat()})"
                                for w in report.weeks)
    rows: list[tuple[str | int, ...]] = []
    for subj in report.subjects:
        for point in subj.knowledge_points:
            rows.append((report.term.name, subj.label, point.label, point.marks,
                         f"{point.share * 100:.1f}%", point.students, *point.weekly))
    return header, rows
