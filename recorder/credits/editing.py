"""Edits of the term calendar and the policy numbers (issue 16): applied, checked and
compared, on TOML text. No I/O: the server keeps the versions (signaling.admin.
settings_store) and calls these.

A *document* is the TOML text of one kind, the same format as the files the server
can be started with: ``calendar`` (``--calendar``) and ``policy:training`` /
``policy:tutoring`` (``recorder/credits/policies/*.toml``). So an exported version is
a file ``opentutor credits --calendar/--policy`` recomputes any statement with.

- The calendar is edited as a whole: terms (name, start, end), holidays (date and
  name) and make-up working days. :func:`calendar_text` writes it with each holiday's
  name as the comment on its line, the way the sample file names them (and
  :func:`holiday_names` reads them back).
- A policy is edited number by number: ``{"forms.lecture.min_viewers": 2}``;
  :func:`editable_numbers` says which paths may change (the numbers, never the
  programme's name or which forms exist), ``None`` removes an optional limit.

Checks: the real parsers (:func:`~recorder.credits.calendar.parse_calendar`,
:func:`~recorder.credits.policy.parse_policy`) plus rules they lack (a term longer than
a year, a holiday listed twice, fewer distinct characters than characters, …). Every
refusal is a :class:`SettingError` naming the field, in Chinese and English.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from itertools import pairwise
from typing import Any

from recorder.credits.calendar import Calendar, CalendarError, parse_calendar
from recorder.credits.policy import BUILT_IN, Policy, PolicyError, parse_policy
from recorder.credits.toml_text import TomlWriteError, dumps, value_text

CALENDAR = "calendar"
KINDS = (CALENDAR, *(f"policy:{name}" for name in BUILT_IN))
MAX_NAME = 40  # a term's or a holiday's name: "2026-autumn", "中秋节、国庆节"
MAX_TERM_DAYS = 366  # a longer term is a typo in a year (2072 for 2027)
FIRST_YEAR, LAST_YEAR = 2000, 2100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"\d{1,9}(\.\d{1,6})?")
_QUOTED_DATE = re.compile(r"\"(\d{4}-\d{2}-\d{2})\"")
CALENDAR_HEADER = ("School calendar (校历), edited in the opentutor console: who, when and why\n"
                   "are in its history (GET /api/v1/calendar/versions).")
POLICY_HEADER = ("Programme policy, edited in the opentutor console: who, when and why are in\n"
                 "its history (GET /api/v1/policy/{programme}/versions). The seed's words\n"
                 "are quoted in the shipped file recorder/credits/policies/.")


class SettingError(ValueError):
    """An edit refused: ``field`` (a path such as ``terms[1].end`` or
    ``forms.lecture.limits.max_minutes``), and why in Chinese and English."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(f"{field}: {en}")
        self.field, self.zh, self.en = field, zh, en

    @property
    def message(self) -> str:
        return f"{self.field}：{self.zh} {self.en}"


def policy_kind(programme: str) -> str:
    return f"policy:{programme}"


# --- the calendar ------------------------------------------------------------------


@dataclass(frozen=True)
class TermRow:
    name: str
    start: str
    end: str


@dataclass(frozen=True)
class HolidayRow:
    date: str
    name: str = ""


@dataclass(frozen=True)
class CalendarDoc:
    """A calendar as the console edits it; dates as ``YYYY-MM-DD`` text."""

    timezone: str
    terms: tuple[TermRow, ...]
    holidays: tuple[HolidayRow, ...]
    workdays: tuple[str, ...]


def holiday_names(text: str) -> dict[str, str]:
    """Date → the name an end-of-line comment gives it (``"2026-10-01", … # 国庆节``)."""
    names: dict[str, str] = {}
    for line in text.splitlines():
        if "#" not in line:
            continue
        values, comment = line.split("#", 1)
        name = comment.strip()
        if name:
            for day in _QUOTED_DATE.findall(values):
                names[day] = name
    return names


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def calendar_doc(text: str) -> CalendarDoc:
    """The document of a calendar's TOML text (one already accepted: a version)."""
    data = tomllib.loads(text)
    names = holiday_names(text)
    holidays = [_iso(d) for d in data.get("holidays", [])]
    return CalendarDoc(
        timezone=str(data.get("timezone", "Asia/Shanghai")),
        terms=tuple(TermRow(str(t["name"]), _iso(t["start"]), _iso(t["end"]))
                    for t in data.get("terms", [])),
        holidays=tuple(HolidayRow(d, names.get(d, "")) for d in holidays),
        workdays=tuple(_iso(d) for d in data.get("workdays", [])),
    )


