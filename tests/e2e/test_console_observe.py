"""Issue 16: a supervisor opens a live session read-only from the console, in headless
Chromium against a real ``opentutor serve``. A teacher (fake camera and microphone) is in
class with a learner; the city office signs in, opens 实时课堂 and clicks 旁听: a new tab
opens the class read-only — the banner 「旁听中（只读）」, the teacher's video playing, no
self-view, no camera or microphone asked for, no chat input, pen or hand — while the
teacher's page never shows the observer, and the Now page names who is observing.
Screenshots: /tmp/shots/console-observe*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import RunningServer
from tests.e2e.test_console import (
    PASSWORD,
    TEACHER,
    USERNAME,
    create_staff_user,
    session_body,
)
from tests.e2e.test_session import LAPTOP, api, wait_live

pytestmark = pytest.mark.timeout(180)
SHOTS = Path("/tmp/shots")

# Counts every request for a camera or microphone on the page (the observer's must ask none).
COUNT_DEVICE_REQUESTS = """
(() => {
  window.__deviceRequests = 0;
  const md = navigator.mediaDevices;
  if (!md) return;
  const real = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => { window.__deviceRequests += 1; return real(c); };
})();
"""


async def playing_video_of(page: Page, person: str) -> bool:
    return bool(await page.evaluate(
        """(person) => {
          const v = document.querySelector(`[data-testid="remote-video"][data-person="${person}"]`);
          return !!v && !v.paused && v.videoWidth > 0 && v.currentTime > 0
            && v.getVideoPlaybackQuality().totalVideoFrames > 10;
        }""", person))


async def visible(page: Page, selector: str) -> bool:
    return bool(await page.locator(selector).first.is_visible()) if await page.locator(
        selector).count() else False


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_a_supervisor_observes_the_class_read_only(
    opentutor_server: RunningServer, browser: Browser, shots: Path
) -> None:
    base = opentutor_server.base
    create_staff_user(opentutor_server, USERNAME, "--level", "city")
    held = await api(base, "POST", "/api/v1/sessions", session_body("函数图像答疑", TEACHER))
    session_id = held["session_id"]

    people = [await browser.new_context(**LAPTOP) for _ in ("t1", "s1")]  # type: ignore[arg-type]
    teacher, learner = [await c.new_page() for c in people]
    for page, person in ((teacher, "t1"), (learner, "s1")):
        await page.goto(held["join_urls"][person])
    for page in (teacher, learner):
        await wait_live(page)

    office = await browser.new_context(**LAPTOP, locale="zh-CN")  # type: ignore[arg-type]
    await office.add_init_script(COUNT_DEVICE_REQUESTS)
    console = await office.new_page()
    problems: list[str] = []
    console.on("pageerror", lambda exc: problems.append(str(exc)))
    await console.goto(base + "/console")
    await console.fill('[data-testid="signin-username"]', USERNAME)
    await console.fill('[data-testid="signin-password"]', PASSWORD)
    await console.press('[data-testid="signin-password"]', "Enter")
    await console.wait_for_selector('[data-testid="user-name"]')
    await console.click('[data-testid="nav-now"]')
    row = console.locator(f'[data-testid="now-row"][data-session="{session_id}"]')
    await row.wait_for()
    button = row.locator('[data-testid="now-observe"]')
    assert (await button.text_content() or "").strip() == "旁听"

    async with office.expect_page() as opened:
        await button.click()
    observer = await opened.value
    observer.on("pageerror", lambda exc: problems.append(str(exc)))
    await observer.wait_for_url("**/join?token=*")
    await wait_live(observer)
    banner = observer.locator('[data-testid="observer-banner"]')
    await banner.wait_for(state="visible")
    assert "旁听中（只读）" in (await banner.text_content() or "")
    # The teacher's video plays in the observer's tab.
    await observer.wait_for_function(
        """() => {
          const v = document.querySelector('[data-testid="remote-video"][data-person="t1"]');
          return !!v && !v.paused && v.videoWidth > 0 && v.currentTime > 0
            && v.getVideoPlaybackQuality().totalVideoFrames > 10;
        }""", timeout=60_000)
    assert await playing_video_of(observer, "t1")
    # Read-only: no self-view, no devices asked for, nothing to send with.
    state = await observer.evaluate("() => window.opentutor.state()")
    assert state["observer"] is True and state["me"]["role"] == "observer"
    assert state["caps"]["publish"] == [] and state["media"]["local"]["video"] is False
    assert await observer.evaluate("() => window.__deviceRequests") == 0
    for selector in ('[data-testid="local-video"]', ".composer", '[data-testid="mic-button"]',
                     '[data-testid="camera-button"]', '[data-testid="hand-button"]',
                     '[data-testid="end-button"]', ".board-toolbar"):
        assert not await visible(observer, selector), selector
    await observer.screenshot(path=str(shots / "console-observe.png"), full_page=True)

    # Silent: the teacher's page knows only the class; the console names the observer.
    teacher_state = await teacher.evaluate("() => window.opentutor.state()")
    assert {p["id"] for p in teacher_state["people"]} == {"t1", "s1"}
    assert await teacher.evaluate(
        "() => document.querySelectorAll('[data-testid=\"remote-video\"]').length") == 1
    await console.bring_to_front()
    await row.locator('[data-testid="now-observers"]').wait_for(timeout=20_000)
    assert USERNAME in (await row.locator('[data-testid="now-observers"]').text_content() or "")
    await console.screenshot(path=str(shots / "console-observe-now.png"), full_page=True)

    # The visit is in the session's record, beside (not among) the people.
    record = await api(base, "GET", f"/api/v1/sessions/{session_id}/record")
    assert [v["staff"] for v in record["observers"]] == [USERNAME]
    assert {p["id"] for p in record["people"]} == {"t1", "s1"}
    # ... and on the session's page in the console, so watching is never invisible.
    await console.goto(f"{base}/console#/session/{session_id}")
    visits = console.locator('[data-testid="session-observers"]')
    await visits.wait_for(timeout=20_000)
    assert USERNAME in (await visits.text_content() or "")
    assert problems == []
    for c in (*people, office):
        await c.close()
