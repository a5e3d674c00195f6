"""Supervisors who watched a session read-only (issue 16) are in its record as
``observers`` and nowhere else: the credits of a record are the same with and without
them, and an observer who leaked into the credit inputs (``people``, ``active``, the
evidence) would make the record invalid, never paid."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from credits_builders import CALENDAR, TRAINING, TUTORING, at, feedback, one_to_one, person, span

from recorder.credits.records import RecordError
from recorder.credits.rules import compute_session
from recorder.credits.statement import compute_sessions

MON = "2022-03-07"
OBSERVERS = [
    {"staff": "tz-office", "joined": at(MON, "18:05"), "left": at(MON, "19:00")},
    {"staff": "city-office", "joined": at(MON, "18:30"), "left": None},
]


def lecture_of(learners: int) -> dict[str, Any]:
    """A lecture 18:00-19:00 with ``learners`` watching it all and rating it: the viewer
    count rule (1 point an hour per 10 learners) has something to count."""
    whole = [span(MON, "18:00", "19:00")]
    ids = [f"l{i}" for i in range(learners)]
    return {
        "session_id": "lec",
        "programme": "training",
        "form": "lecture",
        "people": [person("t1", "instructor", "S1", "Tongzhou")]
        + [person(pid, "learner", "S9", "Miyun") for pid in ids],
        "active": {"t1": whole, **{pid: whole for pid in ids}},
        "publishing": {"t1": whole},
        "voiced": {"t1": whole},
        "receiving": {pid: whole for pid in ids},
        "feedback": {pid: feedback(at("2022-03-08", "12:00")) for pid in ids},
    }


@pytest.mark.parametrize("record", [
    lecture_of(19),
    one_to_one([span(MON, "18:00", "19:00")], fb=feedback(at("2022-03-08", "12:00"))),
], ids=["lecture", "one_to_one"])
def test_observers_change_no_credit(record: dict[str, Any]) -> None:
    watched = {**copy.deepcopy(record), "observers": OBSERVERS}
    assert compute_session(watched, TRAINING, CALENDAR) == compute_session(
        record, TRAINING, CALENDAR)
    # The batch path (statements, the console) too.
    assert list(compute_sessions([watched], TRAINING, CALENDAR)) == list(
        compute_sessions([record], TRAINING, CALENDAR))


def test_a_lecture_counts_its_learners_not_its_observers() -> None:
    # 19 learners: 2 points an hour for viewers (1 per started 10); two supervisors
    # watching would make 21 "viewers" (3 points) if they were counted.
    result = compute_session({**lecture_of(19), "observers": OBSERVERS}, TRAINING, CALENDAR)
    assert result == compute_session(lecture_of(19), TRAINING, CALENDAR)
    assert result != compute_session(lecture_of(21), TRAINING, CALENDAR)


def test_an_observer_leaked_into_the_inputs_is_refused_not_paid() -> None:
    base = lecture_of(3)
    whole = [span(MON, "18:00", "19:00")]
    for leaked in (
        {**base, "active": {**base["active"], "~tz-office": whole}},
        {**base, "receiving": {**base["receiving"], "~tz-office": whole}},
        {**base, "people": [*base["people"], {**person("~tz-office", "observer")}]},
    ):
        with pytest.raises(RecordError):
            compute_session(leaked, TRAINING, CALENDAR)


def test_tutoring_records_with_observers() -> None:
    record = one_to_one([span(MON, "18:00", "19:00")], programme="tutoring",
                        fb=feedback(at("2022-03-08", "12:00")))
    watched = {**record, "observers": OBSERVERS}
    assert compute_session(watched, TUTORING, CALENDAR) == compute_session(
        record, TUTORING, CALENDAR)
