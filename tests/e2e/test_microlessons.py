"""Micro-lessons in headless Chromium at phone size: a session recorded from real aiortc
media through a real server process; its teacher publishes part of it on /lessons
(the recording's export, cut by remuxing); a student's phone finds it, plays it
(HTML5 video, the server's paced Range responses) for a while; the watched time the
server derives from what it sent is more than nothing and no more than the wall-clock
time that passed plus one chunk. No timing assertions: bounds only.

Screenshots (phone size) go to test-artifacts/e2e and /work/shots/issue14.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.conftest import free_port
from tests.e2e.test_session import PHONE
from tests.recording_support import Publisher, api, running
from tests.support import ONE_TO_ONE, token_of

pytestmark = pytest.mark.timeout(180)
SHOTS = Path("/work/shots/issue14")
RECORD_S = 13.0  # the default policy's shortest lesson is 10 s


async def record_session(base: str) -> dict[str, Any]:
    body = copy.deepcopy(ONE_TO_ONE)
    body["record"] = True
    status, created = await api(base, "POST", "/api/v1/sessions", body)
    assert status == 201
    session_id = created["session_id"]
    teacher = await Publisher.join(base, token_of(created["join_urls"]["t1"]), "t1")
    try:
        await asyncio.sleep(RECORD_S)
    finally:
        await teacher.close()
    assert (await api(base, "POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    deadline = time.monotonic() + 30
    while True:
        _, listed = await api(base, "GET", f"/api/v1/sessions/{session_id}/recordings")
        if listed["recordings"] and listed["recordings"][0]["file_ready"]:
            return dict(listed["recordings"][0])
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.3)


async def pass_link(base: str, kind: str, pid: str, name: str, **extra: Any) -> str:
    body = {"kind": kind, "person": {"id": pid, "name": name, "school": "一中"}, **extra}
    status, made = await api(base, "POST", "/api/v1/oncall/passes", body)
    assert status == 201, made
    return str(made["token"])


def keep(artifacts: Path, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(artifacts / name, SHOTS / name)


async def shot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / name), full_page=True)
    keep(artifacts, name)


async def test_a_published_part_is_watched_and_counted_by_the_server(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(tmp_path / "data", port, tmp_path / "server.log",
                 "--recordings-segment-seconds", "2"):
        recording = await record_session(base)
        teacher = await pass_link(base, "teacher_duty", "t1", "王老师", subjects=["math"])
        student = await pass_link(base, "student_call", "s1", "李同学", grade="8")

        # The teacher publishes 0:01–0:12 of it from the page.
        tctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        tpage = await tctx.new_page()
        await tpage.goto(f"{base}/lessons?token={teacher}#publish")
        await tpage.wait_for_selector('[data-testid="publish-recording"]')
        assert await tpage.input_value('[data-testid="publish-recording"]') == recording["id"]
        await tpage.fill('[data-testid="publish-start"]', "0:01")
        await tpage.fill('[data-testid="publish-end"]', "0:12")
        await tpage.fill('[data-testid="publish-title"]', "二次函数的图像")
        await tpage.select_option('[data-testid="publish-subject"]', "math")
        await tpage.select_option('[data-testid="publish-grade"]', "8")
        await tpage.fill('[data-testid="publish-knowledge_point"]', "顶点式")
        await shot(tpage, artifacts, "lessons-publish-phone.png")
        await tpage.click('[data-testid="publish-submit"]')
        await tpage.wait_for_selector('[data-testid="mine-state"][data-state="ready"]',
                                      timeout=90_000)
        await shot(tpage, artifacts, "lessons-mine-phone.png")
        await tctx.close()

        # A student's phone: the list, the player.
        sctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        page = await sctx.new_page()
        await page.goto(f"{base}/lessons?token={student}")
        card = page.locator('[data-testid^="lesson-ml_"]')
        await card.first.wait_for()
        assert await card.count() == 1
        await shot(page, artifacts, "lessons-browse-phone.png")
        opened = time.monotonic()
        await card.first.click()
        video = page.locator('[data-testid="lesson-video"]')
        await video.wait_for()
        await page.evaluate("() => document.querySelector('[data-testid=\"lesson-video\"]')"
                            ".play()")
        # Played for a while: the player's own clock moved past 4 s of the lesson.
        await page.wait_for_function(
            "() => document.querySelector('[data-testid=\"lesson-video\"]').currentTime > 4",
            timeout=60_000)
        played = await page.evaluate(
            "() => document.querySelector('[data-testid=\"lesson-video\"]').currentTime")
        await shot(page, artifacts, "lessons-player-phone.png")
        lesson_id = page.url.split("watch=")[-1]
        status, seen = await api(base, "GET", f"/api/v1/microlessons/{lesson_id}/watched",
                                 token=student)
        elapsed = time.monotonic() - opened
        await sctx.close()
        assert status == 200, seen
        print(f"micro-lesson watched: server {seen['watched_s']:.2f} s, player at {played:.2f} s, "
              f"wall {elapsed:.2f} s, lesson {seen['duration_s']:.2f} s")
        slack = 2.0  # the policy's slack_s: one chunk
        assert 0 < seen["watched_s"] <= elapsed + slack, (seen, elapsed, played)
        assert seen["watched_s"] <= seen["duration_s"]

        _, report = await api(base, "GET", "/api/v1/microlessons/report")
        (row,) = report["views"]
        assert (row["viewer"], row["grade"], row["school"]) == ("s1", "8", "一中")
