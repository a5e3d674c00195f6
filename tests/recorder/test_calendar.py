"""Calendar: working days, make-up workdays, holidays, terms, open hours in UTC."""

from __future__ import annotations

from datetime import date

import pytest
from credits_builders import CALENDAR, TRAINING, TUTORING

from recorder.credits.calendar import (
    SAMPLE_CALENDAR,
    CalendarError,
    OpenHours,
    from_us,
    loads_calendar,
)

SMALL = """
timezone = "Asia/Shanghai"
holidays = ["2022-04-04", "2022-04-05"]
workdays = ["2022-04-02"]

[[terms]]
name = "2022-spring"
start = "2022-02-14"
end = "2022-07-08"
"""


def utc(us: int) -> str:
    return from_us(us).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2022-03-07", True),  # Monday
        ("2022-03-05", False),  # Saturday
        ("2022-04-02", True),  # Saturday, listed make-up workday
        ("2022-04-04", False),  # Monday, holiday
        ("2022-04-03", False),  # Sunday
    ],
)
def test_working_days(day: str, working: bool) -> None:
    assert loads_calendar(SMALL).is_working_day(date.fromisoformat(day)) is working


def test_terms_are_inclusive() -> None:
    cal = loads_calendar(SMALL)
    assert cal.term_of(date(2022, 2, 14)) is not None
    assert cal.term_of(date(2022, 7, 8)) is not None
    assert cal.term_of(date(2022, 2, 13)) is None
    assert cal.term_of(date(2022, 7, 9)) is None


def test_open_hours_are_utc_windows() -> None:
    """18:00–22:00 in Beijing is 10:00–14:00 UTC; a rest day opens at 08:00 (00:00 UTC)."""
    cal = loads_calendar(SMALL)
    monday = cal.windows_on(TRAINING.open_hours, date(2022, 3, 7))
    assert [(utc(a), utc(b)) for a, b in monday] == [("2022-03-07 10:00", "2022-03-07 14:00")]
    saturday = cal.windows_on(TRAINING.open_hours, date(2022, 3, 5))
    assert [(utc(a), utc(b)) for a, b in saturday] == [("2022-03-05 00:00", "2022-03-05 14:00")]
    assert cal.windows_on(TUTORING.open_hours, date(2022, 3, 5)) == ()
    assert cal.windows_on(TUTORING.open_hours, date(2022, 4, 2)) != ()
    assert cal.windows_on(TRAINING.open_hours, date(2022, 7, 20)) == ()  # summer


def test_window_may_end_at_midnight() -> None:
    cal = loads_calendar(SMALL)
    hours = OpenHours(working_day=((1320, 1440),), rest_day=(), terms_only=False)
    (window,) = cal.windows_on(hours, date(2022, 3, 7))
    assert (utc(window[0]), utc(window[1])) == ("2022-03-07 14:00", "2022-03-07 16:00")


def test_open_intervals_cover_every_date_touched() -> None:
    cal = loads_calendar(SMALL)
    start = cal.windows_on(TRAINING.open_hours, date(2022, 3, 11))[0][0]  # Friday 18:00
    end = cal.windows_on(TRAINING.open_hours, date(2022, 3, 13))[0][1]  # Sunday 22:00
    assert len(cal.open_intervals(TRAINING.open_hours, start, end)) == 3


def test_sample_calendar_is_marked_and_complete() -> None:
    text = SAMPLE_CALENDAR.read_text(encoding="utf-8")
    assert text.startswith("# SAMPLE CALENDAR")
    names = [t.name for t in CALENDAR.terms]
    assert names[0] == "2021-autumn" and names[-1] == "2027-spring"
    assert {date(2022, 10, 1), date(2022, 4, 5), date(2026, 2, 17), date(2026, 10, 7)} <= (
        CALENDAR.holidays
    )
    assert {date(2022, 4, 2), date(2026, 2, 28)} <= CALENDAR.workdays


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('timezone = "Mars/Olympus"', "timezone: unknown time zone 'Mars/Olympus'"),
        ('holidays = ["2022-13-01"]', 'holidays[0]: must be a date like "2022-04-04"'),
        ('workdays = ["2022-04-06"]', "workdays: 2022-04-06 is a weekday"),
        ('holidays = ["2022-04-02"]\nworkdays = ["2022-04-02"]',
         "workdays: 2022-04-02 is also listed as a holiday"),
        ('[[terms]]\nname = "a"\nstart = "2022-03-01"\nend = "2022-02-01"',
         "terms[0].end: 2022-02-01 is before the start 2022-03-01"),
        ('[[terms]]\nname = "a"\nstart = 2022-02-01\nend = 2022-07-01\n'
         '[[terms]]\nname = "b"\nstart = 2022-07-01\nend = 2022-09-01',
         "terms: 'a' and 'b' overlap"),
        ("timezone = ", "calendar is not valid TOML"),
    ],
)
def test_bad_calendars_name_the_field(text: str, message: str) -> None:
    with pytest.raises(CalendarError) as info:
        loads_calendar(text)
    assert str(info.value).startswith(message)


def test_default_timezone_is_shanghai() -> None:
    assert loads_calendar("").timezone.key == "Asia/Shanghai"
