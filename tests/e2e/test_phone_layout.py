"""The phone layout and the review form (issue 12, items 1 and 6) in Debian's Chromium,
through a real server, at phone (390×844, touch), tablet (820×1180 and 1180×820, touch)
and laptop (1280×800) sizes: each state checked by tests/e2e/layout.py (no sideways
scroll, the room one screen, nothing overlapping or under a bar, touch targets of 44 px,
every word from the i18n file of the language shown) and kept as a screenshot
(test-artifacts/e2e/layout-*.png, copied to /tmp/shots/).

* one_to_one: the device check on the laptop and on the phone (camera picture,
  microphone level, test sound), the teacher's console, the student's one screen: board
  first, chat one tap away with its unread badge, English too, leaving and coming back;
* a lecture learner on a phone: the audience's check (no camera until invited), the
  teacher's tile, the hand and leave buttons;
* a tablet on its side and upright;
* a review: the presenter without a camera has a tile named 上课老师 on every
  reviewer's page, is told the reviewers are awaited (not "the teacher"), sees the
  discussion's minutes toward 45 and may end it; a reviewer who is not the organiser
  may only leave; the presenter ends it for all.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.e2e.conftest import RunningServer
from tests.e2e.layout import check_layout, shot
from tests.e2e.test_lecture import lecture_body, sees_video_of
from tests.e2e.test_session import api, wait_live
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(240)

PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                         "is_mobile": True, "has_touch": True}
TABLET: dict[str, Any] = {"viewport": {"width": 820, "height": 1180}, "is_mobile": True,
                          "has_touch": True}
LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
# A laptop is not a touch screen: its targets need 24 px (WCAG 2.2, 2.5.8), a finger's 44.
LAPTOP_TARGET = 24
NO_CAMERA = """(() => {
  const md = navigator.mediaDevices, ask = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => c && c.video
    ? Promise.reject(new DOMException("no camera here", "NotFoundError")) : ask(c);
})()"""


def people_of(body: dict[str, Any]) -> list[str]:
    return [body["title"], *(p["name"] for p in body["people"])]


async def context(browser: Browser, options: dict[str, Any], *, check: bool = False,
                  camera: bool = True) -> BrowserContext:
    # device_check: tests/e2e/conftest.py skips the check unless asked for.
    ctx = await browser.new_context(device_check=check, **options)  # type: ignore[call-arg]
    if not camera:
        await ctx.add_init_script(NO_CAMERA)
    return ctx


async def pass_device_check(page: Page, name: str, words: list[str], *, touch: bool,
                            audience: bool = False) -> None:
    """The check before joining: its layout, my picture, the level moving with the fake
    microphone's beeps, the test sound; then in."""
    await page.wait_for_selector('[data-testid="device-check"]', timeout=20_000)
    if audience:
        # The audience's camera stays closed until they ask for the check of it.
        await page.wait_for_selector('[data-testid="check-start"]:not([hidden])')
        assert await page.evaluate("!document.getElementById('app').dataset.camera")
        await check_layout(page, lang="zh-CN", user=words, min_target=44 if touch else 24)
        await shot(page, f"{name}-audience")
        await page.click('[data-testid="check-start"]')
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"check-video\"]').videoWidth > 0",
        timeout=20_000)
    await page.wait_for_selector('[data-testid="check-heard"]:not([hidden])', timeout=20_000)
    await page.click('[data-testid="check-speaker"]')
    assert await page.evaluate("document.getElementById('app').dataset.played") == "1"
    await check_layout(page, lang="zh-CN", user=words, min_target=44 if touch else 24)
    await shot(page, name)
    await page.click('[data-testid="check-join"]')
    await wait_live(page)


async def unread_badge(page: Page) -> str | None:
    badge = page.locator('[data-testid="tab-chat"] .badge')
    return await badge.inner_text() if await badge.is_visible() else None


