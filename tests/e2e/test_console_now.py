"""Issue 16: the console's Now page (实时课堂) in headless Chromium against a real
``opentutor serve``: a teacher and a learner in a one-to-one from their own browsers
(fake camera and microphone); a city office signs in, opens 实时课堂 from the nav, sees
the session with both people, expands it to their media badges in words, and follows
the link to the session's page; a hidden tab asks nothing. Screenshot: /tmp/shots/console-now.png.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.conftest import RunningServer
from tests.e2e.test_console import (
    LEARNER,
    PASSWORD,
    TEACHER,
    USERNAME,
    create_staff_user,
    session_body,
    text_of,
)
from tests.e2e.test_session import LAPTOP, api, wait_live

pytestmark = pytest.mark.timeout(180)
SHOTS = Path("/tmp/shots")


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_now_lists_the_live_session_with_both_people(
    opentutor_server: RunningServer, browser: Browser, shots: Path
) -> None:
    base = opentutor_server.base
    create_staff_user(opentutor_server, USERNAME, "--level", "city")
    held = await api(base, "POST", "/api/v1/sessions", session_body("函数图像答疑", TEACHER))
    session_id = held["session_id"]

    people = [await browser.new_context(**LAPTOP) for _ in ("t1", "s1")]  # type: ignore[arg-type]
    pages = [await c.new_page() for c in people]
    for page, person in zip(pages, ("t1", "s1"), strict=True):
        await page.goto(held["join_urls"][person])
    for page in pages:
        await wait_live(page)

    context = await browser.new_context(**LAPTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await page.goto(base + "/console")
    await page.fill('[data-testid="signin-username"]', USERNAME)
    await page.fill('[data-testid="signin-password"]', PASSWORD)
    await page.press('[data-testid="signin-password"]', "Enter")
    await page.wait_for_selector('[data-testid="user-name"]')

    await page.click('[data-testid="nav-now"]')
    assert await text_of(page, "nav-now") == "实时课堂"
    await page.wait_for_selector(f'[data-testid="now-row"][data-session="{session_id}"]')
    row = page.locator(f'[data-testid="now-row"][data-session="{session_id}"]')
    # Both present: the count refreshes every 5 s until the learner is in.
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"now-count\"]')?.textContent === '2'",
        timeout=20_000)
    text = await row.text_content() or ""
    assert "函数图像答疑" in text and TEACHER["name"] in text and "一对一" in text, text
    assert await row.locator('[data-testid="now-recording"]').get_attribute("data-on") == "0"
    node = (await api(base, "GET", "/api/v1/live"))["node"]  # the node the console asked
    assert f"节点 {node}" in await text_of(page, "now-status")

    await row.locator('[data-testid="now-toggle"]').click()
    await page.wait_for_selector('[data-testid="now-person"]')
    names = await page.locator('[data-testid="now-person"] td:first-child').all_text_contents()
    assert sorted(names) == sorted([TEACHER["name"], LEARNER["name"]])
    # The teacher's fake camera is seen as live video within a refresh or two; the
    # expansion stays open across refreshes.
    teacher = page.locator('[data-testid="now-person"][data-person="t1"]')
    await teacher.locator('[data-key="now.video.live"]').wait_for(timeout=20_000)
    assert "视频正常" in (await teacher.text_content() or "")
    learner = page.locator('[data-testid="now-person"][data-person="s1"]')
    await learner.locator('[data-key="now.receiving.yes"]').wait_for(timeout=20_000)
    await page.screenshot(path=str(shots / "console-now.png"), full_page=True)

    # A hidden tab asks nothing; shown again, it asks at once.
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/v1/live") else None)
    await page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    await asyncio.sleep(7)  # more than one refresh period
    assert asked == []
    await page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    await page.wait_for_timeout(1000)
    assert len(asked) == 1, asked

    await row.locator('[data-testid="now-session-link"]').click()
    await page.wait_for_selector('[data-testid="session-title"]')
    assert "函数图像答疑" in await text_of(page, "session-title")
    before = len(asked)
    await asyncio.sleep(6)  # another page: the Now page's refresh has stopped
    assert len(asked) == before, asked
    assert problems == []
    for c in (*people, context):
        await c.close()
