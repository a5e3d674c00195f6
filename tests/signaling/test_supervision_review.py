"""Issue 16, the console's third round, against the real app on SQLite and on
PostgreSQL: a supervisor marks a flag 已核查 (POST /api/v1/supervision/reviews) and the
report shows it; the CSRF token, the scope (404 outside it), the note's bounds and the
audit row; the webhook delivery state for the city office only; the read-only calendar
and policy for any signed-in staff member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from signaling.admin.reviews import flag_key, key_sessions
from signaling.server.http_util import SERVICES
from signaling.session.timefmt import iso_at
from tests.signaling.test_staff import (  # noqa: F401  (pytest fixtures, used by name)
    AUDIT,
    MIYUN,
    TONGZHOU,
    Browser,
    browsers,
    session_in,
    staff_server,
)
from tests.support import ServerHandle

REVIEWS = "/api/v1/supervision/reviews"


def window() -> str:
    today = (datetime.now(UTC) + timedelta(hours=8)).date()  # the calendar's Beijing date
    return f"?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"


async def flagged_session(server: ServerHandle, district_code: str, school_id: str) -> str:
    """A session of a teacher in ``district_code`` whose learner's feedback is 200
    zero-width spaces (stored as before the form's rules): text_rules and text_window."""
    session_id, _ = await server.create(session_in(district_code, school_id))
    svc = server.app[SERVICES]
    await svc.store.put_submission("feedback", session_id, "s1", iso_at(svc.clock.time()),
                                   {"rating": 5, "text": "\u200b" * 200})
    return session_id


async def flags_of(browser: Browser, session_id: str) -> list[dict[str, Any]]:
    status, report = await browser.call("GET", "/api/v1/supervision" + window())
    assert status == 200, report
    return [f for f in report["flags"] if f["session_id"] == session_id]


def text_flag(flags: list[dict[str, Any]]) -> dict[str, Any]:
    return next(f for f in flags if f["kind"] == "text_rules")


async def test_a_review_is_stored_shown_and_audited(
    staff_server: ServerHandle, browsers: list[Browser],  # noqa: F811 (the fixtures)
) -> None:
    ours = await flagged_session(staff_server, TONGZHOU, "S1")
    theirs = await flagged_session(staff_server, MIYUN, "S7")
    city, district, _ = browsers
    assert (await city.login("city-office"))[0] == 200
    assert (await district.login("tz-office"))[0] == 200

    flag = text_flag(await flags_of(district, ours))
    assert flag["key"] == f"text_rules|{ours}|s1|feedback" == flag_key(flag)
    assert flag["review"] is None
    assert key_sessions(flag["key"]) == [ours]
    note = "反馈为空白字符，已电话提醒学员重新填写。"
    body = {"key": flag["key"], "outcome": "irregular", "note": note}

    # Made with the cookie, a POST needs the sign-in's CSRF token.
    status, refused = await district.call("POST", REVIEWS, body)
    assert status == 403 and refused["error"]["code"] == "csrf"
    assert (await district.call("POST", REVIEWS, body, csrf="0" * 64))[0] == 403
    status, stored = await district.call("POST", REVIEWS, body, csrf=district.csrf)
    assert status == 201, stored
    assert stored["key"] == flag["key"]
    assert stored["review"]["reviewed_by"] == "tz-office"
    assert stored["review"]["outcome"] == "irregular" and stored["review"]["note"] == body["note"]

    # The report shows it, to the district and to the city; the other flags stay open.
    for browser in (district, city):
        flags = await flags_of(browser, ours)
        assert text_flag(flags)["review"] == stored["review"]
        assert all(f["review"] is None for f in flags if f["kind"] != "text_rules")

    # A later review is the one shown (the earlier one stays in the table).
    status, again = await city.call("POST", REVIEWS, {**body, "outcome": "ok", "note": ""},
                                    csrf=city.csrf)
    assert status == 201, again
    assert text_flag(await flags_of(district, ours))["review"]["reviewed_by"] == "city-office"
    assert text_flag(await flags_of(district, ours))["review"]["outcome"] == "ok"

    # A flag of another district is not there for this district: 404, as an unknown one.
    other = text_flag(await flags_of(city, theirs))
    status, missing = await district.call("POST", REVIEWS, {**body, "key": other["key"]},
                                          csrf=district.csrf)
    assert status == 404 and missing["error"]["code"] == "not_found"
    unknown = "text_rules|s_nosuchsession|s1|feedback"
    assert (await city.call("POST", REVIEWS, {**body, "key": unknown}, csrf=city.csrf))[0] == 404
    assert text_flag(await flags_of(city, theirs))["review"] is None

    # The platform's API key needs no CSRF token; nobody signed in is 401.
    status, by_key = await staff_server.api("POST", REVIEWS, {**body, "key": other["key"]})
    assert status == 201 and by_key["review"]["reviewed_by"] == "api-key"
    assert (await staff_server.api("POST", REVIEWS, body, key=None))[0] == 401

    # The audit log has who reviewed which flag, with what outcome.
    status, page = await city.call("GET", AUDIT + "?limit=20")
    assert status == 200
    rows = [e for e in page["entries"] if e["action"] == "supervision_review"]
    assert [(e["who"], e["target"], e["detail"]["outcome"]) for e in rows] == [
        ("api-key", other["key"], "irregular"),
        ("city-office", flag["key"], "ok"),
        ("tz-office", flag["key"], "irregular"),
    ]
    assert rows[-1]["detail"]["session_id"] == ours
    assert rows[-1]["detail"]["note_chars"] == len(body["note"])


async def test_the_body_and_the_note_are_bounded(
    staff_server: ServerHandle, browsers: list[Browser],  # noqa: F811 (the fixtures)
) -> None:
    ours = await flagged_session(staff_server, TONGZHOU, "S1")
    city = browsers[0]
    assert (await city.login("city-office"))[0] == 200
    key = text_flag(await flags_of(city, ours))["key"]

    async def post(body: Any) -> tuple[int, Any]:
        return await city.call("POST", REVIEWS, body, csrf=city.csrf)

    longest = "查" * 2000 + " \u200b" * 100  # spaces and zero-width ones do not count
    assert (await post({"key": key, "outcome": "ok", "note": longest}))[0] == 201
    for body, field in (
        ({"key": key, "outcome": "ok", "note": "查" * 2001}, "note"),
        ({"key": key, "outcome": "ok", "note": "\u200b" * 8001}, "note"),
        ({"key": key, "outcome": "irregular", "note": " \u200b "}, "note"),
        ({"key": key, "outcome": "irregular"}, "note"),
        ({"key": key, "outcome": "fine", "note": ""}, "outcome"),
        ({"key": key, "outcome": "ok", "note": 5}, "note"),
        ({"key": "no key", "outcome": "ok"}, "key"),
        ({"key": f"sleeping|{ours}|s1", "outcome": "ok"}, "key"),
        ({"key": "x" * 1001, "outcome": "ok"}, "key"),
        ({"outcome": "ok"}, "key"),
    ):
        status, refused = await post(body)
        assert status == 400, (body, refused)
        assert refused["error"]["field"] == field, (body, refused)
    raw: Any
    for raw in ([], "x", None):
        assert (await post(raw))[0] == 400
    status, refused = await city.call("POST", REVIEWS, data=b"{not json",
                                      headers={"Content-Type": "application/json",
                                               "X-CSRF-Token": city.csrf})
    assert status == 400, refused
    # The longest note is the review shown, whole.
    assert text_flag(await flags_of(city, ours))["review"]["note"] == longest


async def test_webhook_delivery_state_is_for_the_city(
    staff_server: ServerHandle, browsers: list[Browser],  # noqa: F811 (the fixtures)
) -> None:
    city, district, school = browsers
    for browser, name in ((city, "city-office"), (district, "tz-office"), (school, "s7-office")):
        assert (await browser.login(name))[0] == 200
    status, state = await city.call("GET", "/api/v1/webhooks")
    assert status == 200 and state == {"configured": False}  # no --webhook-url here
    for browser in (district, school):
        status, refused = await browser.call("GET", "/api/v1/webhooks")
        assert status == 403 and refused["error"]["code"] == "forbidden"
    assert (await staff_server.api("GET", "/api/v1/webhooks"))[0] == 200  # the API key
    assert (await staff_server.api("GET", "/api/v1/webhooks", key=None))[0] == 401


async def test_calendar_and_policy_for_any_staff(
    staff_server: ServerHandle, browsers: list[Browser],  # noqa: F811 (the fixtures)
) -> None:
    school = browsers[2]
    assert (await school.login("s7-office"))[0] == 200
    status, calendar = await school.call("GET", "/api/v1/calendar")
    assert status == 200, calendar
    assert calendar["timezone"] == "Asia/Shanghai" and calendar["sample"] is True
    assert "由市级管理员在控制台修改" in calendar["editing"]
    # A school office reads the version in effect (0: the configured file), may not edit.
    assert calendar["version"]["seq"] == 0 and calendar["can_edit"] is False
    terms = {t["name"]: t for t in calendar["terms"]}
    assert "2026-autumn" in terms
    assert 0 < terms["2026-autumn"]["working_days"] < terms["2026-autumn"]["days"]
    holidays = {h["date"]: h["name"] for h in calendar["holidays"]}
    assert holidays["2026-10-01"] == "国庆节"
    assert {"date": "2022-04-02"} in calendar["workdays"]

    status, policy = await school.call("GET", "/api/v1/policy")
    assert status == 200, policy
    training, tutoring = policy["programmes"]["training"], policy["programmes"]["tutoring"]
    assert training["point_value_cny"] == 10
    assert training["open_hours"]["working_day"] == [["18:00", "22:00"]]
    assert training["forms"]["one_to_one"]["limits"] == {"min_minutes": 10, "max_minutes": 60}
    assert training["forms"]["one_to_one"]["rating_points_per_hour"]["at_five_stars"] == 10
    assert training["forms"]["lecture"]["live_points_per_hour"] == 30
    assert training["forms"]["review"]["report_points"] == 30
    assert training["feedback"] == {"window_hours": 168, "min_chars": 200,
                                    "min_distinct_chars": 20}
    assert training["study"] == {"minutes_per_hour": 45, "hours_per_credit": 20,
                                 "max_credits_per_year": 1}
    assert training["caps"] == {"sessions_per_form_per_term": 2, "points_per_term": None}
    assert training["supervision"]["alone_min_minutes"] == 10
    assert training["seed"]["open_hours"][0]["ref"] == "四（一）"
    words = training["seed"]["open_hours"][0]["words"]
    assert words.startswith("在线研修时间为校历规定的每个学期内")
    assert {"ref": "四（四）1", "words": "20学时可折合1学分"} in training["seed"]["study"]
    assert tutoring["study"] is None and tutoring["caps"]["points_per_term"] == 5000
    assert tutoring["seed"]["caps"] == [{"ref": "", "words": "每学期绩效的积分上限为5000分"}]
    assert set(tutoring["forms"]) == {"one_to_one", "classroom"}

    for path in ("/api/v1/calendar", "/api/v1/policy"):
        assert (await staff_server.api("GET", path, key=None))[0] == 401
        assert (await staff_server.api("GET", path))[0] == 200


async def test_described_in_openapi(
    staff_server: ServerHandle,  # noqa: F811 (the fixture)
) -> None:
    status, doc = await staff_server.api("GET", "/api/v1/openapi.json", key=None)
    assert status == 200
    assert {"/supervision/reviews", "/webhooks", "/calendar", "/policy"} <= set(doc["paths"])
    assert doc["paths"]["/supervision/reviews"]["post"]["security"] == [
        {"apiKey": []}, {"staffCookie": []}]


def test_flag_keys_name_what_stays_while_the_records_stand() -> None:
    evidence: dict[str, Any] = {"person": "t1", "sessions": ["s_a", "s_b"], "minutes": 30}
    overlap = {"session_id": "s_b", "kind": "overlap", "people": ["t1"], "evidence": evidence}
    assert flag_key(overlap) == "overlap|s_b+s_a|t1"
    assert key_sessions(flag_key(overlap)) == ["s_b", "s_a"]
    # More minutes later (more evidence) is the same flag.
    assert flag_key({**overlap, "evidence": {**evidence, "minutes": 45}}) == flag_key(overlap)
    pair = {"session_id": "s_e", "kind": "same_pair_daily", "people": ["t1", "s1"],
            "evidence": {"sessions": ["s_a", "s_e"], "run_days": 5}}
    assert flag_key(pair) == "same_pair_daily|s_e|t1,s1"
    report = {"session_id": "s_r", "kind": "text_window", "people": ["t2"],
              "evidence": {"what": "report", "person": "t2"}}
    assert flag_key(report) == "text_window|s_r|t2|report"
    assert key_sessions("no key") == [] and key_sessions("a|b|c|d|e") == []


def test_the_declared_key_bound_is_the_stores() -> None:
    from signaling.admin.reviews import MAX_KEY
    from signaling.session.declarations import MAX_REVIEW_KEY

    assert MAX_REVIEW_KEY == MAX_KEY
