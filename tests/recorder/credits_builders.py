"""Builders shared by the credits tests: records in local Beijing time, the sample calendar.

(A plain module, not a conftest, so it cannot clash with other tests under tests/recorder.)
"""

from __future__ import annotations

from typing import Any

from recorder.calendar import SAMPLE_CALENDAR, Calendar, load_calendar
from recorder.policy import Policy, load_policy

TEXT_OK = "收获" * 100  # 200 characters: the minimum the seed asks ("不少于200字")


def at(day: str, clock: str) -> str:
    """Local Beijing time as ISO-8601: at("2022-03-07", "18:00") → 2022-03-07T18:00:00+08:00."""
    if clock.count(":") == 1:
        clock += ":00"
    return f"{day}T{clock}+08:00"


def span(day: str, start: str, end: str, end_day: str | None = None) -> list[str]:
    return [at(day, start), at(end_day or day, end)]


def person(pid: str, role: str, school: str = "", district: str = "") -> dict[str, str]:
    return {
        "id": pid,
        "role": role,
        "school": school or f"school-{pid}",
        "district": district or f"district-{pid}",
    }


def feedback(submitted: str, rating: int = 5, text: str = TEXT_OK) -> dict[str, Any]:
    return {"submitted_at": submitted, "rating": rating, "text": text}


def one_to_one(
    active_t: list[list[str]],
    active_l: list[list[str]] | None = None,
    *,
    sid: str = "s1",
    programme: str = "training",
    fb: dict[str, Any] | None = None,
    teacher: str = "t1",
    learner: str = "l1",
    t_place: tuple[str, str] = ("S1", "Tongzhou"),
    l_place: tuple[str, str] = ("S9", "Miyun"),
) -> dict[str, Any]:
    """A one_to_one record; the learner is present exactly like the teacher unless given."""
    record: dict[str, Any] = {
        "session_id": sid,
        "programme": programme,
        "form": "one_to_one",
        "people": [
            person(teacher, "instructor", *t_place),
            person(learner, "learner", *l_place),
        ],
        "active": {teacher: active_t, learner: active_l if active_l is not None else active_t},
    }
    if fb is not None:
        record["feedback"] = {learner: fb}
    return record


CALENDAR: Calendar = load_calendar(SAMPLE_CALENDAR)
TRAINING: Policy = load_policy("training")
TUTORING: Policy = load_policy("tutoring")
