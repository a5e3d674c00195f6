"""Staff reading what the console's People and Supervision pages show: a person's
statement and the supervision flags, within their scope (a district office sees its
district's teachers and their sessions; the city everything; 404 for a person outside,
so nothing leaks that they exist)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.signaling.test_staff import (  # noqa: F401  (pytest fixtures, used by name)
    MIYUN,
    TONGZHOU,
    Browser,
    browsers,
    session_in,
    staff_server,
)
from tests.support import ServerHandle


def with_teacher(body: dict[str, Any], teacher_id: str) -> dict[str, Any]:
    teacher, learner = body["people"]
    return {**body, "people": [{**teacher, "id": teacher_id}, learner]}


async def test_statement_and_supervision_within_scope(
    staff_server: ServerHandle, browsers: list[Browser],  # noqa: F811 (the fixtures)
) -> None:
    ours, _ = await staff_server.create(with_teacher(session_in(TONGZHOU, "S1"), "t-tz"))
    theirs, _ = await staff_server.create(with_teacher(session_in(MIYUN, "S7"), "t-my"))
    for session_id in (ours, theirs):
        status, _ = await staff_server.api("POST", f"/api/v1/sessions/{session_id}/end")
        assert status == 200
    city, district, _ = browsers
    assert (await city.login("city-office"))[0] == 200
    assert (await district.login("tz-office"))[0] == 200

    for browser, teacher, expected in ((district, "t-tz", 200), (district, "t-my", 404),
                                       (city, "t-my", 200)):
        status, body = await browser.call("GET", f"/api/v1/people/{teacher}/statement")
        assert status == expected, (teacher, body)
        if status == 200:
            assert body["person"] == teacher and "programmes" in body

    today = (datetime.now(UTC) + timedelta(hours=8)).date()  # the calendar's Beijing date
    window = f"?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    seen = {}
    for name, browser in (("city", city), ("district", district)):
        status, report = await browser.call("GET", "/api/v1/supervision" + window)
        assert status == 200, report
        seen[name] = report["sessions"]
    assert seen == {"city": 2, "district": 1}
    # Nobody signed in: still 401.
    status, _ = await staff_server.api("GET", "/api/v1/supervision" + window, key=None)
    assert status == 401
