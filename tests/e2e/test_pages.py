"""The pages a person meets without a join link, or with a broken one (issue 12, item
7), in real Chromium at phone, tablet and laptop sizes, in Chinese and English: the
landing page, the error page with its support code, and the join page refusing a link.
Every visible word comes from the i18n files, nothing overlaps, touch targets are at
least 44 px. Screenshots: test-artifacts/e2e/pages-*.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import ARTIFACTS, RunningServer

WEB = Path(__file__).resolve().parents[2] / "web"
SIZES = {"phone": (390, 844), "tablet": (820, 1180), "laptop": (1280, 800)}


def texts(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((WEB / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


# Boxes of the visible elements that take a tap, and of every text block, by script.
_BOXES = """(sel) => [...document.querySelectorAll(sel)]
  .filter((e) => e.offsetParent !== null)
  .map((e) => { const r = e.getBoundingClientRect();
                return {x: r.x, y: r.y, w: r.width, h: r.height, t: e.innerText.trim()}; })"""


async def check_layout(page: Page) -> None:
    width = await page.evaluate("document.documentElement.clientWidth")
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, "the page scrolls sideways"
    for box in await page.evaluate(_BOXES, "a, button"):
        assert box["h"] >= 44 and box["w"] >= 44, f"touch target too small: {box}"
    blocks = await page.evaluate(_BOXES, "h1, h2, p, a, button")
    for i, a in enumerate(blocks):
        for b in blocks[i + 1:]:
            inside = (a["x"] <= b["x"] and b["x"] + b["w"] <= a["x"] + a["w"]
                      and a["y"] <= b["y"] and b["y"] + b["h"] <= a["y"] + a["h"])
            if inside or (b["x"] <= a["x"] and a["x"] + a["w"] <= b["x"] + b["w"]
                          and b["y"] <= a["y"] and a["y"] + a["h"] <= b["y"] + b["h"]):
                continue  # one holds the other (a button in a paragraph)
            apart = (a["x"] + a["w"] <= b["x"] + 0.5 or b["x"] + b["w"] <= a["x"] + 0.5
                     or a["y"] + a["h"] <= b["y"] + 0.5 or b["y"] + b["h"] <= a["y"] + 0.5)
            assert apart, f"overlap: {a['t']!r} and {b['t']!r}"


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_landing_page(browser: Browser, opentutor_server: RunningServer, size: str) -> None:
    width, height = SIZES[size]
    context = await browser.new_context(viewport={"width": width, "height": height},
                                        has_touch=size != "laptop")
    page = await context.new_page()
    try:
        await page.goto(opentutor_server.base + "/")
        for lang in ("zh-CN", "en"):
            words = texts(lang)
            await page.wait_for_function(
                "t => document.querySelector('h1').textContent === t", arg=words["landing.title"])
            for key in ("landing.join_title", "landing.console_link", "landing.api_link"):
                assert await page.get_by_text(words[key], exact=True).is_visible()
            assert await page.title() == words["landing.page_title"] or lang == "zh-CN"
            await check_layout(page)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / f"pages-landing-{size}-{lang}.png"),
                                  full_page=True)
            if lang == "zh-CN":
                await page.get_by_test_id("lang-switch").click()
        await page.get_by_text(texts("en")["landing.console_link"]).click()
        await page.wait_for_url("**/console")
    finally:
        await context.close()


@pytest.mark.parametrize("size", ["phone", "laptop"])
async def test_error_page_and_refused_link(
    browser: Browser, opentutor_server: RunningServer, size: str
) -> None:
    width, height = SIZES[size]
    context = await browser.new_context(viewport={"width": width, "height": height},
                                        has_touch=size == "phone")
    page = await context.new_page()
    try:
        response = await page.goto(opentutor_server.base + "/lesson/that/is/not/here")
        assert response is not None and response.status == 404
        code = response.headers["x-support-code"]
        zh, en = texts("zh-CN"), texts("en")
        for words in (zh, en):
            assert await page.get_by_text(words["errorpage.title.not_found"]).is_visible()
            shown = words["errorpage.support"].replace("{code}", code)
            assert await page.get_by_text(shown).is_visible()
        assert "Not Found" not in await page.inner_text("body")
        await check_layout(page)
        await page.screenshot(path=str(ARTIFACTS / f"pages-error-{size}.png"), full_page=True)
        assert code in opentutor_server.log.read_text()  # the help desk finds the line

        # A join link someone cut short: the client's own words and a support code, not
        # the server's English sentence.
        await page.goto(opentutor_server.base + "/join?token=abc.def")
        detail = page.locator(".error-view .detail")
        await detail.wait_for()
        body = await page.inner_text(".error-view")
        assert zh["error.invalid_link"] in body and "malformed" not in body
        shown = await detail.inner_text()
        support = shown.split("：", 1)[1].split("（", 1)[0]
        assert shown == zh["error.support"].replace("{code}", support)
        assert support in opentutor_server.log.read_text()
        await page.screenshot(path=str(ARTIFACTS / f"pages-refused-{size}.png"), full_page=True)
    finally:
        await context.close()
