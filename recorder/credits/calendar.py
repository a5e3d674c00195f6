"""School calendar: time zone, holidays, make-up workdays, terms, open hours.

A calendar is a small TOML file an operator keeps per school year::

    timezone = "Asia/Shanghai"
    holidays = ["2022-04-04", "2022-04-05"]   # public holidays and vacation days in a term
    workdays = ["2022-04-02"]                 # make-up working days on a weekend

    [[terms]]
    name = "2022-spring"
    start = "2022-02-14"                      # inclusive local dates
    end = "2022-07-08"

A weekday that is not a holiday, or a listed workday, is a *working day*; every
other date is a *rest day* (weekend or holiday). Open hours are given per day
type by the programme policy (:class:`OpenHours`) and turned here into UTC
interval sets, in the same integer microseconds the credits engine uses.

Choices where the issue is silent (a district administrator's reading):

- A date listed both as holiday and as workday is rejected: the file contradicts itself.
- A ``workdays`` entry that is already a weekday is rejected: it would silently do nothing,
  which usually means a typo in the date.
- Terms must not overlap, so every date belongs to at most one term.
- An open-hours window may end at ``24:00`` (the end of that date), never later.

Pure: reads TOML text handed to it (``load_calendar`` opens a path, nothing else).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recorder.credits.intervals import IntervalSet, normalize

US_PER_SECOND = 1_000_000
US_PER_QUARTER = 900_000_000  # µs in a quarter hour: local midnights fall on quarter hours
_MEMO_LIMIT = 200_000  # entries per memo before it starts afresh (a server runs for months)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class CalendarError(ValueError):
    """The calendar file is malformed; the message names the field."""


@dataclass(frozen=True)
class Term:
    """A school term, ``start`` and ``end`` inclusive local dates."""

    name: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class OpenHours:
    """When a programme is open, per day type, as ``(start, end)`` minutes after local midnight.

    ``working_day`` applies on working days, ``rest_day`` on weekends and holidays
    (an empty tuple: closed). With ``terms_only`` nothing is open outside the terms.
    """

    working_day: tuple[tuple[int, int], ...]
    rest_day: tuple[tuple[int, int], ...]
    terms_only: bool = True


def parse_hhmm(text: object, where: str) -> int:
    """``"18:00"`` → 1080 minutes after midnight; ``"24:00"`` allowed as an end."""
    if not isinstance(text, str):
        raise CalendarError(f"{where}: must be a time like \"18:00\"")
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise CalendarError(f"{where}: must be a time like \"18:00\", got {text!r}")
    hours, minutes = int(parts[0]), int(parts[1])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise CalendarError(f"{where}: not a time of day: {text!r}")
    return hours * 60 + minutes


def to_us(moment: datetime) -> int:
    """An aware datetime → exact integer microseconds since the Unix epoch."""
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """Integer microseconds since the epoch → aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class Calendar:
    """A loaded calendar. Build it with :func:`load_calendar` or :func:`parse_calendar`."""

    timezone: ZoneInfo
    holidays: frozenset[date]
    workdays: frozenset[date]
    terms: tuple[Term, ...]
    # Open-hour windows per (policy hours, date): computing them costs a zoneinfo
    # lookup per window, and a term has only ~150 dates, so memoise.
    _windows: dict[tuple[OpenHours, date], IntervalSet] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    # A statement asks the same few questions millions of times, so memoise them too:
    # the local date of each UTC quarter hour (see local_date), the term of each date, and
    # the open intervals per (first date, last date) of each open hours (keyed by id, the
    # entry holding the object so the id stays its own; hashing it costs more than a look-up).
    _quarter_dates: dict[int, date | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _terms_by_date: dict[date, Term | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _open: dict[int, tuple[OpenHours, dict[tuple[date, date], IntervalSet]]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def is_working_day(self, day: date) -> bool:
        """"A weekday that is not a holiday, or a listed workday, is a working day"."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def term_of(self, day: date) -> Term | None:
        """The term whose inclusive date range holds ``day``, if any."""
        try:
            return self._terms_by_date[day]
        except KeyError:
            pass
        found = None
        for term in self.terms:
            if term.contains(day):
                found = term
                break
        _remember(self._terms_by_date, day, found)
        return found

    def local_date(self, us: int) -> date:
        """The calendar-local date of an instant (integer µs since the epoch)."""
        quarter = us // US_PER_QUARTER
        day = self._quarter_dates.get(quarter)
        if day is not None:
            return day
        if quarter in self._quarter_dates:  # it holds a date change or an offset change
            return self._exact_local_date(us)
        # When the quarter hour's first and last second have the same local date and the
        # same UTC offset, every instant in it has that date: no zone of the tz database
        # changes its offset twice within a quarter hour, so the local clock ran on.
        first = datetime.fromtimestamp(quarter * 900, self.timezone)
        last = datetime.fromtimestamp(quarter * 900 + 899, self.timezone)
        same = first.date() == last.date() and first.utcoffset() == last.utcoffset()
        _remember(self._quarter_dates, quarter, first.date() if same else None)
        return first.date() if same else self._exact_local_date(us)

    def _exact_local_date(self, us: int) -> date:
        # Zone offsets are whole seconds, so flooring to the second never changes the date.
        return datetime.fromtimestamp(us // US_PER_SECOND, self.timezone).date()

    def local_datetime(self, us: int) -> datetime:
        """The instant as an aware datetime in the calendar's zone."""
        return from_us(us).astimezone(self.timezone)

    def windows_on(self, hours: OpenHours, day: date) -> IntervalSet:
        """Open-hour windows of one local date as UTC microsecond intervals.

        Seed (training): "在线研修时间为校历规定的每个学期内（原则上不含寒暑假），
        周一到周五18:00-22:00，双休日及法定节假日8:00-22:00".
        """
        key = (hours, day)
        cached = self._windows.get(key)
        if cached is not None:
            return cached
        if hours.terms_only and self.term_of(day) is None:
            result: IntervalSet = ()
        else:
            spec = hours.working_day if self.is_working_day(day) else hours.rest_day
            midnight = datetime(day.year, day.month, day.day)  # naive local wall clock
            out = []
            for start_min, end_min in spec:
                # Wall-clock arithmetic, then attach the zone: right across DST changes too.
                start = (midnight + timedelta(minutes=start_min)).replace(tzinfo=self.timezone)
                end = (midnight + timedelta(minutes=end_min)).replace(tzinfo=self.timezone)
                out.append((to_us(start), to_us(end)))
            result = normalize(out)
        self._windows[key] = result
        return result

    def open_intervals(self, hours: OpenHours, start_us: int, end_us: int) -> IntervalSet:
        """All open-hour windows on the local dates touched by ``[start_us, end_us)``."""
        if end_us <= start_us:
            return ()
        first = self.local_date(start_us)
        last = self.local_date(end_us - 1)
        entry = self._open.get(id(hours))
        if entry is None:
            entry = (hours, {})
            _remember(self._open, id(hours), entry)
        memo = entry[1]
        found = memo.get((first, last))
        if found is not None:
            return found
        pieces: list[tuple[int, int]] = []
        day = first
        while day <= last:
            pieces.extend(self.windows_on(hours, day))
            day += timedelta(days=1)
        result = normalize(pieces)
        _remember(memo, (first, last), result)
        return result


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """Store in a memo that starts afresh past ``_MEMO_LIMIT`` entries (bounded memory)."""
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def _parse_date(value: object, where: str) -> date:
    # tomllib gives a date for a bare TOML date and a str for a quoted one: take both.
    if isinstance(value, datetime):
        raise CalendarError(f"{where}: must be a date like 2022-04-04, not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(f"{where}: must be a date like \"2022-04-04\", got {value!r}")


def _parse_dates(data: Mapping[str, Any], key: str) -> frozenset[date]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise CalendarError(f"{key}: must be a list of dates")
    return frozenset(_parse_date(v, f"{key}[{i}]") for i, v in enumerate(raw))


def parse_calendar(data: Mapping[str, Any]) -> Calendar:
    """Build a :class:`Calendar` from already-decoded TOML data."""
    tz_name = data.get("timezone", "Asia/Shanghai")
    if not isinstance(tz_name, str):
        raise CalendarError("timezone: must be a zone name like \"Asia/Shanghai\"")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"timezone: unknown time zone {tz_name!r}") from exc
    holidays = _parse_dates(data, "holidays")
    workdays = _parse_dates(data, "workdays")
    both = sorted(holidays & workdays)
    if both:
        raise CalendarError(f"workdays: {both[0]} is also listed as a holiday")
    for day in sorted(workdays):
        if day.weekday() < 5:
            raise CalendarError(
                f"workdays: {day} is a weekday; list only make-up working days on a weekend"
            )
    raw_terms = data.get("terms", [])
    if not isinstance(raw_terms, list):
        raise CalendarError("terms: must be an array of [[terms]] tables")
    terms: list[Term] = []
    names: set[str] = set()
    for i, raw in enumerate(raw_terms):
        where = f"terms[{i}]"
        if not isinstance(raw, dict):
            raise CalendarError(f"{where}: must be a table with name, start, end")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CalendarError(f"{where}.name: must be a non-empty string")
        if name in names:
            raise CalendarError(f"{where}.name: duplicate term name {name!r}")
        names.add(name)
        start = _parse_date(raw.get("start"), f"{where}.start")
        end = _parse_date(raw.get("end"), f"{where}.end")
        if end < start:
            raise CalendarError(f"{where}.end: {end} is before the start {start}")
        terms.append(Term(name, start, end))
    terms.sort(key=lambda t: t.start)
    for before, after in pairwise(terms):
        if after.start <= before.end:
            raise CalendarError(f"terms: {before.name!r} and {after.name!r} overlap")
    return Calendar(timezone, holidays, workdays, tuple(terms))


def loads_calendar(text: str) -> Calendar:
    """Parse calendar TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"calendar is not valid TOML: {exc}") from exc
    return parse_calendar(data)


def load_calendar(path: str | Path) -> Calendar:
    """Read and parse a calendar TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"cannot read calendar {path}: {exc.strerror or exc}") from exc
    return loads_calendar(text)


SAMPLE_CALENDAR = Path(__file__).parent / "samples" / "calendar-sample.toml"