async def test_one_to_one_teacher_laptop_student_phone(
    opentutor_server: RunningServer, browser: Browser
) -> None:
    created = await api(opentutor_server.base, "POST", "/api/v1/sessions", ONE_TO_ONE)
    words = people_of(ONE_TO_ONE)
    teacher_ctx = await context(browser, LAPTOP, check=True)
    student_ctx = await context(browser, PHONE, check=True)
    teacher, student = await teacher_ctx.new_page(), await student_ctx.new_page()
    await teacher.goto(created["join_urls"]["t1"])
    await student.goto(created["join_urls"]["s1"])
    await pass_device_check(teacher, "check-laptop", words, touch=False)
    await pass_device_check(student, "check-phone", words, touch=True)
    await sees_video_of(teacher, "s1")
    await sees_video_of(student, "t1")

    # The student's phone: one screen, my picture in the corner of the teacher's, the
    # board first; the chat one tap away.
    assert await student.get_attribute('[data-testid="tab-board"]', "aria-selected") == "true"
    assert await student.locator('[data-testid="board-canvas"]').is_visible()
    assert await student.get_attribute(".stage", "data-layout") == "one"
    await check_layout(student, lang="zh-CN", user=words, one_screen=True)
    await shot(student, "one-to-one-student-phone-zh")
    await check_layout(teacher, lang="zh-CN", user=words, one_screen=True,
                       min_target=LAPTOP_TARGET)
    await shot(teacher, "one-to-one-teacher-laptop-zh")

    # A message while the board is shown: the chat tab counts it; one tap reads it.
    message = "同学，看一下第二题的图像。"
    words.append(message)
    await teacher.fill('[data-testid="chat-input"]', message)
    await teacher.click('[data-testid="chat-send"]')
    await student.wait_for_selector('[data-testid="tab-chat"] .badge:not([hidden])',
                                    timeout=10_000)
    assert await unread_badge(student) == "1"
    await check_layout(student, lang="zh-CN", user=words, one_screen=True)
    await shot(student, "one-to-one-student-phone-unread")
    await student.click('[data-testid="tab-chat"]')
    await student.get_by_text(message).wait_for()
    assert await unread_badge(student) is None
    # The composer is in view, above the action bar, not under it.
    await check_layout(student, lang="zh-CN", user=words, one_screen=True)
    await shot(student, "one-to-one-student-phone-chat")

    await student.click('[data-testid="lang-switch"]')
    await student.wait_for_function("() => window.opentutor.state().lang === 'en'")
    await student.click('[data-testid="tab-people"]')
    await check_layout(student, lang="en", user=words, one_screen=True)
    await shot(student, "one-to-one-student-phone-en")

    # Leaving: asked first, then a calm page with the way back; the check is not asked
    # again in this tab.
    await student.click('[data-testid="leave-button"]')
    await student.wait_for_selector('[data-testid="leave-confirm"]')
    await check_layout(student, lang="en", user=words)
    await student.click('[data-testid="leave-confirm"]')
    await student.wait_for_selector('[data-testid="left-view"]:not([hidden])')
    await teacher.wait_for_function(
        """() => window.opentutor.state().people.some(p => p.id === "s1" && !p.present)""",
        timeout=10_000)
    await check_layout(student, lang="en", user=words)
    await shot(student, "one-to-one-student-phone-left")
    await student.click('[data-testid="rejoin-button"]')
    await wait_live(student)
    assert await student.locator('[data-testid="device-check"]').count() == 0
    await sees_video_of(student, "t1")
    await teacher_ctx.close()
    await student_ctx.close()


async def test_lecture_learner_on_a_phone(
    opentutor_server: RunningServer, browser: Browser
) -> None:
    body = lecture_body()
    created = await api(opentutor_server.base, "POST", "/api/v1/sessions", body)
    words = people_of(body)
    teacher_ctx = await context(browser, LAPTOP)
    learner_ctx = await context(browser, PHONE, check=True)
    teacher, learner = await teacher_ctx.new_page(), await learner_ctx.new_page()
    await teacher.goto(created["join_urls"]["t1"])
    await learner.goto(created["join_urls"]["s1"])
    await wait_live(teacher)
    await pass_device_check(learner, "check-lecture-phone", words, touch=True, audience=True)
    await sees_video_of(learner, "t1")
    # Audience: no own picture, the teacher full width; the hand and leave buttons.
    assert await learner.locator(".tile.local").is_hidden()
    assert await learner.get_attribute(".stage", "data-layout") == "one"
    assert await learner.locator('[data-testid="hand-button"]').is_visible()
    assert await learner.locator('[data-testid="leave-button"]').is_visible()
    assert await learner.locator('[data-testid="end-button"]').is_hidden()
    await check_layout(learner, lang="zh-CN", user=words, one_screen=True)
    await shot(learner, "lecture-learner-phone")
    await learner.click('[data-testid="hand-button"]')
    await learner.click('[data-testid="tab-people"]')
    await learner.wait_for_selector('li.person.hand[data-person="s1"]', timeout=10_000)
    await check_layout(learner, lang="zh-CN", user=words, one_screen=True)
    await shot(learner, "lecture-learner-phone-people")
    await teacher_ctx.close()
    await learner_ctx.close()


