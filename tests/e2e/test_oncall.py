"""On-demand tutoring in real browsers (issue 14): a teacher goes on duty on a laptop,
a student on a phone finds and calls them, the teacher accepts, both land in the
session and its record shows both; a decline and a time-out; closed hours refused.

Open hours never depend on the machine's clock: the server gets a calendar fixture
in which it is 19:xx on a working day in term now (or out of term, for the refusal)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.e2e.conftest import RunningServer, serving
from tests.e2e.test_console import PASSWORD, create_staff_user
from tests.oncall.support import calendar_text
from tests.support import API_KEY

pytestmark = pytest.mark.timeout(240)
SHOTS = Path("/tmp/shots")  # screenshots for the report (created if missing)
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


def calendar_file(tmp_path: Path, *, open_now: bool) -> Path:
    SHOTS.mkdir(exist_ok=True)
    cal = tmp_path / "calendar.toml"
    cal.write_text(calendar_text(time.time(), open_now=open_now), encoding="utf-8")
    return cal


async def api(base: str, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, base + path, json=body,
                     headers={"Authorization": f"Bearer {API_KEY}"}) as r,
    ):
        assert r.status < 300, await r.text()
        return await r.json()


async def link(base: str, kind: str, pid: str, name: str, **extra: Any) -> str:
    body = {"kind": kind, "person": {"id": pid, "name": name, "school": extra.pop("school"),
                                     "district": "通州区"}, **extra}
    return str((await api(base, "POST", "/api/v1/oncall/passes", body))["url"])


async def teacher_page(browser: Browser, base: str, pid: str, name: str
                       ) -> tuple[BrowserContext, Page]:
    ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    page = await ctx.new_page()
    await page.goto(await link(base, "teacher_duty", pid, name, school="北京市第二中学",
                               subjects=["math", "physics"], grades=["8", "9"], rating=4.8))
    await page.wait_for_selector('[data-testid="duty-state"]')
    return ctx, page


async def student_page(browser: Browser, base: str, pid: str, name: str
                       ) -> tuple[BrowserContext, Page]:
    ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    page = await ctx.new_page()
    await page.goto(await link(base, "student_call", pid, name, school="密云区第三中学",
                               grade="8"))
    await page.wait_for_selector('[data-testid="duty-hours"]')
    return ctx, page


async def test_call_accept_lands_both_in_the_session(tmp_path: Path, browser: Browser) -> None:
    cal = calendar_file(tmp_path, open_now=True)
    with serving(tmp_path, "--calendar", str(cal)) as server:
        base = server.base
        t_ctx, teacher = await teacher_page(browser, base, "t1", "王老师")
        await teacher.click('[data-testid="duty-on"]')
        await teacher.wait_for_selector('[data-testid="duty-off"]')
        assert "值班中" in await teacher.inner_text('[data-testid="duty-state"]')
        await teacher.screenshot(path=str(SHOTS / "oncall-teacher-on-duty.png"))

        s_ctx, student = await student_page(browser, base, "s1", "李明")
        await student.click('[data-testid="subject-math"]')
        card = student.locator('[data-testid="teacher-t1"]')
        # The list as filtered by the subject: the reasons now name it.
        await card.locator('[data-testid="why"]', has_text="教数学").wait_for()
        why = await card.locator('[data-testid="why"]').inner_text()
        assert "教数学" in why and "教初二" in why and "评分 4.8" in why, why
        await student.screenshot(path=str(SHOTS / "oncall-student-find.png"))
        await student.click('[data-testid="call-t1"]')
        await student.wait_for_selector('[data-testid="duty-calling"]')

        await teacher.wait_for_selector('[data-testid="duty-ring"]')
        ring = await teacher.inner_text('[data-testid="duty-ring"]')
        assert "李明" in ring and "初二" in ring and "数学" in ring, ring
        await teacher.screenshot(path=str(SHOTS / "oncall-teacher-ring.png"))
        await student.screenshot(path=str(SHOTS / "oncall-student-calling.png"))
        await teacher.click('[data-testid="duty-accept"]')

        # Both land in the session (the ordinary session page, framed by this page).
        for page in (teacher, student):
            await page.wait_for_selector('[data-testid="duty-session"]')
            frame = page.frame_locator('[data-testid="duty-session"]')
            await frame.locator('[data-testid="status"][data-state="live"]').wait_for(
                timeout=60_000)
        await asyncio.sleep(3)  # present a little, for the record
        await teacher.screenshot(path=str(SHOTS / "oncall-teacher-session.png"))
        await student.screenshot(path=str(SHOTS / "oncall-student-session.png"))
        calls = (await api(base, "GET", "/api/v1/oncall/calls"))["calls"]
        (accepted,) = [c for c in calls if c["outcome"] == "accepted"]
        session_id = accepted["session_id"]
        live = await api(base, "GET", f"/api/v1/sessions/{session_id}")
        assert sorted(live["present"]) == ["s1", "t1"], live["present"]
        await t_ctx.close()
        await s_ctx.close()
        await api(base, "POST", f"/api/v1/sessions/{session_id}/end")
        record = await api(base, "GET", f"/api/v1/sessions/{session_id}/record")
        assert record["programme"] == "tutoring" and record["form"] == "one_to_one"
        assert {p["id"] for p in record["people"]} == {"t1", "s1"}
        assert record["active"].get("t1") and record["active"].get("s1"), record["active"]


async def shorten_the_ring(server: RunningServer, seconds: int) -> None:
    """The city office sets the tutoring policy's ring_seconds, as from the console (a
    signed-in city officer's PUT /api/v1/policy/tutoring), so the time-out below takes
    seconds of the test's time instead of the shipped 30."""
    await edit_tutoring(server, {"on_demand.ring_seconds": seconds})


