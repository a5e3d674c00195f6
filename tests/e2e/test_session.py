"""A real tutoring session in two headless Chromium pages (laptop teacher, phone student)
through a real server process: video both ways, a whiteboard stroke, a chat picture,
and afterwards the presence record matching the time they were connected."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import RunningServer
from tests.signaling.test_socket import png
from tests.support import API_KEY, ONE_TO_ONE

pytestmark = pytest.mark.timeout(180)

LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


async def api(base: str, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, base + path, json=body, headers={"Authorization": f"Bearer {API_KEY}"}
        ) as r,
    ):
        assert r.status < 300, await r.text()
        return await r.json()


async def wait_live(page: Page) -> None:
    # Generous: in the suite's first minutes the machine also starts PostgreSQL clusters,
    # network namespaces and three-node topologies, and a page once took more than 30 s.
    await page.wait_for_selector('[data-testid="status"][data-state="live"]', timeout=60_000)


async def remote_frames(page: Page) -> int:
    frames: int = await page.evaluate(
        """() => Math.max(0, ...[...document.querySelectorAll('[data-testid="remote-video"]')]
              .map(v => v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0))"""
    )
    return frames


async def wait_video_flowing(page: Page, name: str) -> None:
    """Frames are decoded in the page and keep coming."""
    deadline = time.monotonic() + 30
    first = 0
    while time.monotonic() < deadline:
        first = await remote_frames(page)
        if first > 5:
            break
        await asyncio.sleep(0.3)
    assert first > 5, f"{name}: no remote video frames decoded"
    await asyncio.sleep(1.5)
    assert await remote_frames(page) > first, f"{name}: remote video stopped"


def seconds(spans: list[list[str]]) -> float:
    def ts(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    return sum(ts(end) - ts(start) for start, end in spans)


async def test_one_to_one_session_in_two_browsers(
    opentutor_server: RunningServer, browser: Browser, artifacts: Path
) -> None:
    base = opentutor_server.base
    created = await api(base, "POST", "/api/v1/sessions", ONE_TO_ONE)
    session_id = created["session_id"]
    teacher_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    student_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    teacher, student = await teacher_ctx.new_page(), await student_ctx.new_page()
    await teacher.goto(created["join_urls"]["t1"])
    await student.goto(created["join_urls"]["s1"])
    await wait_live(teacher)
    await wait_live(student)
    joined = time.time()

    await wait_video_flowing(teacher, "teacher sees student")
    await wait_video_flowing(student, "student sees teacher")

    # A whiteboard stroke drawn by the teacher appears on the student's board.
    canvas = teacher.locator('[data-testid="board-canvas"]')
    box = await canvas.bounding_box()
    assert box is not None
    await teacher.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    await teacher.mouse.down()
    for i in range(1, 11):
        await teacher.mouse.move(
            box["x"] + box["width"] * (0.2 + i * 0.05), box["y"] + box["height"] * (0.3 + i * 0.02)
        )
    await teacher.mouse.up()
    await student.wait_for_function(
        "() => window.opentutor.state().board.strokes.length >= 1", timeout=10_000
    )

    # The student sends a photo from the phone; the teacher's chat shows it loaded.
    await student.set_input_files(
        '[data-testid="chat-image-input"]',
        files=[{"name": "homework.png", "mimeType": "image/png", "buffer": png()}],
    )
    await teacher.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="chat-item"] img')]
                 .some(img => img.complete && img.naturalWidth > 0)""",
        timeout=15_000,
    )

    # Stay a little longer so the presence record has something to measure.
    await asyncio.sleep(6)
    await teacher.screenshot(path=str(artifacts / "teacher-laptop.png"))
    await student.screenshot(path=str(artifacts / "student-phone.png"))
    left = time.time()
    await teacher_ctx.close()
    await student_ctx.close()
    await asyncio.sleep(1)
    await api(base, "POST", f"/api/v1/sessions/{session_id}/end")

    record = await api(base, "GET", f"/api/v1/sessions/{session_id}/record")
    connected = left - joined
    for person in ("t1", "s1"):
        active = seconds(record["active"].get(person, []))
        assert abs(active - connected) <= 5, (person, active, connected, record["active"])
