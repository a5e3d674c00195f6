"""Issue 9's rules, table-driven, each from a way of being paid without teaching.

Times are local Beijing time on Monday 2022-03-07 (a working day in the term
2022-spring, open 18:00–22:00 for training, 18:00–21:00 for tutoring). Records are built
on the evidence basis (``with_evidence``: everyone publishing, voiced and receiving
while present) and then the evidence that matters is taken away; a few are version 1
records (no ``publishing``), computed from presence.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
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

from recorder.credits.engine import NO_EVIDENCE
from recorder.credits.policy import Policy
from recorder.credits.rules import compute_session

MON = "2022-03-07"
HOUR = [span(MON, "18:00", "19:00")]
FB = feedback(at("2022-03-08", "12:00"))
NO_RATING = "no valid feedback: no rating points"
NO_FB = "no feedback: no study hours"
PERF11 = "no valid feedback: performance at 11.00 points per hour"
ISSUE = "issue 9: a silent, camera-off or alone instructor earns nothing for that time"


def lecture(
    t_active: list[list[str]],
    learners: dict[str, list[list[str]]],
    *,
    programme: str = "training",
    form: str = "lecture",
) -> dict[str, Any]:
    people = [person("t1", "instructor", "S1", "110112")]
    people += [person(pid, "learner", f"S-{pid}", "110118") for pid in learners]
    return {"session_id": "lec", "programme": programme, "form": form, "people": people,
            "active": {"t1": t_active, **learners}}


def review(
    active: dict[str, list[list[str]]],
    reports: dict[str, dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    people = [person("L", "learner", "S9", "110118")]
    people += [person(r, "instructor", f"S-{r}", "110112") for r in active if r != "L"]
    return {"session_id": "rev", "programme": "training", "form": "review", "people": people,
            "active": active, "reports": reports,
            "feedback": {"L": feedback(at(MON, "23:00"))}, **extra}


def report(when: str, text: str | None = TEXT_OK) -> dict[str, Any]:
    out: dict[str, Any] = {"submitted_at": when}
    if text is not None:
        out["text"] = text
    return out


@dataclass
class Case:
    name: str
    why: str  # the way of being paid without teaching, or the rule's wording
    record: dict[str, Any]
    expect: dict[str, Any]  # "effective_minutes", "basis", or "<person>.<key>"
    policy: Policy = field(default_factory=lambda: TRAINING)


def _with_window(policy: Policy, seconds: int) -> Policy:
    forms = {name: dataclasses.replace(form, conversation_window_s=seconds)
             for name, form in policy.forms.items()}
    return dataclasses.replace(policy, forms=forms)


REPORT_ONE_CHAR = report(at(MON, "17:00"), "好")

CASES = [
    # --- one_to_one: publishing, or the pair in conversation ---------------------------
    Case("one_to_one: camera off and silent for 20 min", ISSUE,
         # publishing 18:00–18:20 and 18:40–19:00; nobody voiced in between → 40 min
         with_evidence(one_to_one(HOUR),
                       publishing={"t1": [span(MON, "18:00", "18:20"),
                                          span(MON, "18:40", "19:00")]},
                       voiced={"t1": [span(MON, "18:00", "18:20"),
                                      span(MON, "18:40", "19:00")]}),
         {"basis": "evidence", "effective_minutes": 40, "t1.points": "4.00",
          "t1.notes": ["instructor not publishing and no conversation: 20 min", NO_RATING],
          "l1.minutes": 40}),
    Case("one_to_one: a question from the learner keeps the pair in conversation", ISSUE,
         # learner voiced 18:20–18:25, held 30 s → 18:20–18:25:30; 40 min 30 s → 45 min
         with_evidence(one_to_one(HOUR),
                       publishing={"t1": [span(MON, "18:00", "18:20"),
                                          span(MON, "18:40", "19:00")]},
                       voiced={"l1": [span(MON, "18:20", "18:25")]}),
         {"effective_minutes": 45,
          "t1.notes": ["instructor not publishing and no conversation: 15 min", NO_RATING]}),
    Case("one_to_one: voice from either side within the window; no publishing at all",
         "issue 9: the pair in conversation (voice from either side within the last N s)",
         # voiced 18:00–18:10 (learner) and 18:20–18:30 (teacher), each + 30 s → 21 min
         with_evidence(one_to_one(HOUR), publishing={},
                       voiced={"l1": [span(MON, "18:00", "18:10")],
                               "t1": [span(MON, "18:20", "18:30")]}),
         {"effective_minutes": 21, "t1.points": "2.10"}),
    Case("one_to_one: a 10-minute conversation window (policy) joins the two stretches",
         "policy: forms.one_to_one.conversation_window_s",
         with_evidence(one_to_one(HOUR), publishing={},
                       voiced={"l1": [span(MON, "18:00", "18:10")],
                               "t1": [span(MON, "18:20", "18:30")]}),
         {"effective_minutes": 40}, _with_window(TRAINING, 600)),
    Case("one_to_one: silent, camera off the whole hour", ISSUE,
         with_evidence(one_to_one(HOUR, fb=FB), publishing={}, voiced={}),
         {"effective_minutes": 0, "counted": False, "t1.points": "0.00", "l1.minutes": 0,
          "t1.notes": ["instructor not publishing and no conversation: 60 min",
                       "below minimum 10 min: not counted"]}),
    Case("one_to_one: evidence outside presence does not count", "evidence ⊆ active",
         with_evidence(one_to_one(HOUR), publishing={"t1": [span(MON, "17:00", "18:30")]},
                       voiced={}),
         {"effective_minutes": 30}),
    # --- lecture / classroom: publishing to at least min_viewers receiving -------------
    Case("lecture: camera and microphone off for 15 min", ISSUE,
         # publishing 75 min, learner receiving throughout: 75/60 × (30 + 11 + 1) = 52.50
         with_evidence(lecture([span(MON, "18:00", "19:30")],
                               {"a": [span(MON, "18:00", "19:30")]}),
                       publishing={"t1": [span(MON, "18:00", "18:30"),
                                          span(MON, "18:45", "19:30")]}),
         {"effective_minutes": 75, "t1.points": "52.50",
          "t1.notes": ["instructor not publishing: 15 min", PERF11], "a.minutes": 75}),
    Case("lecture alone: no learner receiving earns nothing",
         "issue 9: a lecturer alone … a 60-minute record of that gives 41 points",
         with_evidence(lecture([span(MON, "18:00", "19:00")], {})),
         {"effective_minutes": 0, "counted": False, "t1.points": "0.00",
          "t1.notes": ["fewer than 1 learner receiving: 60 min",
                       "below minimum 60 min: not counted"]}),
    Case("lecture: learners present but nothing forwarded to them", ISSUE,
         with_evidence(lecture([span(MON, "18:00", "19:00")], {"a": HOUR, "b": HOUR}),
                       receiving={}),
         {"effective_minutes": 0, "t1.points": "0.00", "a.minutes": 0}),
    Case("lecture alone, version 1 record: the viewer rule is new for everyone",
         "issue 9: min_viewers (default 1)",
         lecture([span(MON, "18:00", "19:00")], {}),
         {"basis": "presence", "effective_minutes": 0, "t1.points": "0.00",
          "t1.notes": [NO_EVIDENCE, "fewer than 1 learner receiving: 60 min",
                       "below minimum 60 min: not counted"]}),
    Case("lecture: a receive-only learner counts only while receiving",
         "issue 9: a learner's watched time is their receiving time",
         # b present 60 min but receiving only 18:00–18:30; a keeps E at 60 min
         with_evidence(lecture(HOUR, {"a": HOUR, "b": HOUR}),
                       receiving={"a": HOUR, "b": [span(MON, "18:00", "18:30")]}),
         {"effective_minutes": 60, "a.minutes": 60, "b.minutes": 30, "t1.points": "42.00"}),
    Case("lecture: the time nobody watched is not a lecture", ISSUE,
         # a watches 18:00–18:40, b 18:50–19:30: 10 min with no one receiving → 80 min
         with_evidence(lecture([span(MON, "18:00", "19:30")],
                               {"a": [span(MON, "18:00", "18:40")],
                                "b": [span(MON, "18:50", "19:30")]})),
         {"effective_minutes": 80,
          "t1.notes": ["fewer than 1 learner receiving: 10 min", PERF11]}),
    Case("lecture: min_viewers 2 needs two learners at the same instant",
         "policy: forms.lecture.min_viewers",
         # a 18:00–19:30, b 18:20–19:30, c 18:10–18:30: ≥ 2 from 18:10 → 80 min
         with_evidence(lecture([span(MON, "18:00", "19:30")],
                               {"a": [span(MON, "18:00", "19:30")],
                                "b": [span(MON, "18:20", "19:30")],
                                "c": [span(MON, "18:10", "18:30")]})),
         {"effective_minutes": 80, "t1.notes": ["fewer than 2 learners receiving: 10 min",
                                                PERF11]},
         dataclasses.replace(TRAINING, forms={
             **TRAINING.forms,
             "lecture": dataclasses.replace(TRAINING.forms["lecture"], min_viewers=2)})),
    Case("tutoring classroom: a teacher alone earns nothing",
         "issue 9: a teacher alone in a tutoring classroom is paid 6 points an hour",
         lecture(HOUR, {}, programme="tutoring", form="classroom"),
         {"effective_minutes": 0, "t1.points": "0.00",
          "t1.notes": [NO_EVIDENCE, "fewer than 1 learner receiving: 60 min",
                       "no effective time: not counted"]}, TUTORING),
    Case("tutoring classroom: a student's minutes are their receiving time",
         "issue 9: a learner's watched time is their receiving time",
         with_evidence(lecture(HOUR, {"a": HOUR, "b": HOUR}, programme="tutoring",
                               form="classroom"),
                       receiving={"a": HOUR, "b": [span(MON, "18:30", "19:00")]}),
         {"effective_minutes": 60, "a.minutes": 60, "b.minutes": 30, "t1.points": "6.00"},
         TUTORING),
    # --- review: the discussion needs voice --------------------------------------------
    Case("review: a silent discussion is not a discussion",
         "issue 9: presenter and reviewers present and voiced",
         # all present 18:00–18:50, voiced 18:00–18:30 (+30 s) → 30 min < 45
         with_evidence(review({"L": [span(MON, "18:00", "18:50")],
                               "R1": [span(MON, "18:00", "18:50")]},
                              {"R1": report(at(MON, "19:00"))}),
                       voiced={"L": [span(MON, "18:00", "18:30")]}),
         {"effective_minutes": 0, "R1.points": "30.00", "R1.study_hours": 1,
          "R1.notes": ["no one voiced in the discussion: 20 min",
                       "discussion below minimum 45 min: no discussion hours or points"]}),
    Case("review: voiced throughout counts as before", "seed: 互动研讨 45 min",
         with_evidence(review({"L": [span(MON, "18:00", "18:50")],
                               "R1": [span(MON, "18:00", "18:50")]},
                              {"R1": report(at(MON, "19:00"))})),
         {"effective_minutes": 50, "R1.points": "60.00", "R1.study_hours": 2,
          "L.study_hours": 2, "R1.notes": []}),
    # --- reports ----------------------------------------------------------------------
    Case("review: a one-character report before the start, nobody ever joined",
         "issue 9: a review report of one character … earned its reviewer 30 points",
         review({}, {"R1": REPORT_ONE_CHAR},
                people=[person("L", "learner", "S9", "110118"),
                        person("R1", "instructor", "S1", "110112")]),
         {"R1.points": "0.00", "R1.study_hours": 0, "L.study_hours": 0,
          "R1.notes": [NO_EVIDENCE, "no active time recorded: not counted",
                       "report from a reviewer who did not take part in the discussion: "
                       "no report hour or points"]}),
    Case("review: a report before the session started", "issue 9: submitted after it started",
         review({"L": [span(MON, "18:00", "18:50")], "R1": [span(MON, "18:00", "18:50")]},
                {"R1": report(at(MON, "17:00"))}),
         {"R1.points": "30.00",
          "R1.notes": [NO_EVIDENCE, "report submitted before the session started: "
                       "no report hour or points"]}),
    Case("review: a one-character report", "issue 9: with a minimum length",
         review({"L": [span(MON, "18:00", "18:50")], "R1": [span(MON, "18:00", "18:50")]},
                {"R1": report(at(MON, "19:00"), "好")}),
         {"R1.points": "30.00", "R1.study_hours": 1,
          "R1.notes": [NO_EVIDENCE, "report needs at least 200 visible characters (has 1): "
                       "no report hour or points"]}),
    Case("review: a version 1 report has no text", "issue 9: with a minimum length",
         review({"L": [span(MON, "18:00", "18:50")], "R1": [span(MON, "18:00", "18:50")]},
                {"R1": report(at(MON, "19:00"), None)}),
         {"R1.points": "30.00", "L.study_hours": 1,
          "R1.notes": [NO_EVIDENCE, "report without a text (a version 1 record): "
                       "no report hour or points"],
          "L.notes": [NO_EVIDENCE, "no report counted: no report hour"]}),
    Case("review: the window counts from ended_at: 7 days after 20:00 is in time",
         "issue 9: one function decides the 7-day window, anchored on the session's end",
         review({"L": [span(MON, "18:00", "18:50")], "R1": [span(MON, "18:00", "18:50")]},
                {"R1": report(at("2022-03-14", "19:30"))},
                started_at=at(MON, "17:55"), ended_at=at(MON, "20:00")),
         {"R1.points": "60.00"}),
    Case("review: a report 7 days and 1 s after ended_at is late",
         "issue 9: within the feedback window",
         review({"L": [span(MON, "18:00", "18:50")], "R1": [span(MON, "18:00", "18:50")]},
                {"R1": report(at("2022-03-14", "20:00:01"))}, ended_at=at(MON, "20:00")),
         {"R1.points": "30.00",
          "R1.notes": [NO_EVIDENCE, "report after 7 days: no report hour or points"]}),
    # --- feedback texts ---------------------------------------------------------------
    Case("feedback of 200 zero-width spaces is refused",
         "issue 9: feedback of 200 zero-width spaces (U+200B) … unlocks rating points",
         with_evidence(one_to_one(HOUR, fb=feedback(at(MON, "20:00"), 5, "\u200b" * 200))),
         {"t1.points": "6.00", "l1.study_minutes": 0,
          "l1.notes": ["feedback needs at least 200 visible characters (has 0): "
                       "no study hours"]}),
    Case("feedback of 'a' × 200 is refused", "issue 9: a minimum of distinct characters",
         with_evidence(one_to_one(HOUR, fb=feedback(at(MON, "20:00"), 5, "a" * 200))),
         {"t1.points": "6.00", "l1.study_minutes": 0,
          "l1.notes": ["feedback needs at least 20 different characters (has 1): a repeated "
                       "character is not a text: no study hours"]}),
    Case("feedback of 👍 × 200 is refused", "issue 9: a minimum of distinct characters",
         with_evidence(one_to_one(HOUR, fb=feedback(at(MON, "20:00"), 5, "👍" * 200))),
         {"t1.points": "6.00",
          "l1.notes": ["feedback needs at least 20 different characters (has 1): a repeated "
                       "character is not a text: no study hours"]}),
    Case("feedback 7 days after ended_at, though 8 days after the last active instant",
         "issue 9: REST counts from ended_at, credits from the last active instant",
         {**with_evidence(one_to_one([span("2022-03-06", "18:00", "19:00")],
                                     fb=feedback(at("2022-03-14", "12:00")))),
          "ended_at": at(MON, "18:00")},
         {"t1.points": "16.00", "l1.study_minutes": 60}),
    Case("feedback 7 days and 1 s after ended_at is late",
         "issue 9: one function decides the 7-day window",
         {**with_evidence(one_to_one(HOUR, fb=feedback(at("2022-03-14", "21:00:01")))),
          "ended_at": at(MON, "21:00")},
         {"t1.points": "6.00", "l1.notes": ["feedback after 7 days: no study hours"]}),
    # --- the basis ---------------------------------------------------------------------
    Case("a version 1 record is computed from presence, and says so",
         "issue 9: a record without the new fields is computed from active as today",
         one_to_one(HOUR, fb=FB),
         {"basis": "presence", "effective_minutes": 60, "t1.points": "16.00",
          "t1.notes": [NO_EVIDENCE], "l1.notes": [NO_EVIDENCE]}),
    Case("publishing {} is the evidence basis: nobody published",
         "docs/record.md: a record with publishing (even {})",
         {**one_to_one(HOUR), "publishing": {}},
         {"basis": "evidence", "effective_minutes": 0}),
]


def _get(result: dict[str, Any], key: str) -> Any:
    if "." not in key:
        return result[key]
    pid, attr = key.split(".", 1)
    return result["people"][pid][attr]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    result = compute_session(case.record, case.policy, CALENDAR)
    json.dumps(result)  # plain JSON, always
    for key, expected in case.expect.items():
        assert _get(result, key) == expected, f"{key} ({case.why})"


# --- schools and districts by code ------------------------------------------------------

PLACE = "issue 9: \"北京四中\" vs \"北京四中 \" and \"西城区\" vs \"西城\" are paid"


def _pair(teacher: dict[str, str], learner: dict[str, str]) -> dict[str, Any]:
    record = with_evidence(one_to_one(HOUR, fb=FB))
    record["people"] = [{"id": "t1", "role": "instructor", **teacher},
                        {"id": "l1", "role": "learner", **learner}]
    return record


PLACES = [
    ({"school": "北京四中", "district": "西城区"}, {"school": "北京四中 ", "district": "东城区"},
     "0.00", ["compared by name (no codes): school '北京四中' = '北京四中 ', "
              "district '西城区' ≠ '东城区'", "same school: no points"]),
    ({"school": "四中", "district": "西城区"}, {"school": "八中", "district": "西城"},
     "0.00", ["compared by name (no codes): school '四中' ≠ '八中', "
              "district '西城区' = '西城'", "same district: no points"]),
    ({"school": "ＳＣＨＯＯＬ４", "district": "Xicheng District"},
     {"school": "school4", "district": "110102"},
     "0.00", ["compared by name (no codes): school 'ＳＣＨＯＯＬ４' = 'school4', "
              "district 'Xicheng District' = '110102'", "same school and district: no points"]),
    # Codes decide when both sides have them; names are for display only.
    ({"school": "北京四中", "district": "西城区", "school_id": "1101020004",
      "district_code": "110102"},
     {"school": "北京四中", "district": "西城区", "school_id": "1101080017",
      "district_code": "110108"}, "16.00", []),
    ({"school": "四中", "district": "西城", "school_id": "1101020004",
      "district_code": "110102"},
     {"school": "北京市第四中学", "district": "Xicheng", "school_id": "1101020004",
      "district_code": "110102"}, "0.00", ["same school and district: no points"]),
    # A code on one side, a district name on the other: the name maps to its code.
    ({"school": "四中", "district": "西城", "school_id": "1101020004",
      "district_code": "110102"},
     {"school": "八中", "district": "西城区", "school_id": "1101020008"},
     "0.00", ["compared by name (no codes): district '西城' = '西城区'",
              "same district: no points"]),
]


@pytest.mark.parametrize(("teacher", "learner", "points", "notes"), PLACES)
def test_places_by_code(
    teacher: dict[str, str], learner: dict[str, str], points: str, notes: list[str]
) -> None:
    result = compute_session(_pair(teacher, learner), TRAINING, CALENDAR)["people"]["t1"]
    assert (result["points"], result["notes"]) == (points, notes), PLACE


def test_lecture_viewers_by_name_are_flagged() -> None:
    record = with_evidence(lecture(HOUR, {"a": HOUR, "b": HOUR}))
    record["people"] = [
        {"id": "t1", "role": "instructor", "school": "北京四中", "district": "西城区"},
        {"id": "a", "role": "learner", "school": "北京四中 ", "district": "海淀区"},
        {"id": "b", "role": "learner", "school": "八中", "district": "东城",
         "school_id": "x8", "district_code": "110101"},
    ]
    t1 = compute_session(record, TRAINING, CALENDAR)["people"]["t1"]
    assert t1["notes"] == [
        "compared by name (no codes): school or district of 2 learner(s)", PERF11,
        "same school or district: 1 learner(s) not counted as viewers"]


def test_the_place_rule_is_places_same_place() -> None:
    """The engine compares the keys each person carries; that is places.same_place."""
    from recorder.credits.checks import place_rule
    from recorder.credits.places import Place, same_place
    from recorder.credits.records import make_person

    names = [("北京四中", "", "西城区", ""), ("北京四中 ", "", "西城", ""),
             ("八中", "s8", "东城区", "110101"), ("x", "s8", "y", "110101"), ("", "", "", "")]
    for a in names:
        for b in names:
            pa, pb = make_person("a", "instructor", *a[::2], *a[1::2]), make_person(
                "b", "learner", *b[::2], *b[1::2])
            school = same_place(Place(a[1], a[0]), Place(b[1], b[0]), district=False)
            district = same_place(Place(a[3], a[2]), Place(b[3], b[2]), district=True)
            why, named = place_rule(TRAINING, pa, pb)
            assert ("school" in (why or "")) == school[0], (a, b)
            assert ("district" in (why or "")) == district[0], (a, b)
            assert (named is not None) == (school[1] or district[1]), (a, b)


# --- marks (display only) ---------------------------------------------------------------


def test_marks_are_shown_and_change_nothing() -> None:
    record = one_to_one(HOUR, programme="tutoring", fb=FB)
    plain = compute_session(record, TUTORING, CALENDAR)
    marks = {"l1": {"problem": "二次函数求最值", "subject": "数学", "knowledge_point": "配方法",
                    "marked_at": at(MON, "19:05"), "by": "t1"}}
    marked = compute_session({**record, "marks": marks}, TUTORING, CALENDAR)
    assert marked["marks"] == [{"learner": "l1", **marks["l1"]}]
    assert plain["marks"] == []
    assert {**marked, "marks": []} == plain


# --- the sweep ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_covered_by_k_of_n_matches_counting_every_instant(seed: int) -> None:
    """evidence_rules.covered_by against a count at every instant of a small grid."""
    import random

    from recorder.credits.evidence_rules import conversation, covered_by
    from recorder.credits.intervals import normalize, union

    rng = random.Random(seed)
    for _ in range(200):
        sets = []
        for _ in range(rng.randint(0, 6)):
            pairs = []
            for _ in range(rng.randint(0, 3)):
                a = rng.randrange(0, 40)
                pairs.append((a, a + rng.randrange(0, 12)))
            sets.append(normalize(pairs))
        for k in range(0, 5):
            got = covered_by(sets, k)
            want = normalize(
                (t, t + 1) for t in range(0, 60)
                if k > 0 and sum(any(a <= t < b for a, b in s) for s in sets) >= k
            )
            assert got == want, (sets, k)
        assert covered_by(sets, 1) == union(*sets)
        held = conversation(sets, 2)
        assert held == union(*(((a, b + 2_000_000) for a, b in s) for s in sets))
