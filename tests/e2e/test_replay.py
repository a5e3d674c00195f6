"""The replay page in headless Chromium: a session recorded from real aiortc media
through a real server process plays back with the whiteboard redrawn in sync; seek
and speed work; a learner's viewing becomes replay time in the record; unsigned and
expired links are refused. Screenshots (phone and laptop) go to test-artifacts/e2e
and /tmp/shots.

Pages only (media comes from aiortc, not the browser), so no network namespace is
needed: the server and the publisher use 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.async_api import Browser, Page

from signaling.server import signed_urls
from tests.conftest import free_port
from tests.e2e.test_session import LAPTOP, PHONE
from tests.recording_support import Publisher, api, running
from tests.support import ONE_TO_ONE, SECRET, token_of

pytestmark = pytest.mark.timeout(150)

SHOTS = Path("/tmp/shots")
STROKE = {"type": "stroke", "id": "st1", "tool": "pen", "color": "#e03131", "width": 24,
          "points": [[0.3, 0.4], [0.7, 0.4]]}


async def record_lesson(base: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A recorded one-to-one: the teacher publishes for ~8 s and draws at ~3 s."""
    body = copy.deepcopy(ONE_TO_ONE)
    body["record"] = True
    status, created = await api(base, "POST", "/api/v1/sessions", body)
    assert status == 201
    session_id = created["session_id"]
    tokens = {p: token_of(u) for p, u in created["join_urls"].items()}
    teacher = await Publisher.join(base, tokens["t1"], "t1")
    try:
        await asyncio.sleep(1.5)
        assert (await teacher.peer.call("chat", {"text": "大家好，开始上课"}))["ok"]
        await asyncio.sleep(1.5)
        assert (await teacher.peer.call("board", {"op": STROKE}))["ok"]
        await asyncio.sleep(5)
    finally:
        await teacher.close()
    assert (await api(base, "POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    deadline = time.monotonic() + 30
    while True:
        _, listed = await api(base, "GET", f"/api/v1/sessions/{session_id}/recordings")
        if listed["recordings"] and listed["recordings"][0]["file_ready"]:
            return session_id, tokens, listed["recordings"][0]
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.3)


def copy_shots(artifacts: Path, *names: str) -> None:
    """Screenshots also go to /tmp/shots, where people look at them."""
    SHOTS.mkdir(exist_ok=True)
    for name in names:
        (SHOTS / name).write_bytes((artifacts / name).read_bytes())


async def replay_state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = await page.evaluate("() => window.opentutorReplay.state()")
    return state


async def wait_state(page: Page, condition: str, within_ms: float = 20_000) -> None:
    await page.wait_for_function(
        f"() => window.opentutorReplay && (s => {condition})(window.opentutorReplay.state())",
        timeout=within_ms,
    )


async def red_at_stroke(page: Page) -> bool:
    """Whether the board canvas shows the stroke's red in the middle of the stroke."""
    found: bool = await page.evaluate(
        """() => {
          const c = document.querySelector('[data-testid="replay-board"]');
          const [r, g, b, a] = c.getContext('2d')
            .getImageData(Math.round(c.width * 0.5), Math.round(c.height * 0.4), 1, 1).data;
          return a > 200 && r > 180 && g < 120 && b < 120;
        }"""
    )
    return found


async def test_replay_plays_in_sync_seeks_and_refuses_bad_links(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(tmp_path / "data", port, tmp_path / "server.log",
                 "--recordings-segment-seconds", "2"):
        session_id, tokens, item = await record_lesson(base)
        status, mine = await api(base, "GET", "/api/v1/me/recordings", token=tokens["s1"])
        assert status == 200
        replay_url = base + mine["recordings"][0]["replay_url"]

        laptop = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
        page = await laptop.new_page()
        response = await page.goto(replay_url)
        assert response is not None and response.status == 200
        await wait_state(page, "s.duration > 0")
        state = await replay_state(page)
        assert abs(state["duration"] - item["duration_s"]) < 0.01
        assert state["strokes"] == 0 and state["chat"] == 0, "nothing drawn at 0:00"

        # Play: the video decodes and advances, the chat and the stroke appear on time.
        await page.click('[data-testid="replay-play"]')
        await wait_state(page, "s.video.width > 0 && s.video.frames > 10 && s.t > 1")
        first = await replay_state(page)
        await asyncio.sleep(1.0)
        later = await replay_state(page)
        assert later["video"]["time"] > first["video"]["time"], "video plays"
        assert later["t"] > first["t"]
        await wait_state(page, "s.chat === 1")
        assert (await replay_state(page))["t"] >= 1.0
        await wait_state(page, "s.strokes === 1")
        assert (await replay_state(page))["t"] >= 2.5, "the stroke shows when it was drawn"
        assert await red_at_stroke(page)
        await page.screenshot(path=str(artifacts / "replay-laptop.png"))

        # Seek back before the stroke: gone; forward past it at 2×: back, video follows.
        await page.evaluate("() => window.opentutorReplay.seek(1.0)")
        await wait_state(page, "s.strokes === 0 && s.chat === 0")
        assert not await red_at_stroke(page)
        await page.click('[data-testid="replay-speed-2"]')
        await page.evaluate("() => window.opentutorReplay.seek(5.5)")
        await wait_state(page, "s.strokes === 1 && s.rate === 2")
        await wait_state(page, "s.playing && Math.abs(s.video.time - s.t) < 0.6 && s.t > 5.6")
        assert await red_at_stroke(page)
        await wait_state(page, "!s.playing && s.t === s.duration", within_ms=30_000)
        state = await replay_state(page)
        assert state["errors"] == []
        await laptop.close()

        # The same page on a phone in portrait.
        phone = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        page = await phone.new_page()
        await page.goto(replay_url)
        await wait_state(page, "s.duration > 0")
        await page.evaluate("() => window.opentutorReplay.seek(4.0)")
        await wait_state(page, "s.strokes === 1 && s.video.width > 0")
        await asyncio.sleep(0.5)
        assert await page.evaluate("() => document.documentElement.scrollWidth <= 390")
        await page.screenshot(path=str(artifacts / "replay-phone.png"), full_page=True)
        await phone.close()
        copy_shots(artifacts, "replay-laptop.png", "replay-phone.png")

        # What the server delivered to the learner is their replay time.
        _, record = await api(base, "GET", f"/api/v1/sessions/{session_id}/record")
        assert record["replay"].get("s1"), record["replay"]

        # Refused: no signature, a wrong one, an expired one.
        context = await browser.new_context()
        page = await context.new_page()
        parts = urlsplit(replay_url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        unsigned = f"{base}/replay?{urlencode({'r': query['r'], 'v': query['v']})}"
        wrong = f"{base}/replay?{urlencode({**query, 'sig': '0' * 32})}"
        scope = f"/recordings/{query['r']}/{query['v']}"
        expired_sig = signed_urls.sign(SECRET.encode(), scope, int(time.time()) - 5)
        old = parse_qs(urlsplit(expired_sig).query)
        stale = {**query, "exp": old["exp"][0], "sig": old["sig"][0]}
        expired = f"{base}/replay?{urlencode(stale)}"
        for url in (unsigned, wrong, expired):
            response = await page.goto(url)
            assert response is not None and response.status == 403, url
            assert "链接无效" in await page.content() or "已过期" in await page.content()
        manifest = f"{base}{scope}/manifest.json?exp={old['exp'][0]}&sig={old['sig'][0]}"
        response = await page.goto(manifest)
        assert response is not None and response.status == 403
        await context.close()


async def test_join_page_tells_and_badge_follows_the_switch(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    """The join page says a session is recorded; the badge shows within a second of
    the instructor starting the recording, and goes when it stops; after the end the
    learner's page links to the replay."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(tmp_path / "data", port, tmp_path / "server.log"):
        body = copy.deepcopy(ONE_TO_ONE)
        body["record"] = True
        _, recorded = await api(base, "POST", "/api/v1/sessions", body)
        _, plain = await api(base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        phone = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        page = await phone.new_page()

        await page.goto(recorded["join_urls"]["s1"])
        await page.wait_for_selector('[data-testid="recording-notice"]', state="visible",
                                     timeout=15_000)
        await page.goto(plain["join_urls"]["s1"])
        await page.wait_for_selector('[data-testid="status"][data-state="live"]', timeout=60_000)
        assert not await page.is_visible('[data-testid="recording-notice"]')
        assert not await page.is_visible('[data-testid="recording-badge"]')

        teacher = await Publisher.join(base, token_of(plain["join_urls"]["t1"]), "t1",
                                       media=False)
        try:
            ack = await teacher.peer.call("record", {"on": True})
            assert ack["ok"], ack
            await page.wait_for_selector('[data-testid="recording-badge"]', state="visible",
                                         timeout=1000)
            await page.screenshot(path=str(artifacts / "live-recording-phone.png"))
            copy_shots(artifacts, "live-recording-phone.png")
            assert (await teacher.peer.call("record", {"on": False}))["ok"]
            await page.wait_for_selector('[data-testid="recording-badge"]', state="hidden",
                                         timeout=1000)
            # After the end, the learner's page offers the replay (a link signed for them).
            assert (await teacher.peer.call("end"))["ok"]
            link = await page.wait_for_selector('[data-testid="replay-link"]', timeout=15_000)
            assert link is not None
            href = await link.get_attribute("href")
            assert href is not None and href.startswith("/replay?r=r_")
            response = await page.goto(base + href)
            assert response is not None and response.status == 200
            await wait_state(page, "s.duration > 0")
        finally:
            await teacher.close()
            await phone.close()
