"""Issue 16, item 2: the programme office's console (``/console``) in headless Chromium
against a real ``opentutor serve``. Staff accounts are made with ``opentutor admin
create-user``, sessions with the platform API key (one held for a few seconds by the
teacher's and the learner's browsers, then ended). Then through the page as staff
would: a wrong password and a throttled sign-in said in words, sign-in, the header's
name and scope, a filtered search and its CSV link, a session's page (timeline picture,
credits with the notes on minutes not counted, evidence, recordings), a person's
statement with its download links, the supervision list with a flag and its evidence,
the English switch, sign-out; then a district office sees its scope and only its
district's sessions. Screenshots go to /tmp/shots/console-*.png.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, Route

from tests.e2e.conftest import RunningServer
from tests.e2e.test_session import LAPTOP, api, wait_live
from tests.support import ONE_TO_ONE, lecture

pytestmark = pytest.mark.timeout(180)

SHOTS = Path("/tmp/shots")
USERNAME = "city-office"
DISTRICT_USER = "haidian-office"
PASSWORD = "correct-horse-42"
TEACHER = {"id": "t1", "name": "王老师", "role": "instructor", "school": "北京市第五中学",
           "district": "东城区", "school_id": "1111010101", "district_code": "110101"}
OTHER_TEACHER = {"id": "t9", "name": "赵老师", "role": "instructor", "school": "海淀实验中学",
                 "district": "海淀区", "school_id": "1111010801", "district_code": "110108"}
LEARNER = {"id": "s1", "name": "李同学", "role": "learner", "school": "密云二中",
           "district": "密云区", "school_id": "1111011801", "district_code": "110118"}


# A learner of OTHER_TEACHER's own school: the supervisor report flags the pair.
SAME_SCHOOL = {"id": "s2", "name": "周老师", "role": "learner", "school": "海淀实验中学",
               "district": "海淀区", "school_id": "1111010801", "district_code": "110108"}


def session_body(title: str, teacher: dict[str, str], form: str = "one_to_one",
                 learner: dict[str, str] = LEARNER) -> dict[str, Any]:
    body = copy.deepcopy(ONE_TO_ONE) if form == "one_to_one" else lecture(2)
    body["title"] = title
    body["people"] = [teacher, learner] if form == "one_to_one" else [teacher, *body["people"][1:]]
    return body


def create_staff_user(server: RunningServer, username: str, *where: str) -> None:
    """``opentutor admin create-user`` into the running server's data directory."""
    if importlib.util.find_spec("signaling.admin.cli") is None:
        pytest.skip("opentutor admin create-user (signaling/admin/cli.py) is not there yet")
    done = subprocess.run(
        [sys.executable, "-m", "signaling.server.cli", "admin", "create-user", "--username",
         username, *where, "--data-dir", str(server.data_dir)],
        env={**os.environ, "OPENTUTOR_ADMIN_PASSWORD": PASSWORD},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def hold_session(browser: Browser, join_urls: dict[str, str], seconds: float) -> None:
    """Teacher and learner in the session from their browsers (fake camera and
    microphone) for a few seconds, so the record has presence and media evidence."""
    contexts = [await browser.new_context(**LAPTOP) for _ in ("t1", "s1")]  # type: ignore[arg-type]
    pages = [await c.new_page() for c in contexts]
    for page, person in zip(pages, ("t1", "s1"), strict=True):
        await page.goto(join_urls[person])
    for page in pages:
        await wait_live(page)
    await asyncio.sleep(seconds)
    for context in contexts:
        await context.close()


async def text_of(page: Page, testid: str) -> str:
    return (await page.text_content(f'[data-testid="{testid}"]') or "").strip()


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_console_sign_in_search_session_people(
    opentutor_server: RunningServer, browser: Browser, shots: Path
) -> None:
    base = opentutor_server.base
    create_staff_user(opentutor_server, USERNAME, "--level", "city")
    create_staff_user(opentutor_server, DISTRICT_USER, "--level", "district",
                      "--district-code", OTHER_TEACHER["district_code"])

    held = await api(base, "POST", "/api/v1/sessions", session_body("函数图像答疑", TEACHER))
    await hold_session(browser, held["join_urls"], 6)
    await api(base, "POST", f"/api/v1/sessions/{held['session_id']}/end")
    lecture_body = session_body("名师讲堂：圆锥曲线", TEACHER, "lecture")
    await api(base, "POST", "/api/v1/sessions", lecture_body)
    await api(base, "POST", "/api/v1/sessions", session_body("作文批改答疑", OTHER_TEACHER,
                                                             learner=SAME_SCHOOL))

    context = await browser.new_context(**LAPTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    # The page is served with the client's headers, never cached, not frameable.
    async with aiohttp.ClientSession() as http, http.get(base + "/console") as r:
        assert r.status == 200
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["X-Frame-Options"] == "DENY"

    # Sign-in: a wrong password is said in words; the right one opens the console.
    await page.goto(base + "/console")
    await page.wait_for_selector('[data-testid="signin-form"]')
    await page.screenshot(path=str(shots / "console-signin.png"))
    await page.fill('[data-testid="signin-username"]', USERNAME)
    await page.fill('[data-testid="signin-password"]', "not-the-password")
    await page.press('[data-testid="signin-password"]', "Enter")  # the keyboard is enough
    await page.wait_for_selector('[data-testid="signin-error"]:not([hidden])')
    assert await text_of(page, "signin-error") == "用户名或密码不正确，请重新输入。"
    # Throttled: the wait is said in words (the server's Retry-After, here made up).
    await page.route("**/api/v1/admin/login", lambda route: route.fulfill(
        status=429, headers={"Retry-After": "90"}, content_type="application/json",
        body='{"error": {"code": "throttled", "message": "too many attempts"}}'))
    await page.fill('[data-testid="signin-password"]', PASSWORD)
    await page.click('[data-testid="signin-submit"]')
    await page.wait_for_selector('[data-testid="signin-error"][data-kind="throttled"]')
    assert await text_of(page, "signin-error") == "尝试次数过多，请在 1 分 30 秒后再试。"
    await page.unroute("**/api/v1/admin/login")
    await page.fill('[data-testid="signin-password"]', PASSWORD)
    await page.click('[data-testid="signin-submit"]')
    await page.wait_for_selector('[data-testid="user-name"]')
    assert await text_of(page, "user-name") == USERNAME
    assert await text_of(page, "user-scope") == "市级"

    # Sessions: all three, newest first; then a filtered search and its CSV link.
    await page.wait_for_selector('[data-testid="sessions-table"]')
    assert await page.locator('[data-testid="session-row"]').count() == 3
    await page.fill('[data-testid="filter-teacher"]', "王")
    await page.select_option('[data-testid="filter-status"]', "ended")
    await page.click('[data-testid="sessions-search"]')
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"session-row\"]').length === 1")
    assert "teacher=%E7%8E%8B" in page.url and "status=ended" in page.url
    row = page.locator('[data-testid="session-row"]')
    assert await row.get_attribute("data-session") == held["session_id"]
    assert "王老师" in (await row.text_content() or "")
    assert "北京市第五中学" in (await row.text_content() or "")
    csv_href = await page.get_attribute('[data-testid="sessions-csv"]', "href") or ""
    assert csv_href == "/api/v1/sessions.csv?teacher=%E7%8E%8B&status=ended"
    async with (
        aiohttp.ClientSession(cookies=await cookies_of(page)) as http,
        http.get(base + csv_href) as r,
    ):
        assert r.status == 200, await r.text()
        csv_text = (await r.read()).decode("utf-8-sig")
        assert held["session_id"] in csv_text and "作文批改答疑" not in csv_text
    # Every session, two to a page (the test asks the server for pages of 2 instead
    # of 50): "more" follows next_cursor to the third, then there is no more.
    await page.route("**/api/v1/sessions?*", pages_of_two)
    await page.click('[data-testid="sessions-reset"]')
    await page.wait_for_selector('[data-testid="sessions-more"]')
    assert await page.locator('[data-testid="session-row"]').count() == 2
    await page.click('[data-testid="sessions-more"]')
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"session-row\"]').length === 3")
    assert await page.locator('[data-testid="sessions-more"]').count() == 0
    assert await text_of(page, "sessions-count") == "共 3 场"
    await page.unroute("**/api/v1/sessions?*")
    await page.screenshot(path=str(shots / "console-sessions.png"))

    # A session's page: times, people, the timeline inline, credits with every note.
    await page.click(f'[data-session="{held["session_id"]}"] [data-testid="session-link"]')
    await page.wait_for_selector('[data-testid="session-title"]')
    assert "函数图像答疑" in await text_of(page, "session-title")
    await page.wait_for_selector('[data-testid="timeline"] svg')
    await page.wait_for_selector('[data-testid="credit-person"]')
    credits = await api(base, "GET", f"/api/v1/sessions/{held['session_id']}/credits")
    for person, figures in credits["people"].items():
        card = page.locator(f'[data-testid="credit-person"][data-person="{person}"]')
        assert await card.locator('[data-testid="credit-minutes"]').text_content() == str(
            figures["minutes"])
        # In Chinese, from each note's code; the engine's English words as the tooltip.
        notes = card.locator('[data-testid="credit-note"]')
        shown = await notes.all_text_contents()
        assert shown == [said("zh-CN", c) for c in figures["note_codes"]], person
        assert [await n.get_attribute("title") for n in await notes.all()] == figures["notes"]
    shown_all = await page.locator('[data-testid="credit-note"]').all_text_contents()
    assert shown_all and all(re.search(r"[\u4e00-\u9fff]", n) for n in shown_all), shown_all
    await page.wait_for_selector('[data-testid="evidence-table"], [data-testid="evidence-empty"]')
    await page.wait_for_selector('[data-testid="recordings-empty"]')
    await page.screenshot(path=str(shots / "console-session.png"), full_page=True)

    # People: from the session's people, the teacher's statement and its links.
    await page.click('[data-testid="session-people"] a:text("t1")')
    await page.wait_for_selector('[data-testid="people-person"]')
    await page.fill('[data-testid="people-term"]', "2026-autumn")
    await page.click('[data-testid="people-show"]')
    await page.wait_for_url("**#/people/t1?term=2026-autumn")
    await page.wait_for_selector('[data-testid="statement-programme"], '
                                 '[data-testid="people-empty"], [data-testid="people-error"]')
    assert await page.get_attribute('[data-testid="people-csv"]', "href") == (
        "/api/v1/people/t1/statement.csv?term=2026-autumn")
    assert await page.get_attribute('[data-testid="people-xlsx"]', "href") == (
        "/api/v1/people/t1/statement.xlsx?term=2026-autumn")
    assert await page.get_attribute('[data-testid="people-pdf"]', "href") == (
        "/api/v1/people/t1/certificate.pdf?term=2026-autumn")
    for link in ("people-csv", "people-xlsx"):  # the downloads answer to the sign-in
        href = await page.get_attribute(f'[data-testid="{link}"]', "href") or ""
        async with (
            aiohttp.ClientSession(cookies=await cookies_of(page)) as http,
            http.get(base + href) as r,
        ):
            assert r.status == 200, (href, await r.text())
    statement = await as_staff(page, base, "/api/v1/people/t1/statement?term=2026-autumn")
    assert statement is not None, "the JSON statement answers to the staff sign-in"
    await page.fill('[data-testid="people-term"]', "")
    await page.click('[data-testid="people-show"]')
    await page.wait_for_url("**#/people/t1")
    await page.wait_for_selector('[data-testid="statement-programme"]')
    statement = await api(base, "GET", "/api/v1/people/t1/statement")
    programmes = page.locator('[data-testid="statement-programme"]')
    assert await programmes.count() == len(statement["programmes"]) == 1
    terms = statement["programmes"]["training"]["terms"]
    term_rows = page.locator('[data-testid="statement-terms"] tbody tr')
    assert await term_rows.count() == len(terms)
    first_term, figures = next(iter(terms.items()))
    cells = await term_rows.first.locator("td").all_text_contents()
    assert cells[1:] == [str(figures["sessions"]), figures["points"], f"¥{figures['pay_cny']}"]
    assert cells[0] in (first_term, "（不在学期内）")
    assert await page.locator('[data-testid="user-name"]').count() == 1
    await page.screenshot(path=str(shots / "console-people.png"), full_page=True)

    # Supervision: the flags with their evidence or, for this quiet day, words saying
    # there is nothing.
    await page.click('[data-testid="nav-supervision"]')
    await page.wait_for_selector('[data-testid="supervision-table"], '
                                 '[data-testid="supervision-empty"]')
    assert "检查" in await text_of(page, "supervision-summary")
    first = await page.input_value('[data-testid="supervision-from"]')
    last = await page.input_value('[data-testid="supervision-to"]')
    report = await api(base, "GET", f"/api/v1/supervision?from={first}&to={last}")
    assert report["sessions"] >= 1, report  # today's ended session was read
    assert await page.locator('[data-testid="flag-row"]').count() == len(report["flags"])
    flag = page.locator('[data-testid="flag-row"]', has_text="t9")
    assert "教师与学员同校或同区" in (await flag.text_content() or "")
    assert "matches[1]: learner=s2, same=school and district" in (
        await flag.locator(".evidence-lines").text_content() or "")
    await page.screenshot(path=str(shots / "console-supervision.png"), full_page=True)
    await page.unroute_all()

    # English, kept across a reload; then sign out back to the form.
    await page.click('[data-testid="lang-switch"]')
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"nav-sessions\"]').textContent === 'Sessions'")
    assert await text_of(page, "user-scope") == "City"
    await page.reload()
    await page.wait_for_selector('[data-testid="user-name"]')
    assert await text_of(page, "signout") == "Sign out"
    # The session's credit notes in English now.
    await page.goto(f"{base}/console#/session/{held['session_id']}")
    await page.wait_for_selector('[data-testid="credit-note"]')
    assert await page.locator('[data-testid="credit-note"]').all_text_contents() == [
        said("en", c) for figures in credits["people"].values() for c in figures["note_codes"]]
    await page.click('[data-testid="nav-sessions"]')
    await page.wait_for_selector('[data-testid="sessions-table"]')
    await page.screenshot(path=str(shots / "console-sessions-en.png"))
    await page.click('[data-testid="signout"]')
    await page.wait_for_selector('[data-testid="signin-form"]')
    async with (
        aiohttp.ClientSession(cookies=await cookies_of(page)) as http,
        http.get(base + "/api/v1/admin/me") as r,
    ):
        assert r.status == 401

    # A district office (海淀, in English still): its scope in the header, and only
    # the sessions of its district's teachers.
    await page.fill('[data-testid="signin-username"]', DISTRICT_USER)
    await page.fill('[data-testid="signin-password"]', PASSWORD)
    await page.press('[data-testid="signin-password"]', "Enter")
    await page.wait_for_selector('[data-testid="sessions-table"]')
    assert await text_of(page, "user-scope") == "District 110108"
    rows = page.locator('[data-testid="session-row"]')
    assert await rows.count() == 1
    assert "作文批改答疑" in (await rows.first.text_content() or "")
    assert problems == []
    await context.close()


