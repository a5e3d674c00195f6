"""Data saver and the audio-only placeholder through the real server and web client
(issue 13, item 2): in a 一对一 session the student presses 省流量; the server stops
their video (rtc/quality.py's saver) and says so; their tile of the teacher shows the
placeholder line instead of a frozen frame while the element keeps playing the
teacher's voice; off
again, video comes back. The network-driven switch is tested with a tbf-capped link in
test_quality_tbf.py; both end in the same ``quality`` event and tile state."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.conftest import RunningServer
from tests.e2e.test_session import LAPTOP, PHONE, api, wait_live, wait_video_flowing
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(150)

NOTE = '[data-testid="tile-note"]'
PLAYING_SOUND = """() => [...document.querySelectorAll('[data-testid="remote-video"]')].some((v) =>
  !v.paused && v.srcObject && v.srcObject.getAudioTracks().some((t) => t.readyState === "live"))"""


async def test_data_saver_shows_the_placeholder_and_video_returns(
    opentutor_server: RunningServer, browser: Browser, artifacts: Path
) -> None:
    created = await api(opentutor_server.base, "POST", "/api/v1/sessions", ONE_TO_ONE)
    teacher_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    student_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    teacher, student = await teacher_ctx.new_page(), await student_ctx.new_page()
    await teacher.goto(created["join_urls"]["t1"])
    await student.goto(created["join_urls"]["s1"])
    await wait_live(teacher)
    await wait_live(student)
    await wait_video_flowing(student, "student sees teacher")
    assert not await student.locator(NOTE).first.is_visible()

    await student.click('[data-testid="saver-button"]')
    await student.wait_for_function(
        """() => Object.values(window.opentutor.state().quality)
                 .some((q) => q.level === "audio_only" && q.reason === "saver")""",
        timeout=15_000,
    )
    note = student.locator(NOTE).first
    await note.wait_for(state="visible")
    assert await note.inner_text() == "省流量模式：只收声音和白板"
    tile = student.locator(".tile.remote").first
    assert "audio-only" in (await tile.get_attribute("class") or "")
    assert await student.get_attribute('[data-testid="saver-button"]', "aria-pressed") == "true"
    await student.screenshot(path=str(artifacts / "quality-saver-phone.png"))
    assert await student.evaluate(PLAYING_SOUND)  # the element still plays the teacher's voice
    # The teacher's page is untouched by the student's choice (their link is fine).
    assert not await teacher.locator(NOTE).first.is_visible()

    await student.click('[data-testid="saver-button"]')
    await student.wait_for_function(
        """() => Object.values(window.opentutor.state().quality).some((q) => q.level === "full")""",
        timeout=15_000,
    )
    await note.wait_for(state="hidden")
    await wait_video_flowing(student, "student sees teacher again")
    await teacher_ctx.close()
    await student_ctx.close()
