"""Statements (issue 9, item 3): a person is in one place at a time.

"for each person, take their sessions in order of effective start (ties by session_id);
the session's effective time is computed as today (open hours, then the form's minimum
and maximum); then, for that person, the part of it already credited to them by an
earlier session is removed, and their minutes, points, study hours and the term caps are
computed on what remains (whole minutes, floor)."
"""

from __future__ import annotations

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

from recorder.credits.engine import Engine
from recorder.credits.rules import compute_session
from recorder.credits.statement import (
    StatementBuilder,
    compute_sessions,
    compute_statement,
)

MON = "2022-03-07"
FB = feedback(at(MON, "21:00"))
ONE_PLACE = "issue 9: two simultaneous 60-minute one-to-ones: 32 points and 2 study hours"


def _by_id(records: list[dict[str, Any]], policy: Any = TRAINING) -> dict[str, Any]:
    return {o.record.session_id: o.to_json() for o in compute_sessions(records, policy, CALENDAR)}


def test_two_simultaneous_one_to_ones_pay_the_teacher_once() -> None:
    a = with_evidence(one_to_one([span(MON, "18:00", "19:00")], sid="a", learner="l1", fb=FB))
    b = with_evidence(one_to_one([span(MON, "18:00", "19:00")], sid="b", learner="l2", fb=FB))
    out = _by_id([b, a])
    assert out["a"]["people"]["t1"]["points"] == "16.00"
    teacher = out["b"]["people"]["t1"]
    assert (teacher["minutes"], teacher["points"], teacher["study_minutes"]) == (
        0, "0.00", 0), ONE_PLACE
    assert teacher["notes"] == ["already credited by an earlier session at the same time: 60 min"]
    assert out["b"]["people"]["l2"] == out["a"]["people"]["l1"]  # its learner is unaffected
    statement = compute_statement([a, b], TRAINING, CALENDAR)
    assert statement["people"]["t1"]["terms"]["2022-spring"] == {
        "points": "16.00", "pay_cny": "160.00", "sessions": 2}
    assert statement["people"]["t1"]["years"] == {"2022": {"study_hours": 1, "credits": 0}}
    assert statement["people"]["l2"]["years"] == {"2022": {"study_hours": 1, "credits": 0}}
    assert statement["overlaps"] == [{"person": "t1", "session_id": "b",
                                      "earlier_session_id": "a", "minutes": 60,
                                      "seconds": 3600}]
    # One session alone is not affected.
    assert compute_session(b, TRAINING, CALENDAR) == out["a"] | {
        "session_id": "b", "people": {"t1": out["a"]["people"]["t1"],
                                      "l2": out["a"]["people"]["l1"]}}


def test_a_partial_overlap_removes_only_the_shared_part() -> None:
    # a 18:00–19:00; b 18:30:30–19:40 runs 69 min 30 s, of which the first 60 count
    # (18:30:30–19:30:30: the maximum applies first, as the rule fixes it); 29 min 30 s of
    # those were a's, so the teacher keeps 30 min 30 s → 30 min
    a = with_evidence(one_to_one([span(MON, "18:00", "19:00")], sid="a", learner="l1", fb=FB))
    b = with_evidence(one_to_one([span(MON, "18:30:30", "19:40")], sid="b", learner="l2",
                                 fb=feedback(at(MON, "21:00"), 3)))
    out = _by_id([a, b])
    teacher = out["b"]["people"]["t1"]
    # 30 min at (6 + 8) per hour = 7.00
    assert (teacher["minutes"], teacher["points"], teacher["study_minutes"]) == (30, "7.00", 30)
    assert out["b"]["effective_minutes"] == 60  # the session's own figure (max 60) stays
    # The note says what the teacher's whole minutes lost (60 → 30); the statement lists
    # the overlap itself (29 min 30 s).
    assert teacher["notes"] == [
        "above maximum 60 min: 9 min not counted",
        "already credited by an earlier session at the same time: 30 min"]
    statement = compute_statement([a, b], TRAINING, CALENDAR)
    assert statement["overlaps"] == [{"person": "t1", "session_id": "b",
                                      "earlier_session_id": "a", "minutes": 29,
                                      "seconds": 1770}]
    assert statement["people"]["t1"]["terms"]["2022-spring"]["points"] == "23.00"


def test_sessions_are_ordered_by_effective_start() -> None:
    """b's record starts first (its learner waited alone from 17:50) but its effective time
    starts at 18:20, after a's: a is the earlier session and b loses the overlap."""
    a = with_evidence(one_to_one([span(MON, "18:10", "19:00")], sid="a", learner="l1", fb=FB))
    b = with_evidence(one_to_one([span(MON, "18:20", "19:00")], [span(MON, "17:50", "19:00")],
                                 sid="b", teacher="t1", learner="l2", fb=FB))
    out = _by_id([a, b])
    assert list(out) == ["a", "b"]
    assert out["a"]["people"]["t1"]["minutes"] == 50
    assert out["b"]["people"]["t1"]["minutes"] == 0
    # Ties are broken by session_id.
    c = with_evidence(one_to_one([span(MON, "18:10", "19:00")], sid="0c", learner="l3", fb=FB))
    out = _by_id([a, b, c])
    assert list(out) == ["0c", "a", "b"]
    assert out["a"]["people"]["t1"]["minutes"] == 0