def _day(text: str, field: str) -> date:
    if not _DATE.fullmatch(text):
        raise SettingError(field, "日期格式应为 2026-09-01", f"must be a date like 2026-09-01, "
                           f"got {text!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise SettingError(field, "没有这一天", f"is not a date: {text}") from exc
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise SettingError(field, f"年份应在 {FIRST_YEAR}–{LAST_YEAR} 之间",
                           f"the year must be {FIRST_YEAR}-{LAST_YEAR}")
    return day


def _name(text: str, field: str, *, required: bool) -> str:
    name = text.strip()
    if required and not name:
        raise SettingError(field, "名称不能为空", "must not be empty")
    if len(name) > MAX_NAME:
        raise SettingError(field, f"名称最多 {MAX_NAME} 个字", f"at most {MAX_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise SettingError(field, "名称不能含换行等控制字符", "must not hold line breaks or "
                           "other control characters")
    return name


def check_calendar(doc: CalendarDoc) -> tuple[CalendarDoc, Calendar]:
    """The document tidied (names trimmed, lists in date order) and the calendar it
    makes, or the :class:`SettingError` of its first problem."""
    if not doc.terms:
        raise SettingError("terms", "至少需要一个学期", "at least one term is needed")
    terms: list[tuple[int, TermRow, date, date]] = []
    names: dict[str, int] = {}
    for i, term in enumerate(doc.terms):
        name = _name(term.name, f"terms[{i}].name", required=True)
        if name in names:
            raise SettingError(f"terms[{i}].name", f"学期名称与第 {names[name] + 1} 个学期重复",
                               f"the same name as term {names[name] + 1}")
        names[name] = i
        start = _day(term.start, f"terms[{i}].start")
        end = _day(term.end, f"terms[{i}].end")
        if end < start:
            raise SettingError(f"terms[{i}].end", "结束日期早于开始日期",
                               f"{end} is before the start {start}")
        if (end - start).days + 1 > MAX_TERM_DAYS:
            raise SettingError(f"terms[{i}].end",
                               f"一个学期不能超过 {MAX_TERM_DAYS} 天，请检查年份",
                               f"a term is at most {MAX_TERM_DAYS} days: check the year")
        terms.append((i, TermRow(name, start.isoformat(), end.isoformat()), start, end))
    terms.sort(key=lambda t: t[2])
    for before, after in pairwise(terms):
        if after[2] <= before[3]:
            raise SettingError(f"terms[{after[0]}].start",
                               f"与学期 {before[1].name} 的日期重叠",
                               f"overlaps the term {before[1].name}")
    holidays: dict[date, HolidayRow] = {}
    for i, holiday in enumerate(doc.holidays):
        day = _day(holiday.date, f"holidays[{i}].date")
        if day in holidays:
            raise SettingError(f"holidays[{i}].date", "这一天已在节假日中",
                               f"{day} is listed twice")
        holidays[day] = HolidayRow(day.isoformat(), _name(holiday.name, f"holidays[{i}].name",
                                                          required=False))
    workdays: set[date] = set()
    for i, text in enumerate(doc.workdays):
        day = _day(text, f"workdays[{i}]")
        if day in workdays:
            raise SettingError(f"workdays[{i}]", "这一天已在调休上班日中", f"{day} is listed twice")
        if day in holidays:
            raise SettingError(f"workdays[{i}]", "同一天不能既是节假日又是调休上班日",
                               f"{day} is also a holiday")
        if day.weekday() < 5:
            raise SettingError(f"workdays[{i}]", "调休上班日只能是周六或周日",
                               f"{day} is a weekday; only a Saturday or Sunday can be a "
                               "make-up working day")
        workdays.add(day)
    tidy = CalendarDoc(doc.timezone, tuple(t[1] for t in terms),
                       tuple(holidays[d] for d in sorted(holidays)),
                       tuple(d.isoformat() for d in sorted(workdays)))
    try:  # the real parser too: what it refuses, the server could not load
        calendar = parse_calendar(tomllib.loads(calendar_text(tidy)))
    except CalendarError as exc:
        raise _from_parser(str(exc)) from exc
    return tidy, calendar


def calendar_text(doc: CalendarDoc) -> str:
    """The calendar file of ``doc``; each holiday's name is its line's comment."""
    lines = [f"# {line}" for line in CALENDAR_HEADER.splitlines()]
    lines += ["", f"timezone = {value_text(doc.timezone)}", "", "holidays = ["]
    for h in doc.holidays:
        lines.append(f'  "{h.date}",' + (f"  # {h.name}" if h.name else ""))
    lines += ["]", "", "# Make-up working days on a weekend (调休上班).", "workdays = ["]
    lines += [f'  "{d}",' for d in doc.workdays]
    lines.append("]")
    for term in doc.terms:
        lines += ["", "[[terms]]", f"name = {value_text(term.name)}",
                  f'start = "{term.start}"', f'end = "{term.end}"']
    return "\n".join(lines) + "\n"


def calendar_leaves(doc: CalendarDoc) -> dict[str, Any]:
    """What a diff compares: ``terms.<name>.start/end``, ``holidays.<date>`` (its name),
    ``workdays.<date>`` (true) and ``timezone``."""
    out: dict[str, Any] = {"timezone": doc.timezone}
    for term in doc.terms:
        out[f"terms.{term.name}.start"] = term.start
        out[f"terms.{term.name}.end"] = term.end
    for h in doc.holidays:
        out[f"holidays.{h.date}"] = h.name
    for d in doc.workdays:
        out[f"workdays.{d}"] = True
    return out


# --- a policy ----------------------------------------------------------------------

# Numbers a policy may lack (they have defaults, or absence means "no limit"): the
# console may add them. ``{form}`` stands for each form the policy has.
_OPTIONAL = ("feedback.min_distinct_chars", "reports.min_chars", "reports.min_distinct_chars",
             "evidence.voiced_dbov", "evidence.voice_hold_s", "evidence.live_video_fps",
             "evidence.report_within_s", "caps.sessions_per_form_per_term",
             "caps.points_per_term")
_OPTIONAL_BY_FORM = {
    "one_to_one": ("limits.min_minutes", "limits.max_minutes", "conversation_window_s"),
    "classroom": ("limits.min_minutes", "limits.max_minutes", "min_viewers"),
    "lecture": ("limits.min_minutes", "limits.max_minutes", "min_viewers"),
    "review": ("conversation_window_s",),
}
# Absent means no limit: these may be removed (a ``None`` in an edit).
_REMOVABLE = re.compile(r"forms\.\w+\.limits\.(min|max)_minutes|caps\.\w+")
_NOT_EDITABLE = ("programme",)


def _leaves(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


def policy_leaves(text: str) -> dict[str, Any]:
    """Every value of a policy by its dotted path (what a diff compares); arrays (open
    hours) are one value each."""
    return _leaves(tomllib.loads(text))


def _number_like(value: Any) -> bool:
    return isinstance(value, bool | int | float) or (
        isinstance(value, str) and _DECIMAL.fullmatch(value) is not None)


def editable_numbers(text: str) -> dict[str, Any]:
    """Path → current value (``None``: absent) of every number an edit may change."""
    data = tomllib.loads(text)
    out = {p: v for p, v in _leaves(data).items()
           if _number_like(v) and p not in _NOT_EDITABLE}
    forms = data.get("forms", {})
    optional = list(_OPTIONAL)
    for form in forms:
        optional += [f"forms.{form}.{tail}" for tail in _OPTIONAL_BY_FORM.get(form, ())]
    for path in optional:
        if not path.startswith("reports.") or "review" in forms:
            out.setdefault(path, None)
    return dict(sorted(out.items()))


def removable(path: str) -> bool:
    return _REMOVABLE.fullmatch(path) is not None


def apply_policy_changes(text: str, changes: Mapping[str, Any]) -> tuple[str, Policy]:
    """The policy text with ``changes`` (path → new value, ``None`` removes an optional
    limit) and the policy it makes; :class:`SettingError` for the first problem."""
    if not changes:
        raise SettingError("changes", "没有要修改的数值", "nothing to change")
    data = tomllib.loads(text)
    allowed = editable_numbers(text)
    for path, value in changes.items():
        if path not in allowed:
            raise SettingError(path, "这一项不是可修改的规则数值", "not a number of this policy "
                               "that can be changed")
        if value is None and not removable(path):
            raise SettingError(path, "必须填写", "needs a value")
        if isinstance(value, str) and not _DECIMAL.fullmatch(value):
            raise SettingError(path, "必须是数字", f"must be a number, got {value!r}")
        if value is not None and not _number_like(value):
            raise SettingError(path, "必须是数字或是/否", "must be a number or true/false")
        _put(data, path.split("."), value)
    try:
        new_text = dumps(data, POLICY_HEADER)
    except TomlWriteError as exc:
        raise SettingError(str(exc).split(":", 1)[0], "不是有效的数值", str(exc)) from exc
    return new_text, check_policy(new_text)


def _put(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    if value is None:
        data.pop(keys[-1], None)
    else:
        data[keys[-1]] = value


def check_policy(text: str) -> Policy:
    """The policy of ``text``, through the real parser and the rules it lacks."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingError("", "不是有效的 TOML", f"not valid TOML: {exc}") from exc
    forms = data.get("forms")
    for form, numbers in (forms.items() if isinstance(forms, dict) else ()):
        # Before the parser: its message for this names the table, not the field.
        limits = numbers.get("limits") if isinstance(numbers, dict) else None
        if not isinstance(limits, dict):
            continue
        low, high = limits.get("min_minutes"), limits.get("max_minutes")
        if isinstance(low, int) and isinstance(high, int) and high < low:
            raise SettingError(f"forms.{form}.limits.max_minutes", "最长时长不能小于最短时长",
                               f"max_minutes ({high}) is below min_minutes ({low})")
    try:
        policy = parse_policy(data)
    except PolicyError as exc:
        raise _from_parser(str(exc)) from exc
    _sanity(policy)
    return policy


def _sanity(policy: Policy) -> None:
    if policy.point_value_cny <= 0:
        raise SettingError("point_value_cny", "积分单价必须大于零", "must be above zero")
    if policy.feedback_window_hours <= 0:
        raise SettingError("feedback.window_hours", "必须大于零", "must be above zero")
    pairs = (("feedback", policy.feedback_min_chars, policy.feedback_min_distinct),
             ("reports", policy.report_min_chars, policy.report_min_distinct))
    for table, chars, distinct in pairs:
        if distinct > chars:
            raise SettingError(f"{table}.min_distinct_chars", "不同字数不能多于总字数",
                               f"{distinct} distinct characters is more than min_chars {chars}")
    for name, value in policy.supervision.items():
        if value < 0:
            raise SettingError(f"supervision.{name}", "不能为负数", "must not be negative")


# Parser messages (English) → Chinese, by what they say.
_ZH = (
    ("dBov", "应为 -127 到 0 之间的整数"),
    ("must not be negative", "不能为负数"),
    ("must be non-negative", "不能为负数"),
    ("must be positive", "必须大于零"),
    ("must be a whole number", "必须是整数"),
    ("must be a number", "必须是数字"),
    ("must be true or false", "必须是“是”或“否”"),
    ("overlap", "学期日期重叠"),
    ("is also listed as a holiday", "同一天不能既是节假日又是调休上班日"),
    ("is a weekday", "调休上班日只能是周六或周日"),
    ("is before the start", "结束日期早于开始日期"),
    ("duplicate term name", "学期名称重复"),
    ("must be a date", "日期格式应为 2026-09-01"),
    ("unknown time zone", "未知的时区"),
    ("below min_minutes", "最长时长不能小于最短时长"),
)


def _from_parser(message: str) -> SettingError:
    """A parser's refusal (``field: why``) as a :class:`SettingError`."""
    field, _, why = message.partition(": ")
    if not why:
        field, why = "", message
    zh = next((z for en, z in _ZH if en in why), "不符合规则")
    return SettingError(field, zh, why)


# --- versions ----------------------------------------------------------------------


def leaves(kind: str, text: str) -> dict[str, Any]:
    """The values of a document by path, for :func:`diff`."""
    if kind == CALENDAR:
        return calendar_leaves(calendar_doc(text))
    return policy_leaves(text)


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = Fraction(value)
        return int(number) if number.denominator == 1 else float(number)
    return value


def diff(kind: str, old_text: str, new_text: str) -> list[dict[str, Any]]:
    """What changed between two versions: ``[{path, old, new}]`` in path order;
    ``None`` where a value is absent (a holiday added: old ``None``, new its name)."""
    old, new = leaves(kind, old_text), leaves(kind, new_text)
    changed = []
    for path in _ordered(set(old) | set(new)):
        a, b = _json_value(old.get(path)), _json_value(new.get(path))
        if a != b or (path in old) != (path in new):
            changed.append({"path": path, "old": a if path in old else None,
                            "new": b if path in new else None})
    return changed


def _ordered(paths: Iterable[str]) -> list[str]:
    section = {"timezone": 0, "terms": 1, "holidays": 2, "workdays": 3}
    return sorted(paths, key=lambda p: (section.get(p.split(".", 1)[0], 9), p))


def same_numbers(kind: str, a: str, b: str) -> bool:
    """Whether two documents hold the same values (comments and layout aside)."""
    return not diff(kind, a, b)
