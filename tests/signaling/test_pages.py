"""What a browser sees without a join link, or when something fails (issue 12, item 7):
the landing page, the bilingual error pages with a support code, and programs still
getting their JSON."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from signaling.server.app import create_app
from signaling.server.config import Config
from signaling.server.pages import SUPPORT_HEADER, render_error_page, support_code
from tests.conftest import free_port
from tests.support import API_KEY, SECRET, ServerHandle, start_app

PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
WEB_DIR = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port())
    try:
        yield handle
    finally:
        await handle.stop()


def test_support_codes_are_short_and_readable() -> None:
    codes = {support_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(CODE.match(c) for c in codes)


@pytest.mark.parametrize(("status", "zh", "en"), [
    (404, "页面不存在", "Page not found"),
    (403, "没有权限打开这个页面", "You cannot open this page"),
    (503, "服务暂时不可用", "Service temporarily unavailable"),
    (500, "服务器出错了", "The server ran into a problem"),
    (418, "无法打开这个页面", "This page cannot be opened"),
])
def test_the_error_page_says_it_in_chinese_then_english(status: int, zh: str, en: str) -> None:
    page = render_error_page(WEB_DIR, status, "ABCD-EFGH")
    assert page.index(zh) < page.index(en)
    assert "支持代码：ABCD-EFGH" in page and "Support code: ABCD-EFGH" in page
    assert "<script" not in page  # works when the client is what is missing


def test_the_error_page_without_its_texts_still_says_something(tmp_path: Path) -> None:
    page = render_error_page(tmp_path, 404, "ABCD-EFGH")  # no i18n files there
    assert "出错了" in page and "Something went wrong" in page and "ABCD-EFGH" in page


async def test_the_landing_page(app: ServerHandle) -> None:
    async with app.http.get(app.base + "/", headers=PAGE) as r:
        assert r.status == 200 and r.content_type == "text/html"
        text = await r.text()
    assert 'data-i18n="landing.title"' in text and "/console" in text and "/api/v1/docs" in text
    async with app.http.get(app.base + "/static/src/landing.js") as r:
        assert r.status == 200


async def test_a_browser_gets_a_page_and_the_log_the_same_code(
    app: ServerHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="opentutor.pages")
    async with app.http.get(app.base + "/no/such/page", headers=PAGE) as r:
        assert r.status == 404 and r.content_type == "text/html"
        text = await r.text()
    assert "页面不存在" in text and "Page not found" in text and "Not Found" not in text
    code = re.search(r"支持代码：([0-9A-Z]{4}-[0-9A-Z]{4})", text)
    assert code is not None
    assert any(code.group(1) in rec.getMessage() and "/no/such/page" in rec.getMessage()
               for rec in caplog.records)


async def test_programs_keep_their_answers_with_a_code(app: ServerHandle) -> None:
    async with app.http.get(app.base + "/api/v1/sessions/nope", headers=PAGE) as r:
        assert r.status in (401, 404) and r.content_type == "application/json"
        assert CODE.match(r.headers[SUPPORT_HEADER])
    async with app.http.get(app.base + "/no/such/page") as r:  # no Accept: text/html
        assert r.status == 404 and r.content_type != "text/html"
        assert CODE.match(r.headers[SUPPORT_HEADER])
    async with app.http.post(app.base + "/no/such/page", headers=PAGE) as r:
        assert r.status in (404, 405) and r.content_type != "text/html"


async def test_a_page_of_its_own_is_kept(app: ServerHandle) -> None:
    # The certificate check answers "not valid" with its own page: that is the answer.
    async with app.http.get(app.base + "/verify/NOPE", headers=PAGE) as r:
        assert r.status == 404
        assert "证书无效" in await r.text()


async def test_a_failure_is_logged_once_and_shown_without_internals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    port = free_port()
    app = create_app(Config(host="127.0.0.1", port=port, data_dir=tmp_path / "data",
                            api_key=API_KEY, token_secret=SECRET))
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/broken", headers=PAGE) as r:
                assert r.status == 500
                text = await r.text()
            assert "服务器出错了" in text and "secret internals" not in text
            async with http.get(base + "/broken") as r:
                assert r.status == 500
                body = await r.json()
            assert body["error"]["code"] == "internal" and "secret" not in str(body)
    finally:
        await runner.cleanup()
    logged = [rec for rec in caplog.records if "secret internals" in str(rec.exc_info)]
    assert len(logged) == 2  # one per request, each with its traceback and code
