"""The calendar and policy edits as pure functions (recorder.credits.editing and its TOML
writer): what an edit makes, what it refuses and which field it names, the diff of two
versions. Table-driven; the shipped files are the starting documents."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from recorder.credits.calendar import SAMPLE_CALENDAR, loads_calendar
from recorder.credits.editing import (
    CALENDAR,
    CalendarDoc,
    HolidayRow,
    SettingError,
    TermRow,
    apply_policy_changes,
    calendar_doc,
    calendar_text,
    check_calendar,
    check_policy,
    diff,
    editable_numbers,
    holiday_names,
)
from recorder.credits.policy import POLICY_DIR, parse_policy
from recorder.credits.toml_text import dumps

TRAINING = (POLICY_DIR / "training.toml").read_text(encoding="utf-8")
TUTORING = (POLICY_DIR / "tutoring.toml").read_text(encoding="utf-8")
SAMPLE = SAMPLE_CALENDAR.read_text(encoding="utf-8")


# -- the TOML writer


@pytest.mark.parametrize("data", [
    tomllib.loads(TRAINING),
    tomllib.loads(TUTORING),
    tomllib.loads(SAMPLE),
    {"a": "引号\" 反斜杠\\ 换行\n del\x7f tab\t", "b": 1.25, "c": [date(2026, 1, 2)],
     "t": {"u": {"v": {"w": 1}}}, "arr": [{"x": 1}, {"x": 2}], "e": [], "f": False},
])
def test_the_writer_reads_back_as_the_same_data(data: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(data, "a header\nof two lines")) == data


def test_a_policy_written_back_keeps_its_inline_limits() -> None:
    text = dumps(tomllib.loads(TRAINING))
    assert "limits = { min_minutes = 10, max_minutes = 60 }" in text
    assert "[forms.review]" in text and "[forms]" not in text


# -- policy edits


@pytest.mark.parametrize(("changes", "path", "value"), [
    ({"forms.lecture.min_viewers": 2}, ("forms", "lecture", "min_viewers"), 2),
    ({"forms.one_to_one.limits.min_minutes": 5}, ("forms", "one_to_one", "limits",
                                                  "min_minutes"), 5),
    ({"point_value_cny": "12.5"}, ("point_value_cny",), "12.5"),
    ({"forms.one_to_one.rating_points_per_hour.per_star": 1.5},
     ("forms", "one_to_one", "rating_points_per_hour", "per_star"), 1.5),
    ({"caps.points_per_term": 3000}, ("caps", "points_per_term"), 3000),  # added: optional
    ({"school_rule.same_district_no_points": False}, ("school_rule",
                                                      "same_district_no_points"), False),
])
def test_policy_changes_that_apply(changes: dict[str, Any], path: tuple[str, ...],
                                   value: Any) -> None:
    text, policy = apply_policy_changes(TRAINING, changes)
    data: Any = tomllib.loads(text)
    for key in path:
        data = data[key]
    assert data == value
    assert parse_policy(tomllib.loads(text)) == policy  # what the server will load


def test_removing_a_limit_and_the_numbers_it_applies() -> None:
    text, policy = apply_policy_changes(TRAINING, {"forms.lecture.limits.max_minutes": None})
    assert policy.forms["lecture"].limits.max_minutes is None
    assert policy.forms["lecture"].limits.min_minutes == 60
    assert "max_minutes" not in tomllib.loads(text)["forms"]["lecture"]["limits"]


@pytest.mark.parametrize(("changes", "field", "zh"), [
    ({}, "changes", "没有要修改"),
    ({"programme": "x"}, "programme", "不是可修改"),
    ({"forms.lecture.nonsense": 1}, "forms.lecture.nonsense", "不是可修改"),
    ({"open_hours.working_day": 1}, "open_hours.working_day", "不是可修改"),
    ({"forms.lecture.live_points_per_hour": -1}, "forms.lecture.live_points_per_hour",
     "不能为负数"),
    ({"forms.lecture.min_viewers": 1.5}, "forms.lecture.min_viewers", "必须是整数"),
    ({"forms.lecture.min_viewers": True}, "forms.lecture.min_viewers", "必须是整数"),
    ({"point_value_cny": "ten"}, "point_value_cny", "必须是数字"),
    ({"point_value_cny": 0}, "point_value_cny", "必须大于零"),
    ({"point_value_cny": None}, "point_value_cny", "必须填写"),
    ({"forms.one_to_one.limits.min_minutes": 70}, "forms.one_to_one.limits.max_minutes",
     "最长时长不能小于最短时长"),
    ({"forms.one_to_one.limits.max_minutes": 0}, "forms.one_to_one.limits.max_minutes",
     "最长时长不能小于最短时长"),
    ({"forms.lecture.limits.min_minutes": None, "forms.lecture.limits.max_minutes": 0},
     "forms.lecture.limits.max_minutes", "必须大于零"),
    ({"feedback.min_distinct_chars": 201}, "feedback.min_distinct_chars", "不同字数"),
    ({"feedback.window_hours": 0}, "feedback.window_hours", "必须大于零"),
    ({"evidence.voiced_dbov": 3}, "evidence.voiced_dbov", "-127 到 0"),
    ({"forms.review.max_reviewers": 0}, "forms.review.max_reviewers", "必须大于零"),
    ({"school_rule.same_school_no_points": 1}, "school_rule.same_school_no_points",
     "必须是“是”或“否”"),
])
def test_policy_changes_refused_name_the_field(changes: dict[str, Any], field: str,
                                               zh: str) -> None:
    with pytest.raises(SettingError) as refused:
        apply_policy_changes(TRAINING, changes)
    assert refused.value.field == field, refused.value
    assert zh in refused.value.zh and refused.value.en
    assert refused.value.message.startswith(f"{field}：{refused.value.zh} ")


def test_editable_numbers_are_the_numbers_and_the_optional_ones() -> None:
    training, tutoring = editable_numbers(TRAINING), editable_numbers(TUTORING)
    assert training["forms.lecture.min_viewers"] == 1
    assert training["caps.points_per_term"] is None  # absent: may be added
    assert "programme" not in training and "open_hours.working_day" not in training
    assert "open_hours.terms_only" in training  # a true/false
    assert "forms.review.max_reviewers" not in tutoring  # its forms only
    assert tutoring["caps.points_per_term"] == 5000


def test_the_shipped_policies_pass_every_rule() -> None:
    for text in (TRAINING, TUTORING):
        check_policy(text)


# -- calendar edits

DOC = calendar_doc(SAMPLE)


def test_the_sample_calendar_as_a_document_and_back() -> None:
    assert DOC.timezone == "Asia/Shanghai"
    assert HolidayRow("2026-10-01", "国庆节") in DOC.holidays
    tidy, _ = check_calendar(DOC)
    text = calendar_text(tidy)
    assert loads_calendar(text) == loads_calendar(SAMPLE)  # the same dates and terms
    assert holiday_names(text) == holiday_names(SAMPLE)  # and the same names
    assert diff(CALENDAR, SAMPLE, text) == []


def _with(**changes: Any) -> CalendarDoc:
    return replace(DOC, **changes)


def test_a_holiday_added_and_a_term_moved_make_their_diff() -> None:
    terms = tuple(replace(t, end="2027-01-29") if t.name == "2026-autumn" else t
                  for t in DOC.terms)
    edited = _with(holidays=(*DOC.holidays, HolidayRow("2026-11-20", " 校庆日 ")), terms=terms)
    tidy, calendar = check_calendar(edited)
    assert date(2026, 11, 20) in calendar.holidays and not calendar.is_working_day(
        date(2026, 11, 20))
    assert diff(CALENDAR, SAMPLE, calendar_text(tidy)) == [
        {"path": "terms.2026-autumn.end", "old": "2027-01-22", "new": "2027-01-29"},
        {"path": "holidays.2026-11-20", "old": None, "new": "校庆日"},  # trimmed
    ]


def test_a_workday_removed_and_a_name_changed() -> None:
    edited = _with(workdays=tuple(d for d in DOC.workdays if d != "2026-10-10"),
                   holidays=tuple(HolidayRow(h.date, "国庆") if h.date == "2026-10-07" else h
                                  for h in DOC.holidays))
    changes = diff(CALENDAR, SAMPLE, calendar_text(check_calendar(edited)[0]))
    assert changes == [{"path": "holidays.2026-10-07", "old": "国庆节", "new": "国庆"},
                       {"path": "workdays.2026-10-10", "old": True, "new": None}]


@pytest.mark.parametrize(("edit", "field", "zh"), [
    ({"terms": ()}, "terms", "至少需要一个学期"),
    ({"terms": (TermRow("a", "2026-09-01", "2026-08-01"),)}, "terms[0].end", "早于开始"),
    ({"terms": (TermRow("a", "2026-09-01", "2072-01-01"),)}, "terms[0].end", "请检查年份"),
    ({"terms": (TermRow("a", "2026-02-30", "2026-07-01"),)}, "terms[0].start", "没有这一天"),
    ({"terms": (TermRow("a", "26-9-1", "2026-12-01"),)}, "terms[0].start", "日期格式"),
    ({"terms": (TermRow(" ", "2026-09-01", "2026-12-01"),)}, "terms[0].name", "不能为空"),
    ({"terms": (TermRow("a", "2026-09-01", "2026-12-01"),
                TermRow("a", "2027-02-01", "2027-06-01"))}, "terms[1].name", "重复"),
    ({"terms": (TermRow("b", "2027-02-01", "2027-06-01"),
                TermRow("a", "2026-09-01", "2027-02-01"))}, "terms[0].start", "重叠"),
    ({"holidays": (HolidayRow("2026-10-01"), HolidayRow("2026-10-01", "x"))},
     "holidays[1].date", "已在节假日中"),
    ({"holidays": (HolidayRow("2026-10-01", "国庆\n节"),)}, "holidays[0].name", "控制字符"),
    ({"holidays": (HolidayRow("2026-10-01", "节" * 41),)}, "holidays[0].name", "最多"),
    ({"workdays": ("2026-10-10", "2026-10-12")}, "workdays[1]", "周六或周日"),
    ({"workdays": ("2026-10-03",)}, "workdays[0]", "既是节假日又是调休上班日"),
    ({"workdays": ("2026-10-10", "2026-10-10")}, "workdays[1]", "已在调休上班日中"),
    ({"timezone": "Mars/Olympus"}, "timezone", "未知的时区"),  # the parser's own rule
])
def test_calendar_edits_refused_name_the_field(edit: dict[str, Any], field: str,
                                               zh: str) -> None:
    with pytest.raises(SettingError) as refused:
        check_calendar(_with(**edit))
    assert refused.value.field == field, refused.value
    assert zh in refused.value.zh, refused.value.zh


def test_a_diff_of_policy_versions() -> None:
    text, _ = apply_policy_changes(TRAINING, {"forms.lecture.min_viewers": 2,
                                              "caps.points_per_term": "2500.5"})
    assert diff("policy:training", TRAINING, text) == [
        {"path": "caps.points_per_term", "old": None, "new": 2500.5},
        {"path": "forms.lecture.min_viewers", "old": 1, "new": 2},
    ]
    assert diff("policy:training", text, text) == []
