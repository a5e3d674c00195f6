"""Booking in real browsers (issue 14, item 4): a teacher on a laptop publishes a
one-to-one slot, a learner on a phone books it, both open their join links and land in
the same session. Kept short (one server, two pages).

Open hours never depend on the machine's clock: the server gets a calendar in which
it is 19:xx on a working day in term now (the training policy opens 18:00–22:00), so
the first start the page offers is at most 10 minutes ahead and the room already opens
(join_early_minutes = 10)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import serving
from tests.e2e.layout import check_layout
from tests.support import API_KEY

pytestmark = pytest.mark.timeout(240)
SHOTS = Path("/work/shots/issue14")
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
USER = ("王老师", "李老师", "北京市第二中学", "密云区第三中学")


def calendar_text(now: float) -> str:
    """A zone in which it is 19:xx now, and a term of 30 days from today (today a
    listed make-up working day if it falls on a weekend)."""
    utc = datetime.fromtimestamp(now, UTC)
    offset = (19 - utc.hour) % 24
    if offset > 14:  # Etc/GMT zones span UTC-12 … UTC+14
        offset -= 24
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # "Etc/GMT-8" is UTC+8
    day = (utc + timedelta(hours=offset)).date()
    workdays = f'"{day}"' if day.weekday() >= 5 else ""
    end = day + timedelta(days=30)
    return (f'timezone = "{zone}"\nholidays = []\nworkdays = [{workdays}]\n\n'
            f'[[terms]]\nname = "test-term"\nstart = "{day}"\nend = "{end}"\n')


def prepare(tmp_path: Path) -> Path:
    """The screenshots' folder, and the calendar file for the server."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    cal = tmp_path / "calendar.toml"
    cal.write_text(calendar_text(time.time()), encoding="utf-8")
    return cal


async def api(base: str, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, base + path, json=body,
                     headers={"Authorization": f"Bearer {API_KEY}"}) as r,
    ):
        assert r.status < 300, await r.text()
        return await r.json()


async def link(base: str, kind: str, pid: str, name: str, school: str) -> str:
    body = {"kind": kind, "person": {"id": pid, "name": name, "school": school,
                                     "district": "通州区"}}
    return str((await api(base, "POST", "/api/v1/bookings/passes", body))["url"])


async def live(page: Page) -> None:
    """The booked session's own page, joined (the ordinary session client)."""
    await page.wait_for_url("**/join?token=*")
    await page.locator('[data-testid="status"][data-state="live"]').wait_for(timeout=60_000)


async def test_publish_book_and_both_land_in_the_session(tmp_path: Path,
                                                         browser: Browser) -> None:
    cal = prepare(tmp_path)
    with serving(tmp_path, "--calendar", str(cal)) as server:
        base = server.base
        t_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
        teacher = await t_ctx.new_page()
        await teacher.goto(await link(base, "booking_teacher", "t1", "王老师", USER[2]))
        await teacher.wait_for_selector('[data-testid="booking-publish"]')
        await teacher.click('[data-testid="booking-submit"]')  # today, the first start, 30 min
        card = teacher.locator('[data-testid="booking-schedule"] li.offer')
        await card.first.wait_for()
        assert "还没有人预约" in await card.first.inner_text()
        await teacher.screenshot(path=str(SHOTS / "booking-teacher-laptop.png"))

        s_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        learner = await s_ctx.new_page()
        await learner.goto(await link(base, "booking_learner", "l1", "李老师", USER[3]))
        group = learner.locator('[data-testid="teacher-t1"]')
        await group.wait_for()
        await check_layout(learner, lang="zh-CN", user=USER)
        await learner.screenshot(path=str(SHOTS / "booking-learner-phone.png"))
        await group.locator("button", has_text="预约").click()
        mine = learner.locator('[data-testid="booking-mine"] li.offer')
        await mine.first.wait_for()
        notice = await learner.inner_text('[data-testid="booking-notice"]')
        assert "预约成功" in notice, notice
        await check_layout(learner, lang="zh-CN", user=USER)
        await learner.screenshot(path=str(SHOTS / "booking-learner-booked-phone.png"))
        await learner.click("button.link")  # English, then back to Chinese
        await learner.locator("h2", has_text="My bookings").wait_for()
        await check_layout(learner, lang="en", user=USER)
        await learner.screenshot(path=str(SHOTS / "booking-learner-booked-phone-en.png"))
        await learner.click("button.link")
        await learner.locator("h2", has_text="我的预约").wait_for()

        # The teacher's schedule names the learner (looked at again on reload).
        await teacher.reload()
        names = teacher.locator('[data-testid="names"]')
        await names.wait_for()
        assert "李老师" in await names.inner_text()
        await teacher.set_viewport_size({"width": 390, "height": 844})
        await check_layout(teacher, lang="zh-CN", user=USER)
        await teacher.screenshot(path=str(SHOTS / "booking-teacher-phone.png"), full_page=True)
        await teacher.set_viewport_size({"width": 1280, "height": 800})

        # Both open their join links and land in the same session.
        await learner.locator('[data-testid^="join-"]').click()
        await teacher.locator('[data-testid^="join-"]').click()
        await asyncio.gather(live(learner), live(teacher))
        (offer,) = (await api(base, "GET", "/api/v1/bookings"))["offers"]
        session_id = offer["session_id"]
        assert session_id and [s["learner"]["id"] for s in offer["seats"]] == ["l1"]
        for _ in range(50):  # presence reaches the REST view a moment after "live"
            state = await api(base, "GET", f"/api/v1/sessions/{session_id}")
            if sorted(state["present"]) == ["l1", "t1"]:
                break
            await asyncio.sleep(0.2)
        assert sorted(state["present"]) == ["l1", "t1"], state["present"]
        assert (state["programme"], state["form"]) == ("training", "one_to_one")
        await learner.screenshot(path=str(SHOTS / "booking-learner-session-phone.png"))
        await t_ctx.close()
        await s_ctx.close()