async def test_tablet_on_its_side_and_upright(
    opentutor_server: RunningServer, browser: Browser
) -> None:
    created = await api(opentutor_server.base, "POST", "/api/v1/sessions", ONE_TO_ONE)
    words = people_of(ONE_TO_ONE)
    teacher_ctx = await context(browser, LAPTOP)
    tablet_ctx = await context(browser, {**TABLET, "viewport": {"width": 1180, "height": 820}})
    teacher, tablet = await teacher_ctx.new_page(), await tablet_ctx.new_page()
    await teacher.goto(created["join_urls"]["t1"])
    await tablet.goto(created["join_urls"]["s1"])
    await sees_video_of(tablet, "t1")
    # On its side: the console (video, board, chat side by side), targets for a finger.
    assert await tablet.locator('[data-testid="tab-board"]').is_hidden()
    assert await tablet.locator('[data-testid="board-canvas"]').is_visible()
    assert await tablet.locator('[data-testid="chat-input"]').is_visible()
    await check_layout(tablet, lang="zh-CN", user=words, one_screen=True)
    await shot(tablet, "tablet-landscape")
    # Upright: the phone's arrangement, larger; the board first.
    await tablet.set_viewport_size({"width": 820, "height": 1180})
    await tablet.wait_for_selector('[data-testid="tab-board"][aria-selected="true"]')
    await check_layout(tablet, lang="zh-CN", user=words, one_screen=True)
    await shot(tablet, "tablet-portrait")
    # The people chosen upright stay chosen on its side; the board is there anyway.
    await tablet.click('[data-testid="tab-people"]')
    await tablet.set_viewport_size({"width": 1180, "height": 820})
    await tablet.wait_for_selector('[data-testid="tab-board"]', state="hidden")
    assert await tablet.evaluate("() => window.opentutor.state().panel") == "people"
    assert await tablet.locator('[data-testid="board-canvas"]').is_visible()
    await check_layout(tablet, lang="zh-CN", user=words, one_screen=True)
    await teacher_ctx.close()
    await tablet_ctx.close()


def review_body() -> dict[str, Any]:
    body = copy.deepcopy(ONE_TO_ONE)
    body["form"] = "review"
    body["title"] = "《背影》公开课检课"
    body["people"] = [
        {"id": "r1", "name": "陈老师", "role": "instructor", "school": "S1", "district": "通州"},
        {"id": "p1", "name": "张老师", "role": "learner", "school": "S7", "district": "密云"},
        {"id": "r2", "name": "刘老师", "role": "instructor", "school": "S2", "district": "海淀"},
    ]
    return body


async def tile_of(page: Page, person: str) -> dict[str, Any]:
    await page.wait_for_selector(f'.tile.remote[data-person="{person}"]', timeout=20_000)
    tile: dict[str, Any] = await page.evaluate(
        """(id) => { const t = document.querySelector(`.tile.remote[data-person="${id}"]`);
          const text = (sel) => {
            const e = t.querySelector(sel);
            return e && !e.hidden ? e.textContent : null;
          };
          return {role: text(".tile-role"), caption: text(".tile-caption"), name: text(".name"),
                  noVideo: t.classList.contains("no-video")}; }""", person)
    return tile