async def edit_tutoring(server: RunningServer, changes: dict[str, int]) -> None:
    create_staff_user(server, "city-ring", "--level", "city")
    # unsafe: keep the sign-in cookie of a server addressed by IP (127.0.0.1)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(server.base + "/api/v1/admin/login",
                             json={"username": "city-ring", "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            csrf = (await r.json())["csrf_token"]
        async with http.put(server.base + "/api/v1/policy/tutoring",
                            json={"base": 0, "note": "测试：缩短时间", "changes": changes},
                            headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 201, await r.text()  # a new version of the policy


async def test_decline_and_timeout(tmp_path: Path, browser: Browser) -> None:
    cal = calendar_file(tmp_path, open_now=True)
    with serving(tmp_path, "--calendar", str(cal)) as server:
        await shorten_the_ring(server, 5)
        base = server.base
        t_ctx, teacher = await teacher_page(browser, base, "t2", "张老师")
        await teacher.click('[data-testid="duty-on"]')
        await teacher.wait_for_selector('[data-testid="duty-off"]')
        s_ctx, student = await student_page(browser, base, "s2", "赵小雨")
        await student.click('[data-testid="call-t2"]')
        await teacher.wait_for_selector('[data-testid="duty-ring"]')
        await teacher.click('[data-testid="duty-decline"]')
        notice = student.locator('[data-testid="duty-notice"]')
        await notice.wait_for()
        assert "不方便" in await notice.inner_text()

        await student.click('[data-testid="call-t2"]')
        await teacher.wait_for_selector('[data-testid="duty-ring"]')
        # Nobody answers: after the ring (5 s here) the student is told, the teacher paused.
        await student.wait_for_function(
            "() => (document.querySelector('[data-testid=duty-notice]')||{}).textContent"
            "?.includes('没有接听')", timeout=60_000)
        await teacher.wait_for_selector('[data-testid="duty-on"]', timeout=10_000)
        assert "值班已暂停" in await teacher.inner_text('[data-testid="duty-notice"]')
        await student.screenshot(path=str(SHOTS / "oncall-student-timeout.png"))
        await teacher.screenshot(path=str(SHOTS / "oncall-teacher-missed.png"))
        outcomes = sorted(c["outcome"] for c in
                          (await api(base, "GET", "/api/v1/oncall/calls"))["calls"])
        assert outcomes == ["declined", "timed_out"]
        await t_ctx.close()
        await s_ctx.close()


async def test_closed_hours_refused(tmp_path: Path, browser: Browser) -> None:
    cal = calendar_file(tmp_path, open_now=False)
    with serving(tmp_path, "--calendar", str(cal)) as server:
        t_ctx, teacher = await teacher_page(browser, server.base, "t3", "刘老师")
        await teacher.click('[data-testid="duty-on"]')
        notice = teacher.locator('[data-testid="duty-notice"]')
        await notice.wait_for()
        assert "不是学期中" in await notice.inner_text()
        assert await teacher.locator('[data-testid="duty-on"]').count() == 1
        await teacher.screenshot(path=str(SHOTS / "oncall-teacher-closed.png"))
        s_ctx, student = await student_page(browser, server.base, "s3", "陈同学")
        assert "不是学期中" in await student.inner_text('[data-testid="duty-hours"]')
        await student.screenshot(path=str(SHOTS / "oncall-student-closed.png"))
        await student.click("text=English")  # the same page in English
        await student.locator('[data-testid="duty-hours"]', has_text="not term time").wait_for()
        await student.screenshot(path=str(SHOTS / "oncall-student-closed-en.png"))
        await t_ctx.close()
        await s_ctx.close()


async def test_the_continuous_time_limit_warns_then_ends_with_a_rest(
    tmp_path: Path, browser: Browser
) -> None:
    """The limit that protects a student's eyes, in real time: the city office sets it to
    2 minutes with the warning 1 minute before (the shipped 40 and 5 would take 40), so
    both pages show the warning over the session after a minute, then the session ends
    and the student is asked to rest."""
    cal = calendar_file(tmp_path, open_now=True)
    with serving(tmp_path, "--calendar", str(cal)) as server:
        await edit_tutoring(server, {"on_demand.continuous_minutes": 2,
                                     "on_demand.warn_minutes": 1})
        base = server.base
        t_ctx, teacher = await teacher_page(browser, base, "t5", "陈老师")
        await teacher.click('[data-testid="duty-on"]')
        await teacher.wait_for_selector('[data-testid="duty-off"]')
        s_ctx, student = await student_page(browser, base, "s5", "周小明")
        await student.click('[data-testid="call-t5"]')
        await teacher.wait_for_selector('[data-testid="duty-ring"]')
        await teacher.click('[data-testid="duty-accept"]')
        for page in (teacher, student):
            await page.wait_for_selector('[data-testid="duty-session"]')
        for page in (teacher, student):  # a minute before the end
            warning = page.locator('[data-testid="duty-warning"]')
            await warning.wait_for(timeout=90_000)
            assert "1" in await warning.inner_text()
        await student.screenshot(path=str(SHOTS / "oncall-student-limit-warning.png"))
        rest = student.locator('[data-testid="duty-rest"]')
        await rest.wait_for(timeout=90_000)  # the end: the session is over, rest now
        assert await student.locator('[data-testid="duty-session"]').count() == 0
        await student.screenshot(path=str(SHOTS / "oncall-student-rest.png"))
        (ended,) = [c for c in (await api(base, "GET", "/api/v1/oncall/calls"))["calls"]
                    if c["outcome"] == "accepted"]
        record = await api(base, "GET", f"/api/v1/sessions/{ended['session_id']}/record")
        assert record["ended_at"], record
        await t_ctx.close()
        await s_ctx.close()
