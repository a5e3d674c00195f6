"""Calendar fixtures that make on-demand tutoring open (or closed) at a given instant,
whatever the real time of day: a zone in which it is 19:xx then, that date a listed
working day inside a term. Tests never depend on the machine's clock for open hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _zone_at_seven_pm(now: float) -> tuple[str, str, bool]:
    utc = datetime.fromtimestamp(now, UTC)
    offset = (19 - utc.hour) % 24
    if offset > 14:  # Etc/GMT zones span UTC-12 … UTC+14
        offset -= 24
    # POSIX-style names: "Etc/GMT-8" is UTC+8.
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
    local = (utc + timedelta(hours=offset)).date()
    return zone, local.isoformat(), local.weekday() >= 5


def calendar_text(now: float, *, open_now: bool = True) -> str:
    """A calendar TOML in which the tutoring policy's open hours (18:00–21:00 on working
    days, in term) hold ``now`` — or, with ``open_now`` false, ``now`` is out of term."""
    zone, day, weekend = _zone_at_seven_pm(now)
    workdays = f'"{day}"' if weekend else ""  # a make-up working day (only on a weekend)
    term = (day, day) if open_now else ("2001-09-01", "2002-01-14")
    return (
        f'timezone = "{zone}"\nholidays = []\nworkdays = [{workdays}]\n\n'
        f'[[terms]]\nname = "test-term"\nstart = "{term[0]}"\nend = "{term[1]}"\n'
    )
