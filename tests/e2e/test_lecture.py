"""A 名师直播讲堂 in three headless Chromium pages: learners watch without publishing,
one raises a hand, the teacher puts them on stage, and the other learner then sees
and hears them — the grant decided and enforced by the server."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import RunningServer
from tests.e2e.test_session import LAPTOP, PHONE, api, wait_live
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(180)

FRAMES_OF = """(person) => { const v = document.querySelector(
  `[data-testid="remote-video"][data-person="${person}"]`);
  return v && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }"""


async def sees_video_of(page: Page, person: str) -> None:
    await page.wait_for_function(f"({FRAMES_OF})('{person}') > 5", timeout=60_000)


def lecture_body() -> dict[str, object]:
    body = copy.deepcopy(ONE_TO_ONE)
    body["form"] = "lecture"
    body["title"] = "名师讲堂：函数图像"
    body["people"] = [
        ONE_TO_ONE["people"][0],
        {"id": "s1", "name": "李同学", "role": "learner", "school": "S7", "district": "密云"},
        {"id": "s2", "name": "张同学", "role": "learner", "school": "S8", "district": "延庆"},
    ]
    return body


async def test_lecture_hand_stage_and_audience(
    opentutor_server: RunningServer, browser: Browser, artifacts: Path
) -> None:
    created = await api(opentutor_server.base, "POST", "/api/v1/sessions", lecture_body())
    teacher_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    pages: dict[str, Page] = {"t1": await teacher_ctx.new_page()}
    contexts = [teacher_ctx]
    for learner in ("s1", "s2"):
        ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        contexts.append(ctx)
        pages[learner] = await ctx.new_page()
    for person, page in pages.items():
        await page.goto(created["join_urls"][person])
    for page in pages.values():
        await wait_live(page)
    teacher, s1, s2 = pages["t1"], pages["s1"], pages["s2"]

    await sees_video_of(s1, "t1")
    await sees_video_of(s2, "t1")
    caps = await s1.evaluate("() => window.opentutor.state().caps")
    assert caps["publish"] == [] and caps["draw"] is False  # a learner starts in the audience

    await s1.click('[data-testid="hand-button"]')
    await teacher.click('[data-tab="people"]')
    await teacher.wait_for_selector('li.person.hand[data-person="s1"]', timeout=10_000)
    await teacher.click('[data-testid="grant-stage"][data-person="s1"]')
    # The stage is asked (issue 12, item 5): an adult teacher-learner's camera choice
    # starts ticked; the learner says yes.
    await s1.wait_for_selector('[data-testid="stage-invite"]:not([hidden])', timeout=10_000)
    assert await s1.locator('[data-testid="invite-camera"]').is_checked()
    await s1.click('[data-testid="invite-accept"]')

    await s1.wait_for_function(
        "() => window.opentutor.state().caps.publish.includes('video')", timeout=10_000
    )
    await sees_video_of(s2, "s1")  # the other learner sees the one on stage
    await sees_video_of(teacher, "s1")
    await teacher.screenshot(path=str(artifacts / "lecture-teacher-laptop.png"))
    await s2.screenshot(path=str(artifacts / "lecture-learner-phone.png"))
    for ctx in contexts:
        await ctx.close()
