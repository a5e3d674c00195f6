"""The live clock's figures and its ``why_not`` code (issue 12, item 3): the engine's
counted minutes and the timeline's per-minute reason of the last complete minute."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from credits_builders import CALENDAR, TRAINING, at, one_to_one, person, span, with_evidence

from recorder.credits.calendar import to_us
from recorder.credits.clock import CODES, WHY_NOT, clock_figures, latest_status, why_not
from recorder.credits.rules import US_PER_MINUTE, compute_session
from recorder.credits.timeline import REASONS, Minute, minute_table

MON = "2022-03-07"  # a working day of the sample calendar's term: open 18:00–22:00


def now_at(clock: str) -> int:
    return to_us(datetime.fromisoformat(at(MON, clock)))


def lecture(t1: list[list[str]], l1: list[list[str]]) -> dict[str, Any]:
    return {"session_id": "L", "programme": "training", "form": "lecture",
            "people": [person("t1", "instructor"), person("l1", "learner")],
            "active": {"t1": t1, "l1": l1}}


def test_every_timeline_reason_has_a_clock_code() -> None:
    assert set(WHY_NOT) == set(REASONS)
    assert {c for c in WHY_NOT.values() if c is not None} | {"not_started", "ended"} == set(CODES)


@pytest.mark.parametrize(("status", "ended", "code"), [
    ("counted", False, None),
    ("below_minimum", False, None),  # counting towards the minimum
    ("outside_open_hours", False, "outside_hours"),
    ("not_both_present", False, "alone"),
    ("instructor_not_publishing", False, "instructor_silent"),
    ("nobody_receiving", False, "no_viewers"),
    ("above_maximum", False, "above_maximum"),
    (None, False, "not_started"),
    ("counted", True, "ended"),
    ("some_future_reason", False, "not_effective"),  # never a code the client lacks
])
def test_why_not_of_a_status(status: str | None, ended: bool, code: str | None) -> None:
    assert why_not(status, ended=ended) == code


def test_the_last_complete_minute_decides_not_the_one_filling() -> None:
    def minute(clock: str, status: str) -> Minute:
        return Minute(now_at(clock), frozenset({"t1"}), frozenset(), {}, 0, status)

    minutes = [minute("18:00", "counted"), minute("18:01", "instructor_not_publishing")]
    # 18:01:30: 18:00 is the last complete minute; 18:01 is still filling.
    assert latest_status(minutes, now_at("18:01:30")) == "counted"
    assert latest_status(minutes, now_at("18:02")) == "instructor_not_publishing"
    assert latest_status(minutes[:1], now_at("18:00:20")) == "counted"  # none complete yet
    assert latest_status([], now_at("18:00")) is None


@pytest.mark.parametrize(("record", "now", "expected"), [
    # 8 min of a one-to-one: effective, under the 10-minute minimum, still counting.
    (one_to_one([span(MON, "18:00", "18:08")]), "18:08",
     {"counted_minutes": 8, "meets_minimum": False, "counting": True, "why_not": None,
      "min_minutes": 10, "max_minutes": 60}),
    # Before the open hours: nothing counts, and the teacher is told why.
    (one_to_one([span(MON, "17:30", "17:50")]), "17:50",
     {"counted_minutes": 0, "meets_minimum": False, "counting": False,
      "why_not": "outside_hours"}),
    # 25 min together, then the learner left: the counted figure stays, "alone".
    (one_to_one([span(MON, "18:00", "18:30")], [span(MON, "18:00", "18:25")]), "18:30",
     {"counted_minutes": 25, "meets_minimum": True, "counting": False, "why_not": "alone"}),
    # 70 min: the first 60 count, the maximum is reached.
    (one_to_one([span(MON, "18:00", "19:10")]), "19:10",
     {"counted_minutes": 60, "meets_minimum": True, "why_not": "above_maximum"}),
    # A lecture whose teacher shares nothing (evidence basis): silent.
    (with_evidence(lecture([span(MON, "18:00", "18:20")], [span(MON, "18:00", "18:20")]),
                   publishing={}), "18:20",
     {"counted_minutes": 0, "why_not": "instructor_silent", "min_minutes": 60}),
    # Taught, but no learner receiving: no viewers.
    (with_evidence(lecture([span(MON, "18:00", "18:20")], [span(MON, "18:00", "18:20")]),
                   receiving={}), "18:20",
     {"counted_minutes": 0, "why_not": "no_viewers"}),
    # Nobody active yet.
    (one_to_one([]), "18:00", {"counted_minutes": 0, "why_not": "not_started"}),
])
def test_clock_figures(record: dict[str, Any], now: str, expected: dict[str, Any]) -> None:
    got = clock_figures(record, TRAINING, CALENDAR, now_at(now), ended=False).to_json()
    assert {k: got[k] for k in expected} == expected


def test_the_counted_figure_is_the_engines() -> None:
    # Whatever the clock says once the session is over is what the credits say.
    record = one_to_one([span(MON, "18:00", "18:40")], [span(MON, "18:05", "18:40")])
    got = clock_figures(record, TRAINING, CALENDAR, now_at("18:40"), ended=True)
    paid = compute_session(record, TRAINING, CALENDAR)
    assert got.counted_minutes == paid["effective_minutes"] == paid["people"]["t1"]["minutes"]
    assert got.why_not == "ended" and got.counting is False
    # And the reason is the timeline's for the same minute.
    table = minute_table(record, TRAINING, CALENDAR)
    assert table[2].status == "not_both_present" and table[-1].start + US_PER_MINUTE == now_at(
        "18:40")
