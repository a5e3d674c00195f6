"""Table-driven tests of the credits rules, each taken from the seeds' wording.

Every expected number is computed by hand in the case's comment. Times are local
Beijing time (+08:00); the calendar is the shipped sample. 2022-03-07 is a Monday
(working day), 2022-03-05 a Saturday, 2022-04-02 a make-up working Saturday,
2022-04-05 a holiday (Tuesday), all inside the term 2022-spring (02-14 … 07-08).
h = counted minutes / 60.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from credits_builders import (
    CALENDAR,
    TEXT_OK,
    TRAINING,
    TUTORING,
    at,
    feedback,
    one_to_one,
    person,
    span,
    with_evidence,
)

from recorder.credits import texts
from recorder.credits.engine import NO_EVIDENCE
from recorder.credits.policy import Policy
from recorder.credits.records import RecordError
from recorder.credits.rules import compute_session, round_half_up
from recorder.credits.statement import compute_sessions, compute_statement
from recorder.credits.texts import text_problem, visible_chars

MON = "2022-03-07"
FB_OK = feedback(at("2022-03-08", "12:00"))


def lecture(
    t_active: list[list[str]],
    learners: dict[str, list[list[str]]],
    *,
    sid: str = "lec",
    ratings: dict[str, int] | None = None,
    replay: dict[str, list[list[str]]] | None = None,
    places: dict[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    places = places or {}
    people = [person("t1", "instructor", "S1", "Tongzhou")]
    people += [person(pid, "learner", *places.get(pid, ("", ""))) for pid in learners]
    end_day = t_active[-1][1][:10]
    return {
        "session_id": sid,
        "programme": "training",
        "form": "lecture",
        "people": people,
        "active": {"t1": t_active, **learners},
        "replay": replay or {},
        "feedback": {
            pid: feedback(f"{end_day}T23:00:00+08:00", r) for pid, r in (ratings or {}).items()
        },
    }


def review(
    reviewers: dict[str, tuple[str, str]],
    *,
    discussion: list[list[str]],
    reports: tuple[str, ...],
    learner_fb: bool = True,
    per_person: dict[str, list[list[str]]] | None = None,
) -> dict[str, Any]:
    people = [person("L", "learner", "S9", "Miyun")]
    people += [person(r, "instructor", *place) for r, place in reviewers.items()]
    active = {p["id"]: discussion for p in people}
    day = discussion[-1][1][:10]
    active.update(per_person or {})
    return {
        "session_id": "rev",
        "programme": "training",
        "form": "review",
        "people": people,
        "active": active,
        "reports": {r: {"submitted_at": f"{day}T23:00:00+08:00", "text": TEXT_OK}
                    for r in reports},
        "feedback": {"L": feedback(f"{day}T23:00:00+08:00")} if learner_fb else {},
    }


@dataclass
class Case:
    name: str
    seed: str  # the rule's wording in the seed or the issue
    record: dict[str, Any]
    expect: dict[str, Any]  # "effective_minutes", "counted", "term", or "<person>.<key>"
    policy: Policy = field(default_factory=lambda: TRAINING)
    # On the evidence basis with everyone publishing, voiced and receiving whenever
    # present (builders.with_evidence): the rules of before, without the basis note.
    evidence: bool = True


OPEN_TRAINING = "周一到周五18:00-22:00，双休日及法定节假日8:00-22:00"
OPEN_TUTORING = "辅导时间为校历规定的每个学期周一到周五的18:00-21:00（原则上不含节假日和寒暑假）"
LIMITS = "各研修形态不足最低时长或超过最高时长的部分……均不计算积分"
MINUTES = "研修时长以分钟为单位，不足1分钟部分不计入积分"
PLACE = "同校、同区教师之间研修不记录积分"
FEEDBACK = "需在7天内……提供反馈和评价，包括评分……不少于200字的收获"
ONE = "研修时长按照每小时可获得6个积分记录，学员评价后……付给指导教师6-10个积分"
LECTURE = "直播时长按照每小时30个积分记录；研修绩效……每小时可获得11-15个积分"
VIEWERS = (
    "完成观看（观看直播或录像均可）学员10人以内每小时1个积分，"
    "每增加10人增加1个积分，上限为15积分"
)
REVIEW = (
    "一次开放式检课60个积分，出具检课报告和互动研讨各30个积分; "
    "一次互动研讨不足45分钟则不计入绩效"
)

NO_RATING = "no valid feedback: no rating points"
NO_FB = "no feedback: no study hours"
PERF11 = "no valid feedback: performance at 11.00 points per hour"

CASES = [
    # --- open hours ------------------------------------------------------------------
    Case("17:59:59 is closed, 10 min from 18:00 counts", OPEN_TRAINING,
         # raw 10 min 1 s, E = [18:00, 18:10) = 10 min ≥ 10; 6 × 10/60 = 1.00
         one_to_one([span(MON, "17:59:59", "18:10:00")]),
         {"effective_minutes": 10, "counted": True, "t1.points": "1.00", "t1.pay_cny": "10.00",
          "t1.notes": [NO_RATING], "l1.notes": [NO_FB], "l1.minutes": 10}),
    Case("from 18:00:01 only 9 min 59 s: below minimum", OPEN_TRAINING + "; " + MINUTES,
         one_to_one([span(MON, "18:00:01", "18:10:00")]),
         {"effective_minutes": 0, "counted": False, "t1.points": "0.00",
          "t1.notes": ["below minimum 10 min: not counted"], "t1.study_minutes": 0}),
    Case("22:00:00 is closed: 21:50:01–22:00:30 leaves 9 min 59 s", OPEN_TRAINING,
         # raw 10 min 29 s → 10 min; E 9 min 59 s → 9 min; outside 10 − 9 = 1 min
         one_to_one([span(MON, "21:50:01", "22:00:30")]),
         {"effective_minutes": 0, "counted": False,
          "t1.notes": ["outside open hours: 1 min", "below minimum 10 min: not counted"]}),
    Case("21:50:00–22:00:00 is exactly 10 min", OPEN_TRAINING,
         one_to_one([span(MON, "21:50:00", "22:00:00")]),
         {"effective_minutes": 10, "counted": True, "t1.points": "1.00"}),
    Case("Saturday opens at 08:00", OPEN_TRAINING,
         one_to_one([span("2022-03-05", "07:59:59", "08:20:00")]),
         {"effective_minutes": 20, "t1.points": "2.00", "term": "2022-spring"}),
    Case("crossing midnight into a Saturday: Friday 21:30 – Saturday 08:30", OPEN_TRAINING,
         # E = Fri [21:30, 22:00) + Sat [08:00, 08:30) = 60 min of 660; 6 × 1 = 6.00
         one_to_one([span("2022-03-11", "21:30", "08:30", end_day="2022-03-12")]),
         {"effective_minutes": 60, "counted": True, "t1.points": "6.00",
          "t1.notes": ["outside open hours: 600 min", NO_RATING]}),
    Case("lecture over a weekend night: Sat 21:00 – Sun 08:45 → 105 min, 90 count", LIMITS,
         # E = 60 + 45 = 105 → 90; viewer 90/90 → N 1 → v 1; 1.5 × (30 + 11 + 1) = 63.00
         lecture([span("2022-03-12", "21:00", "08:45", end_day="2022-03-13")],
                  {"a": [span("2022-03-12", "21:00", "08:45", end_day="2022-03-13")]}),
         {"effective_minutes": 90, "t1.points": "63.00",
          "t1.breakdown": {"live": "45.00", "performance": "16.50", "viewers": "1.50"},
          "t1.notes": ["outside open hours: 600 min", "above maximum 90 min: 15 min not counted",
                       PERF11],
          "a.minutes": 90}),
    Case("make-up workday Saturday: training opens only 18:00", OPEN_TRAINING,
         one_to_one([span("2022-04-02", "10:00", "11:00")]),
         {"effective_minutes": 0, "counted": False,
          "t1.notes": ["outside open hours: 60 min", "below minimum 10 min: not counted"]}),
    Case("make-up workday Saturday evening counts", OPEN_TRAINING,
         one_to_one([span("2022-04-02", "18:00", "19:00")]),
         {"effective_minutes": 60, "t1.points": "6.00"}),
    Case("ordinary Saturday morning counts", OPEN_TRAINING,
         one_to_one([span("2022-03-05", "10:00", "11:00")]),
         {"effective_minutes": 60, "t1.points": "6.00"}),
    Case("holiday (Tuesday 2022-04-05) has weekend hours", OPEN_TRAINING,
         one_to_one([span("2022-04-05", "10:00", "11:00")]),
         {"effective_minutes": 60, "t1.points": "6.00"}),
    Case("summer vacation: outside every term", "在线研修时间为校历规定的每个学期内",
         one_to_one([span("2022-07-20", "18:00", "19:00")]),
         {"effective_minutes": 0, "counted": False, "term": None}),
    Case("tutoring: make-up workday Saturday 18:00–19:00 counts", OPEN_TUTORING,
         one_to_one([span("2022-04-02", "18:00", "19:00")], programme="tutoring"),
         {"effective_minutes": 60, "counted": True, "t1.points": "6.00",
          "l1.notes": ["no feedback: not valid"]}, TUTORING),
    Case("tutoring: an ordinary Saturday is closed", OPEN_TUTORING,
         one_to_one([span("2022-03-05", "18:00", "19:00")], programme="tutoring"),
         {"effective_minutes": 0, "counted": False,
          "t1.notes": ["outside open hours: 60 min", "no effective time: not counted"]},
         TUTORING),
    Case("tutoring: a holiday is closed", OPEN_TUTORING,
         one_to_one([span("2022-04-05", "18:00", "19:00")], programme="tutoring"),
         {"effective_minutes": 0, "counted": False}, TUTORING),
    Case("tutoring closes at 21:00", OPEN_TUTORING,
         one_to_one([span(MON, "20:30", "21:30")], programme="tutoring"),
         {"effective_minutes": 30, "t1.points": "3.00",
          "t1.notes": ["outside open hours: 30 min", NO_RATING]}, TUTORING),
    # --- limits and partial minutes ----------------------------------------------------
    Case("one_to_one 60 min is the maximum", "一次交流时长为10-60分钟",
         one_to_one([span(MON, "18:00", "19:00")]),
         {"effective_minutes": 60, "t1.points": "6.00"}),
    Case("one_to_one 61 min: the maximum counts", LIMITS,
         one_to_one([span(MON, "18:00", "19:01")]),
         {"effective_minutes": 60, "t1.points": "6.00", "t1.study_minutes": 60,
          "t1.notes": ["above maximum 60 min: 1 min not counted", NO_RATING]}),
    Case("lecture 59 min: below minimum, nothing", "每场时长为60-90分钟",
         lecture([span(MON, "18:00", "18:59")], {"a": [span(MON, "18:00", "18:59")]}),
         {"effective_minutes": 0, "counted": False, "t1.points": "0.00", "a.minutes": 0}),
    Case("lecture 60 min", LECTURE + "; " + VIEWERS,
         # 1 × (30 + 11 + 1) = 42.00
         lecture([span(MON, "18:00", "19:00")], {"a": [span(MON, "18:00", "19:00")]}),
         {"effective_minutes": 60, "t1.points": "42.00", "t1.pay_cny": "420.00"}),
    Case("lecture 91 min: 90 count", LIMITS,
         lecture([span(MON, "18:00", "19:31")], {"a": [span(MON, "18:00", "19:31")]}),
         {"effective_minutes": 90, "t1.points": "63.00"}),
    Case("partial minutes floor once on the total: 10.5 + 10.5 → 21", MINUTES,
         one_to_one([span(MON, "18:00:00", "18:10:30"), span(MON, "18:20:00", "18:30:30")],
                    [span(MON, "18:00", "19:00")]),
         {"effective_minutes": 21, "t1.points": "2.10",
          "t1.notes": ["instructor and learner not both present: 39 min", NO_RATING]}),
    Case("9 min 59.999999 s is 9 min", MINUTES,
         one_to_one([[at(MON, "18:00:00"), at(MON, "18:09:59.999999")]]),
         {"effective_minutes": 0, "counted": False}),
    # --- same school / district ---------------------------------------------------------
    Case("same school and district: no points, hours still count", PLACE,
         one_to_one([span(MON, "18:00", "19:00")], fb=FB_OK,
                    t_place=("S1", "Tongzhou"), l_place=("S1", "Tongzhou")),
         {"t1.points": "0.00", "t1.study_minutes": 60, "l1.study_minutes": 60,
          "t1.breakdown": {"duration": "6.00", "rating": "10.00",
                           "same_school_or_district": "-16.00"},
          "t1.notes": ["same school and district: no points"]}),
    Case("same district, other school: no points", PLACE,
         one_to_one([span(MON, "18:00", "19:00")], fb=FB_OK,
                    t_place=("S1", "Tongzhou"), l_place=("S2", "Tongzhou")),
         {"t1.points": "0.00", "t1.notes": ["same district: no points"]}),
    Case("other school and district: paid", PLACE + "; " + ONE,
         # r = 5 → rate 10; 6 + 10 = 16.00
         one_to_one([span(MON, "18:00", "19:00")], fb=FB_OK),
         {"t1.points": "16.00", "t1.pay_cny": "160.00", "l1.study_minutes": 60,
          "t1.notes": [], "l1.notes": []}),
    Case("tutoring has no school rule", "issue: No school/district rule (tutoring)",
         one_to_one([span(MON, "18:00", "19:00")], programme="tutoring", fb=FB_OK,
                    t_place=("S1", "Tongzhou"), l_place=("S1", "Tongzhou")),
         {"t1.points": "16.00"}, TUTORING),
    # --- feedback -----------------------------------------------------------------------
    Case("feedback on day 7 (exactly 7×24 h after the end) is valid", FEEDBACK,
         # r = 4 → rate 9; 6 + 9 = 15.00
         one_to_one([span(MON, "18:00", "19:00")],
                    fb=feedback(at("2022-03-14", "19:00:00"), 4)),
         {"t1.points": "15.00", "l1.study_minutes": 60}),
    Case("feedback 7×24 h + 1 s after the end is late", FEEDBACK,
         one_to_one([span(MON, "18:00", "19:00")],
                    fb=feedback(at("2022-03-14", "19:00:01"), 4)),
         {"t1.points": "6.00", "l1.study_minutes": 0,
          "l1.notes": ["feedback after 7 days: no study hours"], "t1.notes": [NO_RATING]}),
    Case("feedback on day 8 is late", FEEDBACK,
         one_to_one([span(MON, "18:00", "19:00")], fb=feedback(at("2022-03-15", "12:00"), 4)),
         {"t1.points": "6.00", "l1.study_minutes": 0}),
    Case("200 characters, whitespace not counted, is enough", FEEDBACK,
         one_to_one([span(MON, "18:00", "19:00")],
                    fb=feedback(at(MON, "20:00"), 5, " ".join(TEXT_OK[:200]))),
         {"t1.points": "16.00", "l1.study_minutes": 60}),
    Case("199 characters (plus whitespace) is not", FEEDBACK,
         one_to_one([span(MON, "18:00", "19:00")],
                    fb=feedback(at(MON, "20:00"), 5, TEXT_OK[:199] + "  \n\t ")),
         {"t1.points": "6.00", "l1.study_minutes": 0,
          "l1.notes": ["feedback needs at least 200 visible characters (has 199): "
                       "no study hours"]}),
    # --- one_to_one rating --------------------------------------------------------------
    Case("rating 1 → 6 per hour", ONE,
         one_to_one([span(MON, "18:00", "19:00")], fb=feedback(at(MON, "20:00"), 1)),
         {"t1.points": "12.00"}),
    Case("rating 3, 45 min → (6 + 8) × 0.75", ONE,
         one_to_one([span(MON, "18:00", "18:45")], fb=feedback(at(MON, "20:00"), 3)),
         {"t1.points": "10.50", "t1.breakdown": {"duration": "4.50", "rating": "6.00"}}),
    Case("rating 4, 37 min → 15 × 37/60", ONE,
         one_to_one([span(MON, "18:00", "18:37")], fb=feedback(at(MON, "20:00"), 4)),
         {"t1.points": "9.25"}),
    # --- lecture ------------------------------------------------------------------------
    Case("lecture performance from the mean valid rating", LECTURE,
         # ratings 5, 4 → mean 4.5 → perf 14.5; N = 270/90 = 3 → v 1;
         # 1.5 × (30 + 14.5 + 1) = 45 + 21.75 + 1.5 = 68.25
         lecture([span(MON, "18:00", "19:30")],
                 {p: [span(MON, "18:00", "19:30")] for p in ("a", "b", "c")},
                 ratings={"a": 5, "b": 4}),
         {"t1.points": "68.25",
          "t1.breakdown": {"live": "45.00", "performance": "21.75", "viewers": "1.50"},
          "a.study_minutes": 90, "c.study_minutes": 0, "c.notes": [NO_FB]}),
    Case("10 live viewers → 1 viewer point per hour", VIEWERS,
         lecture([span(MON, "18:00", "19:00")],
                 {f"v{i}": [span(MON, "18:00", "19:00")] for i in range(10)}),
         {"t1.points": "42.00"}),
    Case("replay minutes count toward viewers: 10 live + 2 replay → 12 → 2 points", VIEWERS,
         # N = (10 × 60 + 2 × 60) / 60 = 12 → ceil(12/10) = 2; 30 + 11 + 2 = 43.00
         lecture([span(MON, "18:00", "19:00")],
                 {**{f"v{i}": [span(MON, "18:00", "19:00")] for i in range(10)},
                  "r1": [], "r2": []},
                 replay={"r1": [span("2022-03-08", "18:00", "19:00")],
                         "r2": [span("2022-03-09", "20:00", "21:00")]}),
         {"t1.points": "43.00", "r1.minutes": 60, "r2.minutes": 60}),
    Case("replay outside open hours does not count",
         VIEWERS + "; 在开放时间规定之外发生的部分……不计算",
         lecture([span(MON, "18:00", "19:00")],
                 {**{f"v{i}": [span(MON, "18:00", "19:00")] for i in range(10)}, "r1": []},
                 replay={"r1": [span("2022-03-08", "17:00", "18:00")]}),
         {"t1.points": "42.00", "r1.minutes": 0,
          "r1.notes": ["replay outside open hours: 60 min", NO_FB]}),
    Case("viewing never exceeds the lecture's counted minutes", "issue: viewing minutes",
         lecture([span(MON, "18:00", "19:30")],
                 {"a": [span(MON, "18:00", "19:00")], "b": [span(MON, "18:00", "19:30")]},
                 replay={"a": [span("2022-03-08", "18:00", "19:00")]}),
         {"a.minutes": 90,
          "a.notes": ["viewing above the lecture's 90 counted min: 30 min not counted", NO_FB]}),
    Case("a same-district learner is not an eligible viewer", PLACE,
         # 11 learners, one in Tongzhou like the instructor → N = 600/60 = 10 → v 1 → 42.00
         lecture([span(MON, "18:00", "19:00")],
                 {f"v{i}": [span(MON, "18:00", "19:00")] for i in range(11)},
                 places={"v0": ("S7", "Tongzhou")}),
         {"t1.points": "42.00",
          "t1.notes": [PERF11, "same school or district: 1 learner(s) not counted as viewers"]}),
    Case("151 viewers → capped at 15 per hour", VIEWERS,
         # ceil(151/10) = 16 → 15; 30 + 11 + 15 = 56.00
         lecture([span(MON, "18:00", "19:00")],
                 {f"v{i}": [span(MON, "18:00", "19:00")] for i in range(151)}),
         {"t1.points": "56.00",
          "t1.notes": [PERF11, "151 viewers: viewer points capped at 15 per hour"]}),
    # --- review -------------------------------------------------------------------------
    Case("review: report + 50 min discussion; one reviewer without report; one same district",
         REVIEW + "; 检课报告记1学时、互动研讨计1学时",
         review({"R1": ("S1", "Tongzhou"), "R2": ("S2", "Yanqing"), "R3": ("S3", "Miyun")},
                discussion=[span(MON, "18:00", "18:50")], reports=("R1", "R3")),
         {"effective_minutes": 50, "counted": True,
          "R1.points": "60.00", "R1.study_hours": 2, "R1.pay_cny": "600.00",
          "R2.points": "30.00", "R2.study_hours": 1,
          "R2.notes": ["no report submitted: no report hour or points"],
          "R3.points": "0.00", "R3.study_hours": 2, "R3.notes": ["same district: no points"],
          "L.study_hours": 2, "L.minutes": 50}),
    Case("review: 44 min discussion earns no discussion hour or points", REVIEW,
         review({"R1": ("S1", "Tongzhou")}, discussion=[span(MON, "18:00", "18:44")],
                reports=("R1",)),
         {"effective_minutes": 0, "counted": False, "R1.points": "30.00", "R1.study_hours": 1,
          "L.study_hours": 1,
          "R1.notes": ["discussion below minimum 45 min: no discussion hours or points"]}),
    Case("review: the discussion needs every reviewer",
         "所有指导教师与学员教师还须同时开展一次……互动研讨",
         review({"R1": ("S1", "Tongzhou"), "R2": ("S2", "Yanqing")},
                discussion=[span(MON, "18:00", "18:50")], reports=("R1", "R2"),
                per_person={"R2": [span(MON, "18:00", "18:30")]}),
         {"effective_minutes": 0, "R1.points": "30.00",
          "R1.notes": ["learner and all reviewers not all present: 20 min",
                       "discussion below minimum 45 min: no discussion hours or points"]}),
    Case("review: no hours for the learner without valid feedback", FEEDBACK,
         review({"R1": ("S1", "Tongzhou")}, discussion=[span(MON, "18:00", "18:50")],
                reports=("R1",), learner_fb=False),
         {"R1.points": "60.00", "L.study_hours": 0, "L.notes": [NO_FB]}),
    Case("the worked example of docs/credits.md", "docs/credits.md",
         # together 17:55:00–18:48:40, open from 18:00 → 48 min 40 s → 48; h = 0.8;
         # 6 × 0.8 + 10 × 0.8 = 12.80; union 17:50:00–18:50:30 = 60 min, together 53 → 7 min
         one_to_one([span(MON, "17:50:00", "18:50:30")], [span(MON, "17:55:00", "18:48:40")],
                    fb=feedback(at("2022-03-10", "20:00"), 5, TEXT_OK),
                    learner="t2"),
         {"effective_minutes": 48, "t1.points": "12.80", "t1.pay_cny": "128.00",
          "t1.study_minutes": 48, "t2.study_minutes": 48,
          "t1.breakdown": {"duration": "4.80", "rating": "8.00"},
          "t1.notes": ["instructor and learner not both present: 7 min",
                       "outside open hours: 5 min"]}),
    # --- tutoring classroom and rounding ------------------------------------------------
    Case("classroom: mean rating; 0.625 rounds half-up to 0.63", "issue: round half-up once",
         # ratings 1, 2 → mean 1.5 → rate 6.5; (6 + 6.5) × 3/60 = 0.625 → 0.63 (not 0.62)
         {"session_id": "c1", "programme": "tutoring", "form": "classroom",
          "people": [person("t1", "instructor"), person("a", "learner"), person("b", "learner")],
          "active": {p: [span(MON, "18:00", "18:03")] for p in ("t1", "a", "b")},
          "feedback": {"a": feedback(at(MON, "19:00"), 1), "b": feedback(at(MON, "19:00"), 2)}},
         {"effective_minutes": 3, "t1.points": "0.63", "t1.pay_cny": "6.30",
          "t1.breakdown": {"duration": "0.30", "rating": "0.33"}}, TUTORING),
]


def _get(result: dict[str, Any], key: str) -> Any:
    if "." not in key:
        return result[key]
    pid, attr = key.split(".", 1)
    return result["people"][pid][attr]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    record = with_evidence(case.record) if case.evidence else case.record
    result = compute_session(record, case.policy, CALENDAR)
    json.dumps(result)  # plain JSON, always
    for key, expected in case.expect.items():
        assert _get(result, key) == expected, f"{key} ({case.seed})"


# --- invalid input ----------------------------------------------------------------------


def _bad(record: dict[str, Any], policy: Policy = TRAINING) -> str:
    with pytest.raises(RecordError) as info:
        compute_session(record, policy, CALENDAR)
    return str(info.value)


def test_four_reviewers_rejected() -> None:
    """Seed: "每次检课指导教师不超过3位"."""
    rec = review({f"R{i}": (f"S{i}", f"D{i}") for i in range(4)},
                 discussion=[span(MON, "18:00", "18:50")], reports=())
    assert _bad(rec) == "people: a review has at most 3 reviewers (got 4)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["people"][1].update(role="student"),
         'people[1].role: must be "instructor" or "learner"'),
        (lambda r: r.update(form="lecture_hall"), 'form: for training must be "lecture" or '
         '"one_to_one" or "review"'),
        (lambda r: r["active"].update(t1=[["2022-03-07T18:00:00", "2022-03-07T19:00:00"]]),
         "active.t1[0][0]: timestamp needs a UTC offset (e.g. Z or +08:00): "
         "'2022-03-07T18:00:00'"),
        (lambda r: r["active"].update(t1=[[at(MON, "19:00"), at(MON, "18:00")]]),
         "active.t1[0]: end is before start"),
        (lambda r: r["active"].update(x9=[]), "active.x9: not a person of this session"),
        (lambda r: r.update(feedback={"l1": {"submitted_at": at(MON, "20:00"), "rating": 6,
                                             "text": ""}}),
         "feedback.l1.rating: must be a whole number from 1 to 5"),
        (lambda r: r.update(feedback={"t1": FB_OK}),
         "feedback.t1: only a learner may have feedback"),
        (lambda r: r["people"][0].pop("district"),
         "people[0].district: must be a non-empty string"),
        (lambda r: r.update(programme="tutoring"),
         "programme: the record is 'tutoring' but the policy is 'training'"),
        (lambda r: r["people"].append(person("l2", "learner")),
         "people: a one_to_one session has exactly 1 instructor and 1 learner (got 1 and 2)"),
    ],
)
def test_invalid_record_names_the_field(change: Any, message: str) -> None:
    rec = one_to_one([span(MON, "18:00", "19:00")])
    change(rec)
    assert _bad(rec) == message


def test_unknown_fields_are_ignored() -> None:
    rec = one_to_one([span(MON, "18:00", "19:00")], fb=FB_OK)
    rec["title"] = "额外字段"
    rec["people"][0]["name"] = "张老师"
    rec["feedback"]["l1"]["satisfaction"] = "very_satisfied"
    assert compute_session(rec, TRAINING, CALENDAR)["people"]["t1"]["points"] == "16.00"


def test_round_half_up_is_not_bankers() -> None:
    assert round_half_up(Fraction(625, 1000)) == Fraction(63, 100)
    assert round_half_up(Fraction(1, 200)) == Fraction(1, 100)
    assert round_half_up(Fraction(1249, 100000)) == Fraction(1, 100)


# --- statements: term caps, order, years ------------------------------------------------


def _lec(sid: str, day: str, start: str = "18:00", end: str = "19:00") -> dict[str, Any]:
    return lecture([span(day, start, end)], {"a": [span(day, start, end)]}, sid=sid)


def test_third_lecture_in_a_term_earns_nothing() -> None:
    """Seed: "指导教师每学期3类研修服务形态各可开设不超过2次"."""
    records = [
        _lec("L4", "2022-09-05"),  # next term: a fresh allowance
        _lec("L3", "2022-03-21"),
        _lec("L2", "2022-03-14"),
        _lec("L1", "2022-03-07"),
    ]
    outcomes = {o.record.session_id: o.to_json() for o in
                compute_sessions(records, TRAINING, CALENDAR)}
    assert [outcomes[s]["people"]["t1"]["points"] for s in ("L1", "L2", "L3", "L4")] == [
        "42.00", "42.00", "0.00", "42.00"]
    assert "third lecture this term: no points" in outcomes["L3"]["people"]["t1"]["notes"]
    assert outcomes["L3"]["people"]["t1"]["breakdown"]["term_cap"] == "-42.00"
    statement = compute_statement(records, TRAINING, CALENDAR)
    assert statement["people"]["t1"]["terms"] == {
        "2022-spring": {"points": "84.00", "pay_cny": "840.00", "sessions": 3},
        "2022-autumn": {"points": "42.00", "pay_cny": "420.00", "sessions": 1},
    }


def test_sessions_without_points_do_not_use_the_allowance() -> None:
    """"The first 2 that would earn points": a same-district session does not count."""
    same = one_to_one([span(MON, "18:00", "19:00")], sid="o0", l_place=("S2", "Tongzhou"))
    later = [one_to_one([span(d, "18:00", "19:00")], sid=f"o{i}")
             for i, d in enumerate(["2022-03-08", "2022-03-09", "2022-03-10"], start=1)]
    outcomes = [o.to_json() for o in compute_sessions([same, *later], TRAINING, CALENDAR)]
    assert [o["people"]["t1"]["points"] for o in outcomes] == ["0.00", "6.00", "6.00", "0.00"]
    assert "third one-to-one session this term: no points" in outcomes[3]["people"]["t1"]["notes"]


def test_order_ties_broken_by_session_id() -> None:
    """"ordered by session start (earliest active timestamp of anyone; ties by session_id)"."""
    records = [_lec("b", "2022-03-14"), _lec("a", "2022-03-14"), _lec("z", "2022-03-07")]
    points = {o.record.session_id: o.to_json()["people"]["t1"]["points"]
              for o in compute_sessions(records, TRAINING, CALENDAR)}
    assert points == {"z": "42.00", "a": "42.00", "b": "0.00"}


def test_tutoring_cap_crossed_mid_session() -> None:
    """Seed (tutoring): "每学期绩效的积分上限为5000分".

    With the built-in rates an instructor earns at most 3 h × 16 = 48 points an evening,
    so 5,000 is out of reach in one term; this test keeps the 5,000 cap and raises the
    duration rate to 100 per hour (an operator's edit): 3 h × (100 + 10) = 330 per evening.
    15 evenings = 4,950; the 16th is cut to 50 (280 over); the 17th earns 0.
    """
    policy = dataclasses.replace(TUTORING, forms={
        name: dataclasses.replace(form, duration_points_per_hour=Fraction(100))
        for name, form in TUTORING.forms.items()
    })
    assert policy.points_per_term == 5000
    days = [d for d in (f"2022-03-{n:02d}" for n in range(1, 32))
            if CALENDAR.is_working_day(date.fromisoformat(d))][:17]
    records = [one_to_one([span(d, "18:00", "21:00")], sid=f"t{i:02d}", programme="tutoring",
                          fb=feedback(at(d, "22:00"), 5)) for i, d in enumerate(days)]
    outcomes = [o.to_json()["people"]["t1"] for o in compute_sessions(records, policy, CALENDAR)]
    assert [o["points"] for o in outcomes[:15]] == ["330.00"] * 15
    assert outcomes[15]["points"] == "50.00"
    assert outcomes[15]["notes"] == [
        NO_EVIDENCE, "term cap 5000.00 points: 280.00 points over the cap not paid"]
    assert outcomes[15]["breakdown"]["term_cap"] == "-280.00"
    assert outcomes[16]["points"] == "0.00"
    assert outcomes[16]["notes"] == [NO_EVIDENCE, "term cap 5000.00 points reached: no points"]
    statement = compute_statement(records, policy, CALENDAR)
    assert statement["people"]["t1"]["terms"]["2022-spring"] == {
        "points": "5000.00", "pay_cny": "50000.00", "sessions": 17}
    assert statement["people"]["t1"]["years"] == {}  # tutoring grants no study hours


def test_study_hours_and_credits_per_year() -> None:
    """Seed: "研修有效时长达到45分钟计1学时" "20学时可折合1学分" "每年上限为1学分".

    t1 gives 41 one_to_one sessions of 45 min → 41 × 45 / 45 = 41 学时, and reviews once
    (report + 50 min discussion → 2 学时): 43 学时 → min(1, floor(43/20)) = 1 学分.
    Each learner had one 45 min session: 1 学时, 0 学分; "lx" gave no feedback: 0.
    """
    days = [f"2022-03-{n:02d}" for n in range(7, 26)
            if date(2022, 3, n).weekday() < 5]
    slots = [("18:00", "18:45"), ("19:00", "19:45"), ("20:00", "20:45"), ("21:00", "21:45")]
    records = []
    for i in range(41):
        day, (start, end) = days[i // 4], slots[i % 4]
        learner = f"l{i}" if i else "lx"
        records.append(one_to_one([span(day, start, end)], sid=f"s{i:02d}", learner=learner,
                                  fb=feedback(at(day, "23:00")) if i else None))
    rev = review({"t1": ("S1", "Tongzhou")}, discussion=[span("2022-03-28", "18:00", "18:50")],
                 reports=("t1",))
    statement = compute_statement([*records, rev], TRAINING, CALENDAR)["people"]
    assert statement["t1"]["years"] == {"2022": {"study_hours": 43, "credits": 1}}
    assert statement["l5"]["years"] == {"2022": {"study_hours": 1, "credits": 0}}
    assert statement["lx"]["years"] == {"2022": {"study_hours": 0, "credits": 0}}
    assert statement["L"]["years"] == {"2022": {"study_hours": 2, "credits": 0}}
    # Points only from the first 2 one_to_one sessions (6 + 10) × 0.75 = 12.00 each (s00 has
    # no feedback: 4.50), plus 60 for the review.
    assert statement["t1"]["terms"]["2022-spring"]["points"] == f"{4.5 + 12 + 60:.2f}"


def test_year_is_the_local_year_of_the_start() -> None:
    """2022-01-01 07:30 in Beijing is still 2021 in UTC; the 学时 go to 2022 (a holiday in
    the 2021-autumn term, open from 08:00: 60 of 90 min count)."""
    rec = one_to_one([span("2022-01-01", "07:30", "09:00")], fb=feedback(at("2022-01-01", "10:00")))
    result = compute_session(rec, TRAINING, CALENDAR)
    assert (result["term"], result["effective_minutes"]) == ("2021-autumn", 60)
    statement = compute_statement([rec], TRAINING, CALENDAR)
    assert statement["people"]["t1"]["years"] == {"2022": {"study_hours": 1, "credits": 0}}


def test_a_bad_record_rejects_the_whole_batch() -> None:
    good = one_to_one([span(MON, "18:00", "19:00")], sid="ok")
    bad = one_to_one([span(MON, "18:00", "19:00")], sid="bad")
    bad["people"][1]["role"] = "guest"
    with pytest.raises(RecordError, match=r"^line 2: people\[1\]\.role"):
        compute_statement([good, bad], TRAINING, CALENDAR)
    with pytest.raises(RecordError, match="duplicate 'ok'"):
        compute_statement([good, good], TRAINING, CALENDAR)


def test_text_ok_is_a_text() -> None:
    assert visible_chars(TEXT_OK) >= 200
    assert text_problem(TEXT_OK, min_chars=200, min_distinct=20) is None


def test_the_form_and_the_credits_count_texts_the_same() -> None:
    """One count of visible characters: the REST form refuses exactly what the credits
    would not count (whitespace of every kind, the ideographic space and U+200B included)."""
    from signaling.server import participant_api

    assert participant_api.texts is texts
    text = "收获 很大\u3000\n\t真的\x1c\u200b"
    assert visible_chars(text) == 6
