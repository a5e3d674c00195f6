"""Issue 16, the console's third round, in headless Chromium against a real ``opentutor
serve`` whose webhook receiver is down (a closed port), so undelivered webhooks pile up:
a city supervisor reviews a flag (已核查 + 备注) and sees it marked, ticks "unreviewed
only" and sees it leave the list; opens System (this node's readiness and the dead
letters) and Calendar & policy (terms, holidays, each programme's numbers with the
seed's words, the line on versions). Screenshots: /tmp/shots/console-review.png,
console-system.png, console-policy.png."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.conftest import free_port
from tests.e2e.conftest import RunningServer, serving
from tests.e2e.test_console import (
    LEARNER,
    OTHER_TEACHER,
    PASSWORD,
    SAME_SCHOOL,
    TEACHER,
    create_staff_user,
    session_body,
    text_of,
)
from tests.e2e.test_session import LAPTOP, api

pytestmark = pytest.mark.timeout(240)

SHOTS = Path("/tmp/shots")
USERNAME = "city-supervisor"


@pytest.fixture
def server_without_receiver(tmp_path: Path) -> Iterator[RunningServer]:
    """``opentutor serve`` as tests/e2e/conftest.py starts it, with ``--webhook-url`` on a
    port nobody listens on: every webhook ends on the dead-letter list (after 1+2+4+8+16 s
    of retries)."""
    with serving(tmp_path, "--webhook-url", f"http://127.0.0.1:{free_port()}/hooks") as server:
        yield server


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_review_a_flag_then_system_and_policy(
    server_without_receiver: RunningServer, browser: Browser, shots: Path
) -> None:
    server = server_without_receiver
    base = server.base
    create_staff_user(server, USERNAME, "--level", "city")
    # Two flagged sessions (a teacher and a learner of one school: same_place), and one
    # ended, whose session.ended webhook cannot be delivered.
    flagged = await api(base, "POST", "/api/v1/sessions",
                        session_body("作文批改答疑", OTHER_TEACHER, learner=SAME_SCHOOL))
    await api(base, "POST", "/api/v1/sessions",
              session_body("古诗文默写", OTHER_TEACHER, learner=SAME_SCHOOL))
    ended = await api(base, "POST", "/api/v1/sessions", session_body("函数图像答疑", TEACHER,
                                                                     learner=LEARNER))
    await api(base, "POST", f"/api/v1/sessions/{ended['session_id']}/end")
    started = time.monotonic()

    context = await browser.new_context(**LAPTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await page.goto(base + "/console#/supervision")
    await page.fill('[data-testid="signin-username"]', USERNAME)
    await page.fill('[data-testid="signin-password"]', PASSWORD)
    await page.press('[data-testid="signin-password"]', "Enter")

    # Supervision: two flags, none reviewed.
    await page.wait_for_selector('[data-testid="supervision-table"]')
    row = page.locator('[data-testid="flag-row"]', has_text=flagged["session_id"])
    assert await row.count() == 1
    assert (await row.locator('[data-testid="review-state"]').text_content() or "") == "未核查"
    assert await text_of(page, "supervision-reviewed-count") == "已核查 0 / 2 条"

    # Review it: outcome, a note (an irregular one needs words), save.
    await row.locator('[data-testid="review-open"]').click()
    await row.locator('[data-testid="review-outcome"]').select_option("irregular")
    await row.locator('[data-testid="review-save"]').click()
    problem = row.locator('[data-testid="review-problem"]')
    assert "请在备注中写明" in (await problem.text_content() or "")
    note = "两人同校，已电话提醒赵老师本学期改为跨校结对。"
    await row.locator('[data-testid="review-note"]').fill(note)
    counter = await row.locator(".review-form small").text_content() or ""
    assert f"{len(note)} / 2000 字" in counter
    await row.locator('[data-testid="review-save"]').click()
    state = row.locator('[data-testid="review-state"]')
    await state.wait_for()
    assert await state.get_attribute("data-outcome") == "irregular"
    assert (await state.text_content() or "") == "已核查 · 确认不规范"
    assert await row.locator('[data-testid="review-note-shown"]').text_content() == note
    assert USERNAME in (await row.locator('[data-testid="flag-review"]').text_content() or "")
    assert await text_of(page, "supervision-reviewed-count") == "已核查 1 / 2 条"
    await page.screenshot(path=str(shots / "console-review.png"), full_page=True)

    # Unreviewed only: the reviewed flag leaves the list; a reload keeps the review.
    await page.check('[data-testid="supervision-unreviewed"]')
    assert not await row.is_visible()
    assert await page.locator('[data-testid="flag-row"]:visible').count() == 1
    await page.reload()
    await page.wait_for_selector('[data-testid="supervision-table"]')
    row = page.locator('[data-testid="flag-row"]', has_text=flagged["session_id"])
    assert (await row.locator('[data-testid="review-state"]').text_content() or "").startswith(
        "已核查")

    # Calendar & policy: terms, holidays, the numbers with the seed's words, read-only.
    await page.click('[data-testid="nav-policy"]')
    await page.wait_for_selector('[data-testid="policy-table"]')
    await page.wait_for_selector('[data-testid="term-row"]')
    assert "每份结算都注明所用的版本号" in await text_of(page, "policy-notice")
    assert await page.locator('[data-testid="term-row"]', has_text="2026-autumn").count() == 1
    assert await page.locator('[data-testid="holiday-row"]', has_text="国庆节").count() >= 1
    training = page.locator('[data-testid="policy-programme"][data-programme="training"]')
    words = await training.text_content() or ""
    assert "每个积分 10 元" in words and "按照每个积分10元计算指导劳务费" in words
    assert "每次有效时长 10–60 分钟" in words and "四（三）2" in words
    assert "20学时可折合1学分" in words
    tutoring = page.locator('[data-testid="policy-programme"][data-programme="tutoring"]')
    assert "每学期积分上限 5000 分" in (await tutoring.text_content() or "")
    await page.screenshot(path=str(shots / "console-policy.png"), full_page=True)

    # System: this node ready, and the webhook the platform did not get (after its
    # five retries, 31 s from the end).
    await asyncio.sleep(max(0.0, 33 - (time.monotonic() - started)))
    for _ in range(60):
        state_now = await api(base, "GET", "/api/v1/webhooks")
        if state_now["dead"]:
            break
        await asyncio.sleep(1)
    await page.click('[data-testid="nav-system"]')
    await page.wait_for_selector('[data-testid="system-checks"]')
    await page.wait_for_selector('[data-testid="dead-row"]')
    assert await page.get_attribute('[data-testid="system-state"]', "data-state") == "ready"
    assert await page.locator('[data-testid="check-row"][data-ok="1"]').count() == 5
    dead = page.locator('[data-testid="dead-row"]').first
    cells = await dead.locator("td").all_text_contents()
    assert cells[1] == state_now["dead"][0]["event"]
    assert cells[3] == "6" and "ClientConnectorError" in cells[4]
    await page.screenshot(path=str(shots / "console-system.png"), full_page=True)

    # English: the new pages say the same in English.
    await page.click('[data-testid="lang-switch"]')
    # (the page is rebuilt once the English words are loaded: wait for them)
    await page.wait_for_selector('[data-testid="nav-policy"]:text-is("Calendar & policy")')
    await page.wait_for_selector('[data-testid="system-checks"]')
    assert await text_of(page, "system-state") == "Ready for sessions"
    assert problems == []
    await context.close()
