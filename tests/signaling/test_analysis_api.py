"""The analysis report (issue 16) against the real app, on SQLite and on PostgreSQL:
tutoring sessions made with the API key, marked by their teacher and ended; the report
read as JSON and CSV by the API key (the city) and by district and school offices,
each seeing its own students' marks only (the learner's place counts)."""

from __future__ import annotations

import copy
import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from recorder.credits.calendar import SAMPLE_CALENDAR, load_calendar
from signaling.server.openapi import DOCUMENT
from tests.signaling.test_staff import (  # noqa: F401  (fixtures)
    MIYUN,
    TONGZHOU,
    Browser,
    browsers,
    staff_server,
)
from tests.support import ONE_TO_ONE, ServerHandle

REPORT = "/api/v1/reports/analysis"
# The sessions start now (a teacher joins), so the report of today's term holds them;
# the sample calendar has gaps between terms, where this test has nothing to read.
_TODAY = datetime.now(UTC)
_CALENDAR = load_calendar(SAMPLE_CALENDAR)
_FOUND = _CALENDAR.term_of(_TODAY.astimezone(_CALENDAR.timezone).date())
pytestmark = pytest.mark.skipif(_FOUND is None, reason="today is outside the sample's terms")
TERM = _FOUND or _CALENDAR.terms[0]
TEACHER = {"id": "t1", "name": "王老师", "role": "instructor", "school": "北京二中",
           "district": "东城", "district_code": "110101", "school_id": "S2"}


def learner(pid: str, district_code: str, school_id: str) -> dict[str, str]:
    district = {TONGZHOU: "通州", MIYUN: "密云"}[district_code]
    return {"id": pid, "name": f"学生{pid}", "role": "learner", "district": district,
            "district_code": district_code, "school_id": school_id,
            "school": f"{district}{school_id}中学"}


def tutoring(form: str, *learners: dict[str, str]) -> dict[str, Any]:
    return {**copy.deepcopy(ONE_TO_ONE), "programme": "tutoring", "form": form,
            "title": "晚间答疑", "people": [TEACHER, *learners]}


async def marked_session(server: ServerHandle, body: dict[str, Any],
                         marks: list[tuple[str, str, str]]) -> str:
    """Create, start (the teacher joins), mark ``(learner, subject, point)`` and end."""
    session_id, tokens = await server.create(body)
    teacher = await server.connect(tokens["t1"])
    await teacher.wait_for("welcome")
    for who, subject, point in marks:
        mark = {"learner": who, "subject": subject, "knowledge_point": point,
                "problem": "=HYPERLINK(\"x\")" if point.startswith("=") else "不会做"}
        status, saved = await server.api("POST", "/api/v1/me/marks", mark, token=tokens["t1"])
        assert status == 200, saved
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    await teacher.sio.disconnect()
    return session_id


@pytest.fixture
async def marked(staff_server: ServerHandle) -> ServerHandle:  # noqa: F811
    server = staff_server
    # Tongzhou S1 students ask about quadratics (two spellings: one point); a Miyun S7
    # student about buoyancy; a classroom mixes both districts, one learner unmarked.
    await marked_session(server, tutoring("one_to_one", learner("a1", TONGZHOU, "S1")),
                         [("a1", "数学", "一元二次方程 ")])
    await marked_session(server, tutoring("one_to_one", learner("a2", TONGZHOU, "S1")),
                         [("a2", "数学", "一元二次方程")])
    await marked_session(server, tutoring("one_to_one", learner("b1", MIYUN, "S7")),
                         [("b1", "物理", "浮力")])
    await marked_session(server, tutoring("classroom", learner("a3", TONGZHOU, "S3"),
                                          learner("b2", MIYUN, "S7"),
                                          learner("b3", MIYUN, "S7")),
                         [("a3", "数学", "=勾股定理"), ("b2", "物理", "浮力")])
    # Not tutoring: never in the report.
    await server.create({**copy.deepcopy(ONE_TO_ONE)})
    return server


def subjects(report: dict[str, Any]) -> dict[str, list[tuple[str, int, int]]]:
    return {s["subject"]: [(k["knowledge_point"], k["marks"], k["students"])
                           for k in s["knowledge_points"]] for s in report["subjects"]}


