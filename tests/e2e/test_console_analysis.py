"""Issue 16: the console's Analysis page (学情分析, ``#/analysis``) in headless Chromium
against a real ``opentutor serve``. Tutoring sessions are made with the platform API
key; their teacher joins (a socket.io client: the marks need a started session), marks
each learner and the sessions are ended. A city office then opens the page: the totals,
the weekly line chart and each subject's bar chart with their tables, a subject filter
and the CSV link; a district office sees its own students' marks only. Screenshot:
/tmp/shots/console-analysis.png.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from playwright.async_api import Browser, Page

from tests.e2e.conftest import RunningServer
from tests.e2e.test_console import PASSWORD, create_staff_user, text_of
from tests.e2e.test_session import LAPTOP, api
from tests.support import API_KEY, ONE_TO_ONE, Peer, token_of

pytestmark = pytest.mark.timeout(180)

SHOTS = Path("/tmp/shots")
TEACHER = {"id": "t1", "name": "王老师", "role": "instructor", "school": "北京市第五中学",
           "district": "东城区", "school_id": "1111010101", "district_code": "110101"}
MIYUN, TONGZHOU = "110118", "110112"


def learner(pid: str, code: str) -> dict[str, str]:
    district, school = {MIYUN: ("密云区", "密云二中"), TONGZHOU: ("通州区", "通州四中")}[code]
    return {"id": pid, "name": f"学生{pid}", "role": "learner", "district": district,
            "district_code": code, "school": school, "school_id": f"{code}01"}


async def marked(base: str, form: str, people: list[dict[str, str]],
                 marks: list[tuple[str, str, str]]) -> None:
    body: dict[str, Any] = {**copy.deepcopy(ONE_TO_ONE), "programme": "tutoring",
                            "form": form, "title": "晚间答疑", "people": [TEACHER, *people]}
    created = await api(base, "POST", "/api/v1/sessions", body)
    token = token_of(created["join_urls"]["t1"])
    teacher = Peer(socketio.AsyncClient(reconnection=False))
    await teacher.connect(base, token)
    await teacher.wait_for("welcome")
    async with aiohttp.ClientSession() as http:
        for who, subject, point in marks:
            mark = {"learner": who, "subject": subject, "knowledge_point": point,
                    "problem": "步骤不会"}
            async with http.post(base + "/api/v1/me/marks", json=mark,
                                 headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200, await r.text()
    await api(base, "POST", f"/api/v1/sessions/{created['session_id']}/end")
    await teacher.sio.disconnect()


async def sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(base + "/console#/analysis")
    await page.wait_for_selector('[data-testid="signin-form"]')
    await page.fill('[data-testid="signin-username"]', username)
    await page.fill('[data-testid="signin-password"]', PASSWORD)
    await page.press('[data-testid="signin-password"]', "Enter")
    await page.wait_for_selector('[data-testid="analysis-totals"]')


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_the_analysis_page(opentutor_server: RunningServer, browser: Browser,
                                 shots: Path) -> None:
    base = opentutor_server.base
    create_staff_user(opentutor_server, "city-office", "--level", "city")
    create_staff_user(opentutor_server, "tongzhou-office", "--level", "district",
                      "--district-code", TONGZHOU)
    await marked(base, "one_to_one", [learner("a1", MIYUN)], [("a1", "数学", "一元二次方程")])
    await marked(base, "one_to_one", [learner("a2", MIYUN)], [("a2", "数学", "一元二次方程 ")])
    await marked(base, "classroom", [learner("a3", MIYUN), learner("b1", TONGZHOU),
                                     learner("b2", TONGZHOU)],
                 [("a3", "数学", "勾股定理"), ("b1", "物理", "浮力"), ("b2", "物理", "浮力"),
                  ])
    await marked(base, "one_to_one", [learner("b3", TONGZHOU)], [("b3", "英语", "现在完成时")])
    await marked(base, "one_to_one", [learner("b4", TONGZHOU)], [("b4", "物理", "压强")])

    context = await browser.new_context(**LAPTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await sign_in(page, base, "city-office")
    assert await page.get_attribute('[data-testid="nav-analysis"]', "aria-current") == "page"
    assert await text_of(page, "nav-analysis") == "学情分析"
    assert await text_of(page, "total-sessions") == "5"
    assert await text_of(page, "total-students") == "7"
    assert await text_of(page, "total-marks") == "7"
    assert "年级" in await text_of(page, "analysis-no-grade")
    subjects = await page.eval_on_selector_all(
        '[data-testid="analysis-subject-section"]', "els => els.map(e => e.dataset.subject)")
    assert subjects == ["数学", "物理", "英语"]
    maths = page.locator('[data-testid="analysis-subject-section"][data-subject="数学"]')
    # The table sits in a closed <details>: read its cells' text, not what is shown.
    rows = await maths.locator('[data-testid="point-row"]').evaluate_all(
        "trs => trs.map(tr => [...tr.cells].map(td => td.textContent))")
    assert rows[0][:2] == ["一元二次方程", "2"]  # two spellings, one point
    assert await maths.locator("svg[role=img] rect.bar").count() == 2
    # Each chart is named for screen readers and has its table.
    label = await maths.locator("svg[role=img]").get_attribute("aria-labelledby")
    assert label is not None
    assert "知识点" in (await page.text_content(f"#{label}") or "")
    assert await page.locator('[data-testid="analysis-weekly-chart"] polyline').count() == 3
    assert await page.locator('[data-testid="analysis-weekly-table"] tbody tr').count() >= 1
    await page.click('[data-testid="analysis-weekly-chart"] summary')
    href = await page.get_attribute('[data-testid="analysis-csv"]', "href")
    assert href and href.startswith("/api/v1/reports/analysis.csv?term=")
    await page.screenshot(path=str(shots / "console-analysis.png"), full_page=True)

    # The CSV the link names, read with the page's cookie.
    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    async with aiohttp.ClientSession(cookies=cookies) as http, http.get(base + href) as r:
        assert r.status == 200
        raw = await r.read()
    assert raw.startswith("\ufeff".encode()) and "一元二次方程".encode() in raw

    # A subject filter through the form.
    await page.fill('[data-testid="analysis-subject"]', "物理")
    await page.click('[data-testid="analysis-show"]')
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=analysis-subject-section]').length === 1")
    assert "subject=" in page.url
    assert await text_of(page, "total-marks") == "3"
    await context.close()

    # A district office: its own students only (Tongzhou: physics and English).
    context = await browser.new_context(**LAPTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await sign_in(page, base, "tongzhou-office")
    subjects = await page.eval_on_selector_all(
        '[data-testid="analysis-subject-section"]', "els => els.map(e => e.dataset.subject)")
    assert subjects == ["物理", "英语"]
    assert await text_of(page, "total-students") == "4"
    assert await page.input_value('[data-testid="analysis-district"]') == TONGZHOU
    districts = await page.locator('[data-testid="district-row"]').all_text_contents()
    assert len(districts) == 1 and TONGZHOU in districts[0]
    await page.screenshot(path=str(shots / "console-analysis-district.png"), full_page=True)
    await context.close()
    assert problems == []
    assert API_KEY  # the sessions above were made with it
