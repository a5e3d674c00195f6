"""The tutoring analysis report (recorder.credits.analysis), table-driven, with a fake
calendar: which knowledge points students ask about, per subject, week and place."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest

from recorder.credits.analysis import (
    LearnerFact,
    analyse,
    csv_rows,
    normal,
    term_at,
    term_named,
    term_weeks,
)
from recorder.credits.calendar import Term

# A term from Wednesday 2026-09-02 to Friday 2026-09-25: four weeks (Mondays 08-31 …
# 09-21); the fake calendar rests on weekends and on the whole week of 09-14.
TERM = Term("2026-autumn", date(2026, 9, 2), date(2026, 9, 25))
NEXT = Term("2027-spring", date(2027, 2, 22), date(2027, 7, 9))


@dataclass(frozen=True)
class FakeCalendar:
    holidays: frozenset[date] = frozenset(date(2026, 9, d) for d in range(14, 19))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays


CAL = FakeCalendar()


def fact(session: str, learner: str, day: int, subject: str | None = None,
         point: str | None = None, *, district: str = "110112", school: str = "S7",
         teacher: str = "t1", programme: str = "tutoring", form: str = "one_to_one",
         month: int = 9) -> LearnerFact:
    return LearnerFact(session, date(2026, month, day), programme, form, teacher, "110105",
                       "S1", learner, district, f"区{district}", school, f"学校{school}",
                       subject, point, "问题" if subject else None)


@pytest.mark.parametrize(("a", "b"), [
    ("一元二次方程 ", "一元二次方程"),
    ("　一元二次方程", "一元二次方程"),        # ideographic space
    ("ＤＮＡ的结构", "dna的结构"),               # full-width, case
    ("勾股定理（逆定理）", "勾股定理(逆定理)"),  # full-width brackets
    ("二次  函数", "二次 函数"),
])
def test_spellings_of_one_knowledge_point_are_one(a: str, b: str) -> None:
    assert normal(a) == normal(b)


def test_weeks_of_the_term_and_their_working_days() -> None:
    weeks = term_weeks(TERM, CAL)
    assert [(w.number, w.start.isoformat(), w.working_days) for w in weeks] == [
        (1, "2026-08-31", 3),   # Wed–Fri: the term starts on Wednesday
        (2, "2026-09-07", 5),
        (3, "2026-09-14", 0),   # the holiday week
        (4, "2026-09-21", 5),
    ]


FACTS = [
    fact("a", "s1", 2, "数学", "一元二次方程 "),
    fact("b", "s1", 8, "数学", "一元二次方程"),
    fact("b2", "s2", 9, "数学", "一元二次方程"),
    fact("c", "s2", 9, "数学", "勾股定理"),
    fact("d", "s3", 22, "物理", "浮力", district="110108", school="S9"),
    fact("e", "s4", 23, form="classroom", district="110108", school="S9"),  # not marked
    fact("e", "s5", 23, "ｍａｔｈ", "Fractions", form="classroom"),
    fact("e", "s6", 23, "Math", "fractions ", form="classroom"),
    fact("f", "s1", 24, "数学", "一元二次方程", programme="training"),  # another programme
    fact("g", "s1", 2, "数学", "一元二次方程", month=10),               # after the term
]


def test_totals_subjects_and_knowledge_points() -> None:
    report = analyse(FACTS, TERM, CAL)
    totals = report.totals
    assert (totals.sessions, totals.marked_sessions, totals.students, totals.teachers,
            totals.marks) == (6, 6, 6, 1, 7)
    assert dict(totals.forms) == {"classroom": 1, "one_to_one": 5}
    got = [(s.label, s.marks, s.students, s.sessions, s.weekly) for s in report.subjects]
    assert got == [
        ("数学", 4, 2, 4, (1, 3, 0, 0)),
        ("Math", 2, 2, 1, (0, 0, 0, 2)),     # "ｍａｔｈ" and "Math": one subject, one label
        ("物理", 1, 1, 1, (0, 0, 0, 1)),
    ]
    maths = report.subjects[0]
    assert [(k.label, k.marks, k.share, k.students, k.weekly) for k in maths.knowledge_points] == [
        ("一元二次方程", 3, 0.75, 2, (1, 2, 0, 0)),
        ("勾股定理", 1, 0.25, 1, (0, 1, 0, 0)),
    ]
    assert report.subjects[1].knowledge_points[0].label in ("Fractions", "fractions")


@pytest.mark.parametrize(("subject", "marks", "marked", "labels"), [
    (None, 7, 6, ["数学", "Math", "物理"]),
    ("数学", 4, 4, ["数学"]),
    (" MATH ", 2, 1, ["Math"]),
    ("化学", 0, 0, []),
])
def test_a_subject_filter(subject: str | None, marks: int, marked: int,
                          labels: list[str]) -> None:
    report = analyse(FACTS, TERM, CAL, subject=subject)
    assert report.totals.marks == marks and report.totals.marked_sessions == marked
    assert report.totals.sessions == 6  # how much tutoring there was stays
    assert [s.label for s in report.subjects] == labels


def test_per_learner_district_and_school() -> None:
    report = analyse(FACTS, TERM, CAL)
    districts = {d.code: d for d in report.districts}
    assert set(districts) == {"110112", "110108"}
    tongzhou, haidian = districts["110112"], districts["110108"]
    assert (tongzhou.sessions, tongzhou.marked_sessions, tongzhou.students,
            tongzhou.marks) == (5, 5, 4, 6)
    assert tongzhou.subjects == (("数学", 4), ("Math", 2))
    assert (haidian.sessions, haidian.marked_sessions, haidian.students, haidian.marks) == (
        2, 1, 2, 1)
    assert haidian.name == "区110108"
    schools = {s.code: s for s in report.schools}
    assert schools["S9"].district_code == "110108" and schools["S9"].name == "学校S9"
    wire = report.wire()
    assert wire["districts"][0]["district_code"] == "110112"
    assert wire["schools"][0]["school_id"] == "S7"
    assert wire["grade_recorded"] is False


def test_an_empty_term_and_the_top_limit() -> None:
    empty = analyse([], TERM, CAL).wire()
    assert empty["totals"]["sessions"] == 0 and empty["subjects"] == []
    assert len(empty["weeks"]) == 4
    many = [fact(f"x{i}", f"s{i}", 8, "数学", f"知识点{i:02d}") for i in range(15)]
    wire = analyse(many, TERM, CAL).wire(top=10)
    assert len(wire["subjects"][0]["knowledge_points"]) == 10
    assert wire["subjects"][0]["knowledge_point_count"] == 15
    assert len(analyse(many, TERM, CAL).wire(top=None)["subjects"][0]["knowledge_points"]) == 15


def test_csv_rows_hold_every_point_and_its_weeks() -> None:
    header, rows = csv_rows(analyse(FACTS, TERM, CAL))
    assert header[-1] == "第4周 week 4 (2026-09-21)"
    assert rows[0] == ("2026-autumn", "数学", "一元二次方程", 3, "75.0%", 2, 1, 2, 0, 0)
    assert len(rows) == 4


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 9, 10), "2026-autumn"),
    (date(2027, 1, 15), "2026-autumn"),   # between terms: the one just ended
    (date(2027, 3, 1), "2027-spring"),
    (date(2025, 1, 1), "2026-autumn"),    # before every term: the first
])
def test_the_term_of_a_day(today: date, expected: str) -> None:
    found = term_at([NEXT, TERM], today)
    assert found is not None and found.name == expected


def test_a_term_by_name() -> None:
    assert term_named([TERM, NEXT], "2027-spring") == NEXT
    assert term_named([TERM], "nope") is None
    assert term_at([], date(2026, 1, 1)) is None
    assert replace(TERM, name="x").name == "x"
