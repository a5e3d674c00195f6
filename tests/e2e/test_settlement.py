"""Issue 9, item 6 (seed 000) in two headless Chromium pages through a real server
process: in a tutoring one-to-one the teacher marks the student from the console
(problem, subject, knowledge point), ends the session, and the student's page shows
the settlement (effective minutes and the points for time, as the server computed
them) above the learning-gain rating, and sends the rating with an optional comment."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import RunningServer
from tests.e2e.test_session import LAPTOP, PHONE, api, wait_live
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(180)

SHOTS = Path("/tmp/shots")
TUTORING: dict[str, Any] = {
    **copy.deepcopy(ONE_TO_ONE),
    "programme": "tutoring",
    "title": "二次函数答疑",
    "people": [
        {"id": "t1", "name": "王老师", "role": "instructor", "school_id": "1111010201",
         "district_code": "110102"},
        {"id": "s1", "name": "李同学", "role": "learner", "school_id": "1111011801",
         "district_code": "110118"},
    ],
}
COMMENT = "这次弄懂了配方的每一步，也会求顶点坐标了，谢谢老师！"


async def as_participant(token: str, url: str) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


async def mark_student(teacher: Page) -> None:
    await teacher.click('[data-tab="marks"]')
    row = teacher.locator('[data-testid="mark-row"][data-person="s1"]')
    await row.locator('[data-testid="mark-subject"]').fill("数学")
    await row.locator('[data-testid="mark-knowledge-point"]').fill("二次函数的图像与性质")
    await row.locator('[data-testid="mark-problem"]').fill("配方时漏掉负号，顶点坐标求错")
    await row.locator('[data-testid="mark-save"]').click()
    await teacher.wait_for_selector(
        '[data-testid="mark-row"][data-person="s1"] [data-testid="mark-status"][data-saved="true"]',
        timeout=10_000,
    )


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_teacher_marks_and_student_settles(
    opentutor_server: RunningServer, browser: Browser, shots: Path
) -> None:
    base = opentutor_server.base
    created = await api(base, "POST", "/api/v1/sessions", TUTORING)
    session_id = created["session_id"]
    student_token = parse_qs(urlparse(created["join_urls"]["s1"]).query)["token"][0]
    teacher_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    student_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    teacher, student = await teacher_ctx.new_page(), await student_ctx.new_page()
    await teacher.goto(created["join_urls"]["t1"])
    await student.goto(created["join_urls"]["s1"])
    await wait_live(teacher)
    await wait_live(student)

    # The teacher marks the student from the console; the record has it.
    await mark_student(teacher)
    await asyncio.sleep(3)  # a little teaching time on the record
    await teacher.screenshot(path=str(shots / "marks-teacher.png"))
    record = await api(base, "GET", f"/api/v1/sessions/{session_id}/record")
    assert record["marks"]["s1"]["subject"] == "数学"
    assert record["marks"]["s1"]["knowledge_point"] == "二次函数的图像与性质"
    assert record["marks"]["s1"]["by"] == "t1"
    assert record["people"][1]["district_code"] == "110118"

    # The teacher ends the session.
    await teacher.click('[data-testid="end-button"]')
    await teacher.click('[data-testid="end-confirm"]')

    # The student's page: the settlement as the server computed it, above the rating.
    await student.wait_for_selector('[data-testid="settlement"][data-ready="true"]', timeout=15_000)
    settlement = await as_participant(student_token, base + "/api/v1/me/settlement")
    minutes = await student.text_content('[data-testid="settlement-minutes"]')
    points = await student.text_content('[data-testid="settlement-time-points"]')
    rating_range = await student.text_content('[data-testid="settlement-rating-range"]')
    assert minutes == f"{settlement['effective_minutes']} 分钟"
    assert points == f"{float(settlement['time_points']):g} 积分"
    assert rating_range == "1–5 星 → 每小时 6–10 积分"
    above = await student.evaluate(
        """() => {
          const box = (id) => document.querySelector(`[data-testid="${id}"]`)
            .getBoundingClientRect();
          return box("settlement").bottom <= box("feedback-rating-5").top;
        }"""
    )
    assert above, "the settlement is shown above the rating"

    # The student's step (issue 12, item 4): the rating of what they learned, and a
    # comment they may leave out; no satisfaction, no 200 characters.
    assert await student.locator('[data-testid="feedback-gain"]').is_hidden()
    assert await student.locator(".feedback-form fieldset.choices").is_hidden()
    assert await student.locator('[data-testid="feedback-submit"]').is_disabled()
    await student.locator('[data-testid="feedback-rating-5"]').check()
    assert await student.locator('[data-testid="feedback-submit"]').is_enabled()
    await student.fill('[data-testid="feedback-comment"]', "\u200b" * 5 + COMMENT)
    await student.wait_for_selector('[data-testid="rating-range"]:not([hidden])')
    assert "评 5 星" in (await student.text_content('[data-testid="rating-range"]') or "")
    await student.evaluate("window.scrollTo(0, 0)")
    await student.screenshot(path=str(shots / "settlement-student.png"), full_page=True)
    await student.click('[data-testid="feedback-submit"]')
    await student.wait_for_selector('[data-testid="feedback-done"]:not([hidden])', timeout=10_000)

    record = await api(base, "GET", f"/api/v1/sessions/{session_id}/record")
    assert record["feedback"]["s1"]["rating"] == 5
    assert "\u200b" in record["feedback"]["s1"]["text"]  # stored as written, counted without
    assert record["feedback"]["s1"]["satisfaction"] is None
    # The teacher's ended page still shows the marks, to correct within the window.
    await teacher.wait_for_selector('.marks-slot [data-testid="mark-row"][data-person="s1"]')
    assert await teacher.locator(
        '.marks-slot [data-testid="mark-subject"]'
    ).input_value() == "数学"
    await teacher_ctx.close()
    await student_ctx.close()