def test_the_term_cap_counts_only_sessions_that_still_earn() -> None:
    """Training allows 2 paid one_to_ones a term; a double-booked one earns nothing after
    the removal, so it does not use the allowance."""
    records = [
        with_evidence(one_to_one([span(MON, "18:00", "19:00")], sid="a", learner="l1")),
        with_evidence(one_to_one([span(MON, "18:00", "19:00")], sid="b", learner="l2")),
        with_evidence(one_to_one([span("2022-03-08", "18:00", "19:00")], sid="c",
                                 learner="l3")),
    ]
    out = _by_id(records)
    assert [out[s]["people"]["t1"]["points"] for s in "abc"] == ["6.00", "0.00", "6.00"]


def test_a_learner_in_two_lectures_at_once_is_credited_once() -> None:
    def lecture(sid: str, teacher: str) -> dict[str, Any]:
        return with_evidence({
            "session_id": sid, "programme": "training", "form": "lecture",
            "people": [person(teacher, "instructor", f"S{teacher}", f"D{teacher}"),
                       person("a", "learner", "Sa", "Da")],
            "active": {teacher: [span(MON, "18:00", "19:00")],
                       "a": [span(MON, "18:00", "19:00")]},
            "feedback": {"a": feedback(at(MON, "20:00"))},
        })

    out = _by_id([lecture("x", "t1"), lecture("y", "t2")])
    assert out["x"]["people"]["a"]["study_minutes"] == 60
    assert out["y"]["people"]["a"]["study_minutes"] == 0
    # … and y's teacher loses that viewer: 0 viewers, no viewer points.
    assert out["y"]["people"]["t2"]["breakdown"]["viewers"] == "0.00"
    assert out["y"]["people"]["t2"]["minutes"] == 60


def test_a_review_discussion_must_still_reach_45_minutes() -> None:
    """A review's discussion points are not per hour: with the overlap removed the
    reviewer's remaining discussion must still reach the minimum."""
    first = with_evidence(one_to_one([span(MON, "18:00", "18:30")], sid="a", teacher="R1"))
    review = with_evidence({
        "session_id": "r", "programme": "training", "form": "review",
        "people": [person("L", "learner", "S9", "D9"), person("R1", "instructor", "S1", "D1")],
        "active": {"L": [span(MON, "18:10", "19:00")], "R1": [span(MON, "18:10", "19:00")]},
        "reports": {"R1": {"submitted_at": at(MON, "20:00"), "text": TEXT_OK}},
        "feedback": {"L": feedback(at(MON, "20:00"))},
    })
    out = _by_id([first, review])
    reviewer = out["r"]["people"]["R1"]
    assert (reviewer["minutes"], reviewer["points"], reviewer["study_hours"]) == (30, "30.00", 1)
    assert reviewer["notes"][-1] == (
        "discussion below minimum 45 min once time already credited is removed: "
        "no discussion hours or points")
    assert out["r"]["people"]["L"]["study_hours"] == 2  # the learner was in one place


def test_streaming_in_record_order_gives_the_batch_result() -> None:
    records = [with_evidence(one_to_one([span(MON, s, e)], [span(MON, ls, e)], sid=sid,
                                        learner=f"l{sid}", fb=FB))
               for sid, s, ls, e in (("a", "17:40", "18:25", "19:00"),
                                     ("b", "18:00", "18:01", "19:30"),
                                     ("c", "18:05", "18:05", "18:50"))]
    builder = StatementBuilder(TRAINING, CALENDAR)
    done = [o.record.session_id for r in records for o in builder.add(r)]
    done += [o.record.session_id for o in builder.finish()]
    assert done == ["b", "c", "a"]  # effective starts 18:01, 18:05, 18:25
    assert builder.result() == compute_statement(records, TRAINING, CALENDAR)
    with pytest.raises(ValueError, match="out of order"):
        builder.add(records[0])


def test_engine_evaluate_with_already_credited_time() -> None:
    record = with_evidence(one_to_one([span(MON, "18:00", "19:00")], fb=FB))
    engine = Engine(TRAINING, CALENDAR)
    taken = ((1_646_647_200_000_000, 1_646_649_000_000_000),)  # 18:00–18:30 local
    outcome = engine.evaluate(record, {"t1": taken})
    assert outcome.people["t1"].minutes == 30
    assert outcome.people["t1"].credited == ((1_646_649_000_000_000, 1_646_650_800_000_000),)
    assert outcome.people["l1"].minutes == 60
    assert engine.evaluate(record).to_json()["people"]["t1"]["points"] == "16.00"
    assert outcome.to_json()["people"]["t1"]["points"] == "8.00"


def test_marks_are_listed_in_the_statement() -> None:
    marks = {"l1": {"problem": "受力分析", "subject": "物理", "knowledge_point": "牛顿第二定律",
                    "marked_at": at(MON, "19:10"), "by": "t1"}}
    record = {**one_to_one([span(MON, "18:00", "19:00")], programme="tutoring", fb=FB),
              "marks": marks}
    statement = compute_statement([record], TUTORING, CALENDAR)
    assert statement["marks"] == {"s1": [{"learner": "l1", **marks["l1"]}]}
    assert statement["people"]["t1"]["terms"]["2022-spring"]["points"] == "16.00"
