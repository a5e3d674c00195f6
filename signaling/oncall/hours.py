"""Is on-demand tutoring open now? The tutoring policy's open hours on the term
calendar ("辅导时间为校历规定的每个学期周一到周五的18:00-21:00", seed 002). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from recorder.credits.calendar import Calendar, OpenHours


@dataclass(frozen=True)
class Openness:
    open: bool
    # when closed: "out_of_term", "closed_today" or "outside_hours"
    reason: str = ""
    # today's windows as local "HH:MM–HH:MM" (shown with the refusal)
    today: tuple[str, ...] = ()
    closes_at: float | None = None  # when open: the end of the current window (epoch s)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def openness(calendar: Calendar, hours: OpenHours, now: float) -> Openness:
    us = int(now * 1_000_000)
    day = calendar.local_date(us)
    spec = hours.working_day if calendar.is_working_day(day) else hours.rest_day
    today = tuple(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in spec)
    if hours.terms_only and calendar.term_of(day) is None:
        return Openness(False, "out_of_term")
    windows = calendar.windows_on(hours, day)
    if not windows:
        return Openness(False, "closed_today")
    for start, end in windows:
        if start <= us < end:
            return Openness(True, "", today, end / 1_000_000)
    return Openness(False, "outside_hours", today)
