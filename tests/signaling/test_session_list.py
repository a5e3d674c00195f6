"""The session list the programme office searches (issue 16): GET /api/v1/sessions, its CSV,
the store query under it on both back ends, and the API docs page.

Each test gets a fresh server and database, so every expected set is exact.
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from signaling.admin.scope import Scope, platform
from signaling.server import api_docs, session_list_api
from signaling.server.http_util import SERVICES
from signaling.session.timefmt import iso, iso_at
from signaling.store.session_query import (
    MAX_CURSOR_CHARS,
    POSTGRES,
    SQLITE,
    Cursor,
    QueryError,
    SessionQuery,
    decode_cursor,
    encode_cursor,
    parse_query,
    select_sql,
    within,
)
from tests.conftest import free_port
from tests.support import API_KEY, ServerHandle, lecture, start_app

BEIJING = ZoneInfo("Asia/Shanghai")
# Now, to the second, a day back: every session below starts some whole hours before it.
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

WANG = {"id": "t-wang", "name": "王小明", "role": "instructor", "school": "朝阳实验小学",
        "school_id": "sch-cy1", "district": "朝阳区", "district_code": "110105"}
LI = {"id": "t-li", "name": "李华", "role": "instructor", "school": "Haidian No.1 中学",
      "school_id": "sch-hd1", "district": "海淀区", "district_code": "110108"}
ZHAO = {"id": "t-zhao", "name": "赵敏", "role": "instructor", "school": "朝阳第二中学",
        "school_id": "sch-cy2", "district": "朝阳区", "district_code": "110105"}


def body(hours_before: int, *, programme: str = "training", form: str = "lecture",
         instructors: tuple[dict[str, str], ...] = (WANG,), learners: int = 3,
         title: str = "函数图像答疑") -> dict[str, Any]:
    out = copy.deepcopy(lecture(learners))
    start = BASE - timedelta(hours=hours_before)
    out.update(programme=programme, form=form, title=title,
               scheduled_start=iso(start), scheduled_end=iso(start + timedelta(minutes=45)))
    out["people"] = [*(dict(i) for i in instructors), *out["people"][1:]]
    return out


async def listing_server(tmp_path: Path, database_url: str = "") -> ServerHandle:
    return await start_app(tmp_path / "data", port=free_port(), database_url=database_url)


@pytest.fixture
async def both(tmp_path: Path, database_url: str) -> AsyncIterator[ServerHandle]:
    """The real app on SQLite and on PostgreSQL."""
    handle = await listing_server(tmp_path, database_url)
    try:
        yield handle
    finally:
        await handle.stop()


@pytest.fixture
async def plain(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    """The real app on SQLite only: for what never reaches the database."""
    handle = await listing_server(tmp_path)
    try:
        yield handle
    finally:
        await handle.stop()


async def mixed(server: ServerHandle) -> dict[str, str]:
    """Six sessions, letter → id. B is live (started now), C ended (never started)."""
    made: dict[str, str] = {}
    for letter, spec in {
        "A": body(1),
        "B": body(2, form="one_to_one", instructors=(LI,), learners=1),
        "C": body(3, programme="tutoring", form="classroom", instructors=(ZHAO,), learners=2),
        "D": body(4, programme="tutoring", form="one_to_one", instructors=(LI,), learners=1),
        "E": body(5, form="review", instructors=(LI, ZHAO), learners=1),
        "F": body(6, title="=HYPERLINK(\"http://example.com\")"),
    }.items():
        made[letter], _ = await server.create(spec)
    svc = server.app[SERVICES]
    await svc.store.mark_started(made["B"], iso_at(svc.clock.time()))
    status, _ = await server.api("POST", f"/api/v1/sessions/{made['C']}/end")
    assert status == 200
    return made


async def listed(server: ServerHandle, params: str) -> list[dict[str, Any]]:
    status, page = await server.api("GET", f"/api/v1/sessions?limit=200&{params}")
    assert status == 200, page
    assert page["next_cursor"] is None
    sessions: list[dict[str, Any]] = page["sessions"]
    return sessions


async def raw_get(server: ServerHandle, path: str, key: str | None = API_KEY
                  ) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    async with server.http.get(server.base + path, headers=headers) as r:
        return r.status, dict(r.headers), await r.read()


# -- the store and the endpoint, on both back ends


async def test_pages_visit_every_session_exactly_once(both: ServerHandle) -> None:
    # Three sessions share each start: the id decides between them, across page edges.
    created = [(await both.create(body(i // 3)))[0] for i in range(23)]
    seen: list[dict[str, Any]] = []
    sizes = []
    cursor = ""
    while True:
        status, page = await both.api("GET", f"/api/v1/sessions?limit=5&cursor={cursor}")
        assert status == 200, page
        sizes.append(len(page["sessions"]))
        seen += page["sessions"]
        if len(seen) == 5:  # a newer session made while paging does not show up later
            await both.create(body(0, title="后来的"))
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    ids = [s["id"] for s in seen]
    assert sizes == [5, 5, 5, 5, 3]
    assert len(ids) == len(set(ids)) == 23 and set(ids) == set(created)
    keys = [(s["scheduled_start"], s["id"]) for s in seen]
    assert keys == sorted(keys, reverse=True)  # newest first, then id


async def test_each_filter_narrows(both: ServerHandle) -> None:
    m = await mixed(both)

    async def letters(params: str) -> set[str]:
        by_id = {v: k for k, v in m.items()}
        return {by_id[s["id"]] for s in await listed(both, params)}

    assert await letters("") == set("ABCDEF")
    assert await letters("programme=tutoring") == set("CD")
    assert await letters("form=one_to_one") == set("BD")
    assert await letters("teacher=t-li") == set("BDE")
    assert await letters("teacher=赵") == set("CE")  # part of a name
    assert await letters("teacher=小明") == set("AF")
    assert await letters("teacher=s1") == set()  # a learner is not a teacher
    assert await letters("school=sch-hd1") == set("BDE")
    assert await letters("school=朝阳") == set("ACEF")
    assert await letters("school=haidian") == set("BDE")  # either case
    assert await letters("teacher=T-LI") == set()  # an id matches exactly
    assert await letters("district=110105") == set("ACEF")
    assert await letters("district=海淀") == set("BDE")
    assert await letters("status=scheduled") == set("ADEF")
    assert await letters("status=live") == set("B")
    assert await letters("status=ended") == set("C")
    # from inclusive, to exclusive; B started now, so its start is no longer scheduled.
    lo, hi = iso(BASE - timedelta(hours=4)), iso(BASE - timedelta(hours=1))
    assert await letters(f"from={lo}&to={hi}") == set("CD")
    assert await letters(f"from={lo}") == set("ABCD")
    assert await letters("programme=training&district=朝阳&status=scheduled") == set("AEF")
    assert await letters("teacher=x' OR '1'='1") == set()  # a value, never SQL

    rows = {s["id"]: s for s in await listed(both, "")}
    b, e = rows[m["B"]], rows[m["E"]]
    assert b["status"] == "live" and b["started_at"] and b["ended_at"] is None
    assert rows[m["C"]]["status"] == "ended" and rows[m["C"]]["started_at"] is None
    assert [i["id"] for i in e["instructors"]] == ["t-li", "t-zhao"] and e["learners"] == 1
    assert e["instructors"][1] == {k: v for k, v in ZHAO.items() if k != "role"}
    assert rows[m["A"]]["learners"] == 3 and rows[m["A"]]["programme"] == "training"
    assert set(b) == {"id", "programme", "form", "title", "scheduled_start", "scheduled_end",
                      "started_at", "ended_at", "status", "instructors", "learners"}
    # The live session sorts by when it started (now): first.
    assert (await listed(both, ""))[0]["id"] == m["B"]


async def test_scope_restricts_the_store_query(both: ServerHandle) -> None:
    m = await mixed(both)
    store = both.app[SERVICES].store
    by_id = {v: k for k, v in m.items()}

    async def letters(query: SessionQuery, scope: Scope) -> set[str]:
        page = await store.list_sessions(within(query, scope))
        assert await store.count_sessions(within(query, scope)) == len(page.sessions)
        return {by_id[s.id] for s in page.sessions}

    everything = SessionQuery(limit=200)
    assert await letters(everything, platform()) == set("ABCDEF")
    haidian = Scope("district", district_code="110108")
    assert await letters(everything, haidian) == set("BDE")
    assert await letters(SessionQuery(programme="tutoring"), haidian) == set("D")
    # The scope is not a filter the asker can widen: a district filter outside it is empty.
    assert await letters(SessionQuery(district="朝阳"), haidian) == set("E")
    school = Scope("school", district_code="110105", school_id="sch-cy2")
    assert await letters(everything, school) == set("CE")
    assert await letters(everything, Scope("district", district_code="110101")) == set()
    # Paging within a scope: two per page, every one once.
    query, seen = within(SessionQuery(limit=2), haidian), []
    while True:
        page = await store.list_sessions(query)
        seen += [s.id for s in page.sessions]
        if page.next_cursor is None:
            break
        query = replace(query, after=decode_cursor(page.next_cursor))
    assert sorted(seen) == sorted(m[x] for x in "BDE")


async def test_a_signed_in_district_office_lists_its_district_only(both: ServerHandle) -> None:
    m = await mixed(both)
    accounts = both.app[SERVICES].staff
    assert accounts is not None
    await accounts.create_user("hd-office", "海淀-correct-horse-9", "district", "110108")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.post(both.base + "/api/v1/admin/login", json={
                "username": "hd-office", "password": "海淀-correct-horse-9"}) as r:
            assert r.status == 200, await r.text()
        async with browser.get(both.base + "/api/v1/sessions?limit=200") as r:
            page = await r.json()
            assert r.status == 200, page
        assert {s["id"] for s in page["sessions"]} == {m[x] for x in "BDE"}
        async with browser.get(both.base + "/api/v1/sessions.csv?district=朝阳") as r:
            table = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
        assert [row[0] for row in table[1:]] == [m["E"]]  # 朝阳's other sessions: not theirs


async def test_csv_has_the_bom_and_every_row(both: ServerHandle,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    m = await mixed(both)
    monkeypatch.setattr(session_list_api, "MAX_LIMIT", 2)  # three pages, streamed
    status, headers, raw = await raw_get(both, "/api/v1/sessions.csv")
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in headers["Content-Disposition"]
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert table[0] == list(session_list_api.CSV_HEADER) and table[0][0] == "会话 session_id"
    rows = {r[0]: r for r in table[1:]}
    assert len(table) == 7 and set(rows) == set(m.values())
    e = rows[m["E"]]
    assert e[1:5] == ["training", "review", "函数图像答疑", "scheduled"]
    assert e[9] == "李华; 赵敏" and e[10] == "t-li; t-zhao" and e[13] == "1"
    assert rows[m["F"]][3] == "'=HYPERLINK(\"http://example.com\")"  # stays text in Excel
    status, _, raw = await raw_get(both, "/api/v1/sessions.csv?district=朝阳&status=scheduled")
    assert status == 200
    assert {r[0] for r in list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1:]} == {
        m["A"], m["E"], m["F"]}


async def test_csv_is_bounded(plain: ServerHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    await mixed(plain)
    monkeypatch.setattr(session_list_api, "MAX_CSV_ROWS", 3)
    status, error = await plain.api("GET", "/api/v1/sessions.csv")
    assert status == 400 and error["error"]["code"] == "too_many"
    assert "6 sessions match" in error["error"]["message"]
    status, _, raw = await raw_get(plain, "/api/v1/sessions.csv?programme=tutoring")
    assert status == 200 and len(raw.decode("utf-8-sig").splitlines()) == 3


# -- what never reaches the database (SQLite only)


@pytest.mark.parametrize(("params", "field"), [
    ("limit=0", "limit"),
    ("limit=201", "limit"),
    ("limit=ten", "limit"),
    ("limit=-1", "limit"),
    ("limit=" + "9" * 5000, "limit"),  # past int()'s digit limit
    ("limit=%D9%A1", "limit"),  # an Arabic-Indic one
    ("to=9999-12-31", "to"),  # its day's end is past the last date
    ("from=0001-01-01T00:00:00%2B14:00", "from"),
    ("from=%D9%A2%D9%A0%D9%A2%D9%A6-03-07", "from"),
    ("from=2026-02-30", "from"),
    ("from=yesterday", "from"),
    ("to=2026-03-07T25:00:00Z", "to"),
    ("from=2026-03-08&to=2026-03-07", "to"),
    ("status=done", "status"),
    ("programme=sports", "programme"),
    ("form=seminar", "form"),
    ("teacher=" + "x" * 201, "teacher"),
    ("cursor=abc", "cursor"),
    ("cursor=" + "A" * (MAX_CURSOR_CHARS + 1), "cursor"),
    ("cursor=e30", "cursor"),  # {}
    ("cursor=%E4%BD%A0", "cursor"),  # not base64url
])
async def test_bad_parameters_are_400(plain: ServerHandle, params: str, field: str) -> None:
    for path in ("/api/v1/sessions", "/api/v1/sessions.csv"):
        if path.endswith(".csv") and field in ("limit", "cursor"):
            continue  # the CSV has no paging: they are not read
        status, answer = await plain.api("GET", f"{path}?{params}")
        assert status == 400, (path, answer)
        assert answer["error"]["code"] == "invalid" and answer["error"]["field"] == field


async def test_a_tampered_cursor_is_400(plain: ServerHandle) -> None:
    for i in range(3):
        await plain.create(body(i))
    status, page = await plain.api("GET", "/api/v1/sessions?limit=1")
    cursor = page["next_cursor"]
    assert status == 200 and cursor
    decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for altered in (
        cursor[:-2],  # cut
        cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:],  # one character
        _b64({**decoded, "s": "1 OR 1=1"}),
        _b64({**decoded, "v": 2}),
        _b64({**decoded, "x": 1}),
        _b64([decoded["s"], decoded["i"]]),
        _b64({**decoded, "i": 7}),
    ):
        status, answer = await plain.api("GET", f"/api/v1/sessions?cursor={altered}")
        assert status == 400, (altered, answer)
        assert answer["error"]["field"] == "cursor"


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


async def test_who_may_ask_and_the_routes_beside_it(plain: ServerHandle) -> None:
    for path in ("/api/v1/sessions", "/api/v1/sessions.csv"):
        status, answer = await plain.api("GET", path, key=None)
        assert status == 401 and answer["error"]["code"] == "unauthorized"
        status, _ = await plain.api("GET", path, key="wrong")
        assert status == 401
    # POST /sessions and GET /sessions/{id} still answer beside GET /sessions.
    session_id, _ = await plain.create(body(1))
    status, one = await plain.api("GET", f"/api/v1/sessions/{session_id}")
    assert status == 200 and one["id"] == session_id
    assert [s["id"] for s in await listed(plain, "")] == [session_id]
    async with plain.http.delete(plain.base + "/api/v1/sessions") as r:
        assert r.status == 405 and {"GET", "POST"} <= set(r.headers["Allow"].split(","))


async def test_documented_in_openapi(plain: ServerHandle) -> None:
    status, doc = await plain.api("GET", "/api/v1/openapi.json", key=None)
    assert status == 200
    sessions = doc["paths"]["/sessions"]
    assert {"get", "post"} <= set(sessions)
    names = {p["name"] for p in sessions["get"]["parameters"]}
    assert names == {"from", "to", "programme", "form", "status", "teacher", "school",
                     "district", "limit", "cursor"}
    assert {"from", "to", "district"} <= {
        p["name"] for p in doc["paths"]["/sessions.csv"]["get"]["parameters"]}
    listed_session = doc["components"]["schemas"]["ListedSession"]
    assert listed_session["properties"]["status"] == {"enum": ["scheduled", "live", "ended"]}
    assert doc["components"]["schemas"]["SessionPage"]["required"] == ["sessions",
                                                                       "next_cursor"]


async def test_the_docs_page_and_its_files(plain: ServerHandle) -> None:
    status, headers, raw = await raw_get(plain, "/api/v1/docs", key=None)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == api_docs.CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    html = raw.decode()
    assert "接口文档" in html and "API documentation" in html
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/api/v1/openapi.json" in assets
    for url in assets:
        status, headers, raw = await raw_get(plain, url, key=None)
        assert status == 200 and raw, (url, status)
    # Only the named files of the package are served.
    for url in ("/vendor/swagger-ui/index.html", "/vendor/swagger-ui/package.json",
                "/vendor/swagger-ui/..%2Fpackage.json"):
        status, _, _ = await raw_get(plain, url, key=None)
        assert status == 404, url


# -- pure: the cursor codec and the parameters


def test_cursor_round_trip() -> None:
    for cursor in (Cursor("2026-03-07T08:00:00Z", "s_abc-DEF_123"),
                   Cursor("2026-03-07T08:00:00.250Z", "会话/1 ? &")):
        text = encode_cursor(cursor)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", text)  # safe in a URL as it is
        assert decode_cursor(text) == cursor


@pytest.mark.parametrize("text", [
    "", "!!!!", "abc", "e30", _b64({"v": 1, "s": "2026-03-07T08:00:00Z"}),
    _b64({"v": 1, "s": "2026-03-07", "i": "x"}), _b64({"v": 1, "s": "x", "i": "y"}),
    _b64({"v": 1, "s": "2026-03-07T08:00:00Z", "i": ""}),
    _b64({"v": 1, "s": "2026-03-07T08:00:00Z", "i": "x" * 201}),
    _b64({"v": True, "s": "2026-03-07T08:00:00Z", "i": "x"}),
    base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
    "A" * (MAX_CURSOR_CHARS + 4),
])
def test_a_cursor_not_made_here_is_refused(text: str) -> None:
    with pytest.raises(QueryError) as refused:
        decode_cursor(text)
    assert refused.value.field == "cursor"


def test_bounds_are_whole_seconds_of_utc_text() -> None:
    q = parse_query({"from": "2026-03-07", "to": "2026-03-07"}, BEIJING)
    # A Beijing date is 16:00 UTC the day before; "to" takes in its whole day.
    assert (q.start_from, q.start_before) == ("2026-03-06T16:00:00.000Z",
                                              "2026-03-07T16:00:00.000Z")
    q = parse_query({"from": "2026-03-07T08:00:00+08:00", "to": "2026-03-07T08:30:00Z"}, UTC)
    assert (q.start_from, q.start_before) == ("2026-03-07T00:00:00.000Z",
                                              "2026-03-07T08:30:00.000Z")
    # An unescaped "+" arrives as a space; no offset means the calendar's zone.
    q = parse_query({"from": "2026-03-07T08:00:00 08:00", "to": "2026-03-07T09:00:00"},
                    BEIJING)
    assert (q.start_from, q.start_before) == ("2026-03-07T00:00:00.000Z",
                                              "2026-03-07T01:00:00.000Z")
    # Fractions widen: from rounds down, to rounds up.
    q = parse_query({"from": "2026-03-07T08:00:00.7Z", "to": "2026-03-07T09:00:00.2Z"}, UTC)
    assert (q.start_from, q.start_before) == ("2026-03-07T08:00:00.000Z",
                                              "2026-03-07T09:00:01.000Z")
    assert parse_query({"from": "0001-01-01"}, UTC).start_from == "0001-01-01T00:00:00.000Z"
    # "….000Z" compares right against both spellings the store keeps.
    assert q.start_from <= "2026-03-07T08:00:00Z"
    assert q.start_from <= "2026-03-07T08:00:00.001Z"
    assert q.start_from > "2026-03-07T07:59:59.999Z"


def test_parameters_and_defaults() -> None:
    q = parse_query({}, UTC)
    assert q == SessionQuery()
    assert q.limit == 50 and q.after is None
    q = parse_query({"limit": "200", "teacher": "  王 ", "status": "live", "school": ""}, UTC)
    assert (q.limit, q.teacher, q.status, q.school) == (200, "王", "live", None)
    # The CSV reads neither limit nor cursor.
    assert parse_query({"limit": "x", "cursor": "!"}, UTC, paged=False).after is None
    with pytest.raises(QueryError):
        SessionQuery(limit=0)


def test_scope_becomes_the_instructor_restriction() -> None:
    q = SessionQuery(district="海淀")
    assert within(q, platform()) == q
    assert within(q, Scope("district", district_code="110108")).scope_district == "110108"
    school = within(q, Scope("school", district_code="110108", school_id="sch-1"))
    assert (school.scope_district, school.scope_school) == ("", "sch-1")


def test_values_travel_as_parameters_only() -> None:
    evil = "x' OR '1'='1"
    query = SessionQuery(teacher=evil, school=evil, district=evil, programme=evil,
                         form=evil, scope_district=evil,
                         after=Cursor("2026-03-07T08:00:00Z", evil))
    for dialect, mark in ((SQLITE, "?"), (POSTGRES, "%s")):
        sql, params = select_sql(query, dialect)
        assert evil not in sql and "'1'" not in sql
        assert sql.count(mark) == len(params)
        assert params.count(evil) == 10
