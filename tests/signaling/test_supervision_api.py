"""The supervisor report over REST (GET /api/v1/supervision), against the real server:
wired to the same records as GET /sessions/{id}/record; the flags themselves are tested
kind by kind in tests/recorder/test_supervision.py."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from signaling.server.http_util import SERVICES
from signaling.session.timefmt import iso_at
from tests.support import API_KEY, ServerHandle

BEIJING = ZoneInfo("Asia/Shanghai")


def days_around_now() -> tuple[str, str]:
    today = datetime.now(UTC).astimezone(BEIJING).date()
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()


async def get_text(server: ServerHandle, path: str, key: str | None = API_KEY
                   ) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    async with server.http.get(server.base + path, headers=headers) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


async def test_report_lists_a_stored_session_and_its_flags(server: ServerHandle) -> None:
    session_id, _ = await server.create()
    svc = server.app[SERVICES]
    # Feedback of 200 zero-width spaces, stored as it arrived before issue 9's form rules.
    await svc.store.put_submission("feedback", session_id, "s1", iso_at(svc.clock.time()),
                                   {"rating": 5, "text": "\u200b" * 200})
    first, last = days_around_now()
    status, report = await server.api("GET", f"/api/v1/supervision?from={first}&to={last}")
    assert status == 200, report
    assert (report["from"], report["to"]) == (first, last)
    assert report["sessions"] >= 1
    assert set(report["rules"]) == {"training", "tutoring"}
    assert report["rules"]["training"]["alone_min_minutes"] == 10
    mine = [f for f in report["flags"] if f["session_id"] == session_id]
    kinds = {f["kind"] for f in mine}
    assert {"text_rules", "text_window"} <= kinds  # nobody was ever active, either
    text = next(f for f in mine if f["kind"] == "text_rules")
    assert text["people"] == ["s1"] and text["evidence"]["visible_chars"] == 0
    assert text["evidence"]["code_points"] == 200

    status, kind, body = await get_text(
        server, f"/api/v1/supervision?from={first}&to={last}&format=csv")
    assert status == 200 and kind.startswith("text/csv")
    table = list(csv.reader(body.splitlines()))
    assert table[0] == ["session_id", "kind", "people", "summary", "evidence"]
    row = next(r for r in table[1:] if r[0] == session_id and r[1] == "text_rules")
    assert row[2] == "s1" and json.loads(row[4])["visible_chars"] == 0


async def test_a_window_without_sessions(server: ServerHandle) -> None:
    status, report = await server.api("GET", "/api/v1/supervision?from=2001-01-01&to=2001-01-31")
    assert status == 200
    assert report["sessions"] == 0 and report["flags"] == [] and report["counts"] == {}


@pytest.mark.parametrize(("query", "field", "words"), [
    ("", "from", "from is required"),
    ("from=2022-03-07", "to", "to is required"),
    ("from=2022-02-30&to=2022-03-07", "from", "from is not a date"),
    ("from=2022/03/07&to=2022-03-07", "from", "from must be a date like 2022-03-07"),
    ("from=20220307&to=2022-03-07", "from", "from must be a date like"),
    ("from=2022-03-07&to=2022-03-06", "to", "to (2022-03-06) is before from (2022-03-07)"),
    ("from=2022-01-01&to=2022-04-04", "to", "the range is 94 days; at most 93"),
    ("from=2022-03-07&to=2022-03-07&format=xml", "format", "format must be json or csv"),
])
async def test_bad_dates_and_ranges_are_400(
    server: ServerHandle, query: str, field: str, words: str
) -> None:
    status, body = await server.api("GET", f"/api/v1/supervision?{query}")
    assert status == 400, body
    assert body["error"]["field"] == field and words in body["error"]["message"]


async def test_the_longest_range_is_accepted(server: ServerHandle) -> None:
    status, report = await server.api("GET", "/api/v1/supervision?from=2022-01-01&to=2022-04-03")
    assert status == 200 and report["to"] == "2022-04-03"  # 93 days


async def test_only_the_programme_office(server: ServerHandle) -> None:
    _, toks = await server.create()
    path = "/api/v1/supervision?from=2022-03-07&to=2022-03-07"
    status, body = await server.api("GET", path, token=toks["t1"])
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert (await server.api("GET", path, key=None))[0] == 401
    assert (await server.api("GET", path, key="wrong"))[0] == 401


async def test_described_in_openapi(server: ServerHandle) -> None:
    status, doc = await server.api("GET", "/api/v1/openapi.json", key=None)
    assert status == 200
    assert {"/supervision", "/sessions/{id}/evidence", "/sessions/{id}/timeline"} <= set(
        doc["paths"])
