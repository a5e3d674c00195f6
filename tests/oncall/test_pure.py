"""Open hours and the match order, alone."""

from __future__ import annotations

import pytest

from recorder.credits.calendar import loads_calendar
from recorder.credits.policy import load_policy
from signaling.oncall.hours import openness
from signaling.oncall.matching import Candidate, rank
from tests.oncall.support import calendar_text

NOW = 1_790_000_000.0
HOURS = load_policy("tutoring").open_hours


@pytest.mark.parametrize(
    ("shift_h", "open_now", "expected"),
    [
        (0, True, (True, "")),
        (1.5, True, (True, "")),
        (-1.5, True, (False, "outside_hours")),  # 17:xx
        (2.99, True, (False, "outside_hours")),  # 21:xx or later
        (0, False, (False, "out_of_term")),
        (24, True, (False, "out_of_term")),  # the next day is outside the one-day term
    ],
)
def test_openness(shift_h: float, open_now: bool, expected: tuple[bool, str]) -> None:
    calendar = loads_calendar(calendar_text(NOW, open_now=open_now))
    at = NOW - (NOW % 3600) + shift_h * 3600  # 19:00 local + shift
    got = openness(calendar, HOURS, at)
    assert (got.open, got.reason) == expected
    if got.open:
        assert got.closes_at is not None and got.closes_at > at


def test_closed_on_a_holiday() -> None:
    text = calendar_text(NOW)
    day = text.split('start = "')[1][:10]
    text = text.replace("holidays = []", f'holidays = ["{day}"]')
    text = text.replace(f'"{day}"]\n\n[', "]\n\n[")  # not a make-up working day too
    got = openness(loads_calendar(text), HOURS, NOW)
    assert (got.open, got.reason) == (False, "closed_today")


def _c(tid: str, subjects: str, grades: str, rating: float | None, waiting: int) -> Candidate:
    return Candidate(tid, tid, tuple(subjects.split()), tuple(grades.split()), rating, waiting)


@pytest.mark.parametrize(
    ("subject", "grade", "order"),
    [
        ("math", "8", ["fit_rated", "fit_unrated", "subject_only_best", "free_waiting0"]),
        ("physics", "8", ["phys"]),
        ("", "", ["subject_only_best", "fit_rated", "free_waiting0", "phys", "fit_unrated"]),
    ],
)
def test_rank(subject: str, grade: str, order: list[str]) -> None:
    candidates = [
        _c("fit_unrated", "math", "8", None, 0),
        _c("subject_only_best", "math", "7", 5.0, 0),
        _c("fit_rated", "math", "7 8", 4.5, 2),
        _c("free_waiting0", "math", "9", 4.0, 0),
        _c("phys", "physics", "8", 4.0, 1),
    ]
    assert [x.teacher for x in rank(candidates, subject, grade)] == order


def test_rank_reasons() -> None:
    (first,) = rank([_c("a", "math", "8", 4.5, 0)], "math", "8")
    assert first.reasons == ("subject", "grade", "rated", "nobody_waiting")


def test_on_demand_policy_defaults_and_checks() -> None:
    import tomllib

    from recorder.credits.policy import POLICY_DIR, PolicyError, parse_policy

    text = (POLICY_DIR / "tutoring.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert parse_policy(data).on_demand.continuous_minutes == 40
    del data["on_demand"]  # a copy of the file from before issue 14 still loads
    assert parse_policy(data).on_demand.rest_minutes == 10
    data["on_demand"] = {"continuous_minutes": 30, "warn_minutes": 30}
    with pytest.raises(PolicyError, match="on_demand"):
        parse_policy(data)


def test_passes_and_join_tokens_never_stand_in_for_each_other() -> None:
    from signaling.oncall import passes
    from signaling.server import tokens

    secret, now = b"s" * 32, 1_790_000_000
    p = passes.Pass("teacher_duty", "t1", "王老师", "", "", ("math",), ("8",), "", 4.5,
                    now, now + 3600)
    pass_token = passes.issue(secret, p)
    assert passes.verify(secret, pass_token, now=now) == p
    with pytest.raises(tokens.TokenError):
        tokens.verify(secret, pass_token, now=now)
    join = tokens.issue(secret, tokens.Grant("t1", "s_x", "instructor", "王老师", now, now + 60))
    for bad in (join, "", None, 5, "a.b.c", pass_token + "x", pass_token.upper()):
        with pytest.raises(tokens.TokenError):
            passes.verify(secret, bad, now=now)
    with pytest.raises(tokens.TokenError, match="expired"):
        passes.verify(secret, pass_token, now=now + 3600)