async def test_the_city_reads_every_district(marked: ServerHandle) -> None:
    status, report = await marked.api("GET", REPORT)
    assert status == 200, report
    assert report["term"]["name"] == TERM.name
    assert report["grade_recorded"] is False
    assert TERM.name in [t["name"] for t in report["terms"]]
    totals = report["totals"]
    assert (totals["sessions"], totals["marked_sessions"], totals["students"],
            totals["teachers"], totals["marks"]) == (4, 4, 6, 1, 5)
    assert totals["forms"] == {"classroom": 1, "one_to_one": 3}
    assert subjects(report) == {
        "数学": [("一元二次方程", 2, 2), ("=勾股定理", 1, 1)],
        "物理": [("浮力", 2, 2)],
    }
    assert sum(report["subjects"][0]["weekly"]) == 3
    districts = {d["district_code"]: d for d in report["districts"]}
    assert (districts[TONGZHOU]["students"], districts[TONGZHOU]["marks"]) == (3, 3)
    assert (districts[MIYUN]["students"], districts[MIYUN]["marks"]) == (3, 2)
    assert districts[MIYUN]["district"] == "密云"
    # Filters: a learner district, a school, a subject however typed.
    _, only = await marked.api("GET", f"{REPORT}?district={MIYUN}")
    assert subjects(only) == {"物理": [("浮力", 2, 2)]}
    _, school = await marked.api("GET", f"{REPORT}?school=S3")
    assert subjects(school) == {"数学": [("=勾股定理", 1, 1)]}
    _, physics = await marked.api("GET", f"{REPORT}?subject=%20物理%20")
    assert subjects(physics) == {"物理": [("浮力", 2, 2)]}
    assert physics["subject"] == "物理" and physics["totals"]["sessions"] == 4


async def test_each_office_reads_its_own_students(marked: ServerHandle,
                                                  browsers: list[Browser]) -> None:  # noqa: F811
    district, school, _ = browsers
    assert (await district.login("tz-office"))[0] == 200
    assert (await school.login("s7-office"))[0] == 200
    status, report = await district.call("GET", REPORT)
    assert status == 200, report
    assert subjects(report) == {"数学": [("一元二次方程", 2, 2), ("=勾股定理", 1, 1)]}
    assert report["totals"]["students"] == 3 and report["totals"]["sessions"] == 3
    assert [d["district_code"] for d in report["districts"]] == [TONGZHOU]
    assert report["filters"]["district"] == TONGZHOU
    # Asking for another district: nothing, rather than its figures.
    status, other = await district.call("GET", f"{REPORT}?district={MIYUN}")
    assert status == 200 and other["totals"]["sessions"] == 0 and other["subjects"] == []
    status, mine = await school.call("GET", REPORT)
    assert status == 200
    assert subjects(mine) == {"物理": [("浮力", 2, 2)]}
    assert {s["school_id"] for s in mine["schools"]} == {"S7"}
    status, _ = await school.call("GET", f"{REPORT}?school=S1")
    assert status == 200 and _["totals"]["marks"] == 0


async def test_the_csv(marked: ServerHandle,
                       browsers: list[Browser]) -> None:  # noqa: F811
    async with marked.http.get(marked.base + REPORT + ".csv", headers={
            "Authorization": "Bearer test-api-key"}) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in r.headers["Content-Disposition"]
        raw = await r.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:6] == ["学期 term", "学科 subject", "知识点 knowledge_point",
                           "标注次数 marks", "学科内占比 share_of_subject", "学生数 students"]
    assert rows[0][6].startswith("第1周 week 1 (")
    body = {(row[1], row[2]): row[3:6] for row in rows[1:]}
    assert body == {
        ("数学", "一元二次方程"): ["2", "66.7%", "2"],
        ("数学", "'=勾股定理"): ["1", "33.3%", "1"],  # a formula stays text
        ("物理", "浮力"): ["2", "100.0%", "2"],
    }
    district = browsers[0]
    assert (await district.login("tz-office"))[0] == 200
    async with district.http.get(district.base + REPORT + ".csv") as r:
        mine = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert {row[1] for row in mine[1:]} == {"数学"}


@pytest.mark.parametrize(("query", "field"), [
    ("term=1999-spring", "term"),
    ("district=110%20112", "district"),
    ("school=" + "x" * 65, "school"),
    ("subject=" + "数" * 100, "subject"),
    ("top=0", "top"),
    ("top=ten", "top"),
    ("grade=7", "grade"),
])
async def test_bad_parameters_are_400(staff_server: ServerHandle, query: str,  # noqa: F811
                                      field: str) -> None:
    for path in (REPORT, REPORT + ".csv"):
        status, body = await staff_server.api("GET", f"{path}?{query}")
        assert status == 400, (path, body)
        assert body["error"]["code"] == "invalid" and body["error"]["field"] == field


async def test_nobody_signed_in_is_401_and_it_is_documented(
        staff_server: ServerHandle) -> None:  # noqa: F811
    assert (await staff_server.api("GET", REPORT, key=None))[0] == 401
    assert (await staff_server.api("GET", REPORT + ".csv", key=None))[0] == 401
    assert {"/reports/analysis", "/reports/analysis.csv"} <= set(DOCUMENT["paths"])
    assert "Analysis" in DOCUMENT["components"]["schemas"]