async def test_review_presenter_and_reviewers(
    opentutor_server: RunningServer, browser: Browser
) -> None:
    body = review_body()
    created = await api(opentutor_server.base, "POST", "/api/v1/sessions", body)
    words = people_of(body)
    presenter_ctx = await context(browser, LAPTOP, camera=False)
    presenter = await presenter_ctx.new_page()
    await presenter.goto(created["join_urls"]["p1"])
    await wait_live(presenter)

    # Alone: the presenter waits for the reviewers, never for "the teacher".
    placeholder = presenter.locator(".tile.placeholder")
    await placeholder.wait_for(timeout=10_000)
    assert await placeholder.inner_text() == "评课老师还没有进入，请稍候……"
    subtitle = await presenter.inner_text(".subtitle")
    assert subtitle == "开放式检课 · 上课老师 · 张老师", subtitle
    end = presenter.locator('[data-testid="end-button"]')
    assert await end.is_visible() and await end.get_attribute("aria-label") == "结束检课"
    assert await presenter.locator('[data-testid="record-button"]').is_hidden()
    await check_layout(presenter, lang="zh-CN", user=words, one_screen=True,
                       min_target=LAPTOP_TARGET)
    await shot(presenter, "review-presenter-alone")

    organiser_ctx = await context(browser, LAPTOP)
    reviewer_ctx = await context(browser, PHONE)
    organiser, reviewer = await organiser_ctx.new_page(), await reviewer_ctx.new_page()
    await organiser.goto(created["join_urls"]["r1"])
    await reviewer.goto(created["join_urls"]["r2"])
    await wait_live(organiser)
    await wait_live(reviewer)

    # The presenter without a camera has a tile on every reviewer's page, named.
    for page in (organiser, reviewer):
        tile = await tile_of(page, "p1")
        assert tile["role"] == "上课老师" and tile["name"] == "张老师", tile
        assert tile["noVideo"] and tile["caption"] == "没有开摄像头", tile
    for page in (presenter, reviewer):
        assert (await tile_of(page, "r1"))["role"] == "评课老师"
    await sees_video_of(presenter, "r1")
    await sees_video_of(reviewer, "r1")

    # Who ends: the presenter and the organiser; the other reviewer only leaves.
    assert (await organiser.evaluate("() => window.opentutor.state().caps.end")) is True
    assert (await reviewer.evaluate("() => window.opentutor.state().caps.end")) is False
    assert await reviewer.locator('[data-testid="end-button"]').is_hidden()
    assert await reviewer.locator('[data-testid="leave-button"]').is_visible()
    assert await organiser.locator('[data-testid="record-button"]').is_visible()
    assert await reviewer.inner_text(".subtitle") == "开放式检课 · 评课老师 · 刘老师"
    assert await organiser.inner_text(".subtitle") == "开放式检课 · 评课老师（组织者） · 陈老师"

    # The discussion's minutes toward 45, for the presenter and every reviewer.
    for page in (presenter, reviewer):
        await page.wait_for_selector('[data-testid="clock-progress"]:not([hidden])',
                                     timeout=20_000)
        counted = await page.inner_text('[data-testid="clock-counted"]')
        assert counted.startswith("研讨已计 ") and counted.endswith(" · 满 45 分钟才计入"), counted
        assert await page.get_attribute('[data-testid="clock-progress"]', "aria-valuemax") == "45"

    await check_layout(presenter, lang="zh-CN", user=words, one_screen=True,
                       min_target=LAPTOP_TARGET)
    await shot(presenter, "review-presenter-laptop")
    await check_layout(organiser, lang="zh-CN", user=words, one_screen=True,
                       min_target=LAPTOP_TARGET)
    await shot(organiser, "review-organiser-laptop")
    await check_layout(reviewer, lang="zh-CN", user=words, one_screen=True)
    await shot(reviewer, "review-reviewer-phone")
    await reviewer.click('[data-testid="lang-switch"]')
    await reviewer.wait_for_function("() => window.opentutor.state().lang === 'en'")
    await reviewer.wait_for_function(
        """() => document.querySelector('[data-testid="clock-counted"]').textContent
                 .startsWith("Discussion: ")""")
    await check_layout(reviewer, lang="en", user=words, one_screen=True)
    await shot(reviewer, "review-reviewer-phone-en")

    # The presenter ends the review, for everyone.
    await end.click()
    await presenter.wait_for_selector('[data-testid="end-confirm"]')
    assert "结束这次检课？" in await presenter.inner_text("dialog.confirm")
    await check_layout(presenter, lang="zh-CN", user=words, min_target=LAPTOP_TARGET)
    await presenter.click('[data-testid="end-confirm"]')
    for page in (presenter, organiser, reviewer):
        await page.wait_for_function("() => window.opentutor.state().phase === 'ended'",
                                     timeout=15_000)
    for ctx in (presenter_ctx, organiser_ctx, reviewer_ctx):
        await ctx.close()
