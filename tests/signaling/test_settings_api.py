"""Editing the calendar and the policy numbers through the real app, on SQLite and on
PostgreSQL: a city officer edits (preview, save, history with diffs, the TOML of a
version, restore), every refusal (401, 403 for other staff, the API key and a missing
CSRF token, 400, 404, 409, 422) leaves nothing changed, every save is audited, another
node picks the edit up, and an edit changes the figures of pay computed afterwards,
which name the version they used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recorder.credits.calendar import loads_calendar
from recorder.credits.editing import holiday_names
from signaling.admin.settings_store import open_settings
from signaling.server.current_settings import CurrentSettings, configured_documents
from signaling.server.http_util import SERVICES
from tests.signaling.test_people_exports import (  # noqa: F401  (pytest fixtures, by name)
    TERM,
    Clocked,
    clocked,
    taught,
)
from tests.signaling.test_staff import (  # noqa: F401  (pytest fixtures, used by name)
    AUDIT,
    PASSWORD,
    TONGZHOU,
    Browser,
    browsers,
    staff_server,
)
from tests.support import ServerHandle

CALENDAR, POLICY = "/api/v1/calendar", "/api/v1/policy/training"


def calendar_body(calendar: dict[str, Any], base: int, note: str = "", **more: Any
                  ) -> dict[str, Any]:
    """The PUT body of the calendar as GET shows it, with ``more`` over it."""
    body = {"base": base, "note": note,
            "terms": [{k: t[k] for k in ("name", "start", "end")} for t in calendar["terms"]],
            "holidays": [{"date": h["date"], "name": h["name"]} for h in calendar["holidays"]],
            "workdays": [w["date"] for w in calendar["workdays"]]}
    body.update(more)
    return body


async def history_of(browser: Browser, path: str) -> list[dict[str, Any]]:
    status, body = await browser.call("GET", f"{path}/versions")
    assert status == 200, body
    return list(body["versions"])


async def test_a_city_officer_edits_the_calendar_with_history_and_restore(
    staff_server: ServerHandle, browsers: list[Browser]  # noqa: F811 (the fixtures)
) -> None:
    city = browsers[0]
    assert (await city.login("city-office"))[0] == 200
    status, calendar = await city.call("GET", CALENDAR)
    assert status == 200 and calendar["can_edit"] is True and calendar["version"]["seq"] == 0
    holidays = [*calendar["holidays"], {"date": "2026-11-20", "name": "校庆日"}]
    body = calendar_body(calendar, 0, holidays=holidays)

    # A preview answers the diff and saves nothing; a save needs the note.
    status, preview = await city.call("PUT", CALENDAR, {**body, "preview": True}, csrf=city.csrf)
    assert status == 200 and preview["diff"] == [
        {"path": "holidays.2026-11-20", "old": None, "new": "校庆日"}]
    status, refused = await city.call("PUT", CALENDAR, body, csrf=city.csrf)
    assert status == 400 and refused["error"]["field"] == "note"
    assert (await city.call("PUT", CALENDAR, {**body, "note": "x"}))[0] == 403  # no CSRF
    assert len(await history_of(city, CALENDAR)) == 1  # version 0 alone

    status, saved = await city.call("PUT", CALENDAR, {**body, "note": "市教委通知：校庆放假"},
                                    csrf=city.csrf)
    assert status == 201, saved
    first = saved["version"]
    assert first["who"] == "city-office" and first["base"] == 0 and first["seq"] > 0
    status, calendar = await city.call("GET", CALENDAR)
    assert calendar["version"]["seq"] == first["seq"] and calendar["sample"] is False
    assert {"date": "2026-11-20", "name": "校庆日"} in calendar["holidays"]
    assert {"date": "2026-10-01", "name": "国庆节"} in calendar["holidays"]  # names kept

    # Someone else saved since: a stale base is a 409, nothing written.
    status, stale = await city.call("PUT", CALENDAR, {**body, "note": "again"}, csrf=city.csrf)
    assert status == 409 and stale["error"]["code"] == "stale"
    # An edit that breaks a rule: 422 naming the field, in both languages.
    bad = calendar_body(calendar, first["seq"], "改调休", workdays=["2026-11-18"])
    status, refused = await city.call("PUT", CALENDAR, bad, csrf=city.csrf)
    assert status == 422 and refused["error"]["field"] == "workdays[0]"
    assert "周六或周日" in refused["error"]["message"]
    assert "weekday" in refused["error"]["message"]
    unchanged = calendar_body(calendar, first["seq"], "same")
    assert (await city.call("PUT", CALENDAR, unchanged, csrf=city.csrf))[0] == 422

    # The history: newest first, each with its diff; the file of a version.
    versions = await history_of(city, CALENDAR)
    assert [v["seq"] for v in versions] == [first["seq"], 0]
    assert versions[0]["note"] == "市教委通知：校庆放假" and versions[1]["configured"] is True
    assert versions[0]["diff"] == preview["diff"]
    async with city.http.get(f"{city.base}{CALENDAR}/versions/{first['seq']}.toml") as r:
        assert r.status == 200 and r.content_type == "application/toml"
        text = await r.text()
    assert holiday_names(text)["2026-11-20"] == "校庆日"
    assert loads_calendar(text).is_working_day(loads_calendar(text).terms[0].start) in (True,
                                                                                        False)
    assert (await city.call("GET", f"{CALENDAR}/versions/999999.toml"))[0] == 404

    # Restore version 0: a new version with the file's content, noted.
    status, restored = await city.call("POST", f"{CALENDAR}/versions/0/restore",
                                       {"base": first["seq"], "note": "撤回"}, csrf=city.csrf)
    assert status == 201, restored
    assert restored["version"]["diff"] == [
        {"path": "holidays.2026-11-20", "old": "校庆日", "new": None}]
    status, calendar = await city.call("GET", CALENDAR)
    assert calendar["version"]["seq"] == restored["version"]["seq"]
    assert "2026-11-20" not in {h["date"] for h in calendar["holidays"]}

    # Audited, who and why.
    status, audit = await staff_server.api("GET", AUDIT)
    actions = {(e["action"], e["target"]): e for e in audit["entries"]}
    assert actions[("calendar_edit", "calendar")]["detail"]["note"] == "市教委通知：校庆放假"
    assert actions[("settings_restore", "calendar")]["detail"]["restored"] == 0
    assert actions[("calendar_edit", "calendar")]["who"] == "city-office"


async def test_policy_edits_and_every_refusal_leave_it_unchanged(
    staff_server: ServerHandle, browsers: list[Browser]  # noqa: F811 (the fixtures)
) -> None:
    city, district, school = browsers
    for browser, name in zip(browsers, ("city-office", "tz-office", "s7-office"), strict=True):
        assert (await browser.login(name))[0] == 200
    change = {"base": 0, "note": "讲座至少两人观看", "changes": {"forms.lecture.min_viewers": 2}}

    # Reading: every staff member and the API key; editing: the city's officers only.
    for browser in (district, school):
        status, policy = await browser.call("GET", "/api/v1/policy")
        assert status == 200 and policy["can_edit"] is False
        assert (await browser.call("PUT", POLICY, change, csrf=browser.csrf))[0] == 403
        assert (await browser.call("POST", f"{POLICY}/versions/0/restore",
                                   {"base": 0, "note": "x"}, csrf=browser.csrf))[0] == 403
        assert len(await history_of(browser, POLICY)) == 1
    assert (await staff_server.api("PUT", POLICY, change))[0] == 403  # the API key
    assert (await staff_server.api("GET", f"{POLICY}/versions"))[0] == 200
    assert (await staff_server.api("PUT", POLICY, change, key=None))[0] == 401
    assert (await staff_server.api("GET", f"{POLICY}/versions", key=None))[0] == 401
    status, policy = await city.call("GET", "/api/v1/policy")
    training = policy["programmes"]["training"]
    assert policy["can_edit"] is True and training["editable"]["forms.lecture.min_viewers"] == 1

    # Malformed and unknown: 400, 404, never a 500.
    async with city.http.put(city.base + POLICY, data=b"{not json", headers={
            "X-CSRF-Token": city.csrf, "Content-Type": "application/json"}) as r:
        assert r.status == 400
    for body in ({"base": -1, "changes": {}}, {"base": 0, "changes": {"x": [1]}},
                 {"base": 0, "changes": {"a" * 121: 1}}, [], {"base": "0", "changes": {}}):
        assert (await city.call("PUT", POLICY, body, csrf=city.csrf))[0] == 400, body
    assert (await city.call("PUT", "/api/v1/policy/nope", change, csrf=city.csrf))[0] == 404
    assert (await city.call("GET", "/api/v1/policy/nope/versions"))[0] == 404
    assert (await city.call("POST", f"{POLICY}/versions/77/restore", {"base": 0, "note": "x"},
                            csrf=city.csrf))[0] == 404
    assert (await city.call("POST", f"{POLICY}/versions/x1/restore", {"base": 0, "note": "x"},
                            csrf=city.csrf))[0] == 404
    # Rules: 422 naming the field.
    for changes, field in (({"forms.lecture.limits.min_minutes": 100},
                            "forms.lecture.limits.max_minutes"),
                           ({"point_value_cny": -5}, "point_value_cny"),
                           ({"programme": "x"}, "programme")):
        status, refused = await city.call("PUT", POLICY, {**change, "changes": changes},
                                          csrf=city.csrf)
        assert status == 422 and refused["error"]["field"] == field, refused
    assert len(await history_of(city, POLICY)) == 1  # nothing changed

    status, saved = await city.call("PUT", POLICY, change, csrf=city.csrf)
    assert status == 201, saved
    assert saved["version"]["diff"] == [
        {"path": "forms.lecture.min_viewers", "old": 1, "new": 2}]
    status, policy = await school.call("GET", "/api/v1/policy")
    training = policy["programmes"]["training"]
    assert training["forms"]["lecture"]["min_viewers"] == 2
    assert training["version"]["seq"] == saved["version"]["seq"]
    assert training["version"]["who"] == "city-office"
    assert training["seed"]["open_hours"]  # the seed's words still from the shipped file
    assert policy["programmes"]["tutoring"]["version"]["seq"] == 0
    # The exported version is a policy file the credits command reads.
    async with city.http.get(f"{city.base}{POLICY}/versions/{saved['version']['seq']}.toml"
                             ) as r:
        exported = await r.text()
    path = staff_server.data_dir / "exported.toml"
    path.write_text(exported, encoding="utf-8")
    from recorder.credits.policy import load_policy

    assert load_policy(path).forms["lecture"].min_viewers == 2


async def test_another_node_sees_an_edit(
    staff_server: ServerHandle, browsers: list[Browser], database_url: str  # noqa: F811 (the fixtures)
) -> None:
    """A second node's settings (its own store on the same database) pick the edit up
    at its next check."""
    other = open_settings(database_url, staff_server.data_dir)
    await other.open()
    try:
        node = CurrentSettings(other, configured_documents(None))
        await node.refresh()
        assert node.policy("tutoring").point_value_cny == 10
        city = browsers[0]
        await city.login("city-office")
        status, saved = await city.call(
            "PUT", "/api/v1/policy/tutoring",
            {"base": 0, "note": "单价调整", "changes": {"point_value_cny": "10.5"}},
            csrf=city.csrf)
        assert status == 201, saved
        assert await node.refresh() is True
        assert float(node.policy("tutoring").point_value_cny) == 10.5
        assert node.in_effect("policy:tutoring").seq == saved["version"]["seq"]
        assert await node.refresh() is False  # nothing new: nothing re-read
    finally:
        await other.close()


async def test_the_routes_are_documented(staff_server: ServerHandle) -> None:  # noqa: F811 (the fixtures)
    _, doc = await staff_server.api("GET", "/api/v1/openapi.json", key=None)
    ours = {(r.method, r.resource.canonical.removeprefix("/api/v1"))
            for r in staff_server.app.router.routes()
            if r.resource is not None and r.method in ("GET", "PUT", "POST")
            and ("/calendar" in r.resource.canonical or "/policy" in r.resource.canonical)}
    assert len(ours) >= 10
    for method, path in ours:
        assert method.lower() in doc["paths"][path], (method, path)
    assert doc["paths"]["/calendar"]["put"]["security"] == [{"staffCookie": []}]


async def test_an_edit_changes_the_credits_computed_after_it(clocked: Clocked) -> None:  # noqa: F811 (the fixtures)
    server = clocked.server
    session_id = await taught(clocked)
    accounts = server.app[SERVICES].staff
    assert accounts is not None
    await accounts.create_user("city-office", PASSWORD, "city")
    city = Browser(server)
    try:
        assert (await city.login("city-office"))[0] == 200
        credits = f"/api/v1/sessions/{session_id}/credits"
        status, before = await server.api("GET", credits)
        assert status == 200 and (before["policy_version"], before["calendar_version"]) == (0, 0)
        minutes = before["people"]["t1"]["minutes"]
        assert minutes > 0 and before["people"]["t1"]["points"] != "0.00"

        # One-to-ones now need more minutes than this one had: it no longer counts.
        change = {"base": 0, "note": "一对一至少 55 分钟",
                  "changes": {"forms.one_to_one.limits.min_minutes": minutes + 5}}
        status, saved = await city.call("PUT", "/api/v1/policy/training", change,
                                        csrf=city.csrf)
        assert status == 201, saved
        status, after = await server.api("GET", credits)
        assert after["policy_version"] == saved["version"]["seq"]
        assert after["people"]["t1"]["points"] == "0.00", after["people"]["t1"]

        # Lowered again (below this session's minutes): it counts as before.
        change = {"base": saved["version"]["seq"], "note": "恢复为 10 分钟",
                  "changes": {"forms.one_to_one.limits.min_minutes": 10}}
        status, lowered = await city.call("PUT", "/api/v1/policy/training", change,
                                          csrf=city.csrf)
        assert status == 201, lowered
        status, again = await server.api("GET", credits)
        assert again["people"]["t1"]["points"] == before["people"]["t1"]["points"]
        assert again["policy_version"] == lowered["version"]["seq"]

        # The calendar: the term starting after the session leaves it outside any term.
        _, calendar = await city.call("GET", "/api/v1/calendar")
        terms = [{**t, "start": "2026-11-05"} if t["name"] == TERM else t
                 for t in calendar["terms"]]
        body = calendar_body(calendar, 0, "学期推迟开学", terms=terms)
        status, moved = await city.call("PUT", "/api/v1/calendar", body, csrf=city.csrf)
        assert status == 201, moved
        status, outside = await server.api("GET", credits)
        assert outside["calendar_version"] == moved["version"]["seq"]
        assert outside["people"]["t1"]["minutes"] == 0
        # The person's statement names the versions too.
        status, statement = await server.api("GET", f"/api/v1/people/t1/statement?term={TERM}")
        assert statement["calendar_version"] == moved["version"]["seq"]
        assert statement["policy_versions"] == {"training": lowered["version"]["seq"]}
    finally:
        await city.close()


async def test_the_stored_documents_reload_at_start(tmp_path: Path) -> None:
    """A restarted node computes with the latest stored version (not the file)."""
    store = open_settings("", tmp_path)
    await store.open()
    try:
        configured = configured_documents(None)
        text = configured["policy:training"].replace("point_value_cny = 10",
                                                     "point_value_cny = 12")
        await store.append("policy:training", 0, text, "2026-12-04T00:00:00.000Z", "c", "n")
        node = CurrentSettings(store, configured)
        assert node.policy("training").point_value_cny == 10  # before its first look
        await node.refresh()
        assert node.policy("training").point_value_cny == 12
    finally:
        await store.close()


__all__ = ["TONGZHOU"]