CONSOLE_STRINGS = {lang: json.loads((Path(__file__).resolve().parents[2] / "web" / "i18n"
                                     / f"console.{lang}.json").read_text(encoding="utf-8"))
                   for lang in ("zh-CN", "en")}


def said(lang: str, coded: dict[str, Any]) -> str:
    """A credits note as the console says it in ``lang``: its code's words, coded params
    said first (recorder/credits/note_codes.py, web/src/console/summary.js noteText)."""
    params = {name: said(lang, value) if isinstance(value, dict) else str(value)
              for name, value in coded["params"].items()}
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)],
                  CONSOLE_STRINGS[lang][f"note.{coded['code']}"])


async def pages_of_two(route: Route) -> None:
    """The page's session list request, asking for pages of 2."""
    await route.continue_(url=route.request.url.replace("limit=50", "limit=2"))


async def as_staff(page: Page, base: str, path: str) -> Any:
    """``path`` asked with the page's staff cookie: the JSON, or ``None`` on a 401/403."""
    async with (
        aiohttp.ClientSession(cookies=await cookies_of(page)) as http,
        http.get(base + path) as r,
    ):
        if r.status in (401, 403):
            return None
        assert r.status == 200, await r.text()
        return await r.json()


async def cookies_of(page: Page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in await page.context.cookies() if "name" in c
            and "value" in c}

